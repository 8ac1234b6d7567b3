"""What staff and client two-step sign-in share: the authenticator app's key as a QR code and as
text, the code form, and recovery codes (django-otp's static-token plugin)."""

from __future__ import annotations

import secrets
from base64 import b32encode
from urllib.parse import quote, urlencode

import segno
from django import forms
from django.conf import settings
from django.utils.crypto import salted_hmac
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

DEVICE_NAME = "Authenticator app"
RECOVERY_DEVICE_NAME = "Recovery codes"
# No 0/o, 1/l/i: the codes are read off paper.
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


def otpauth_url(device: TOTPDevice, issuer: str) -> str:
    """The key URI authenticator apps read from the QR code (Google's Key Uri Format)."""
    issuer = issuer.replace(":", "").strip() or "Remit"
    label = quote(f"{issuer}:{device.user.email}")
    params = urlencode(
        {
            "secret": b32encode(device.bin_key).decode(),
            "issuer": issuer,
            "algorithm": "SHA1",
            "digits": device.digits,
            "period": device.step,
        },
        quote_via=quote,
    )
    return f"otpauth://totp/{label}?{params}"


def manual_secret(device: TOTPDevice) -> str:
    """The base32 secret in groups of four, for typing into an app by hand."""
    secret = b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def qr_data_uri(text: str) -> str:
    """A PNG data: URI (the Content-Security-Policy allows data: images, not inline styles)."""
    return segno.make(text, error="m").png_data_uri(scale=5, border=2, dark="#1d2433")


class TokenForm(forms.Form):
    code = forms.CharField(
        label="Six-digit code",
        max_length=12,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "autofocus": True,
                "pattern": "[0-9 ]*",
            }
        ),
    )

    def clean_code(self) -> str:
        code = self.cleaned_data["code"].replace(" ", "")
        if not (code.isdigit() and len(code) == 6):
            raise forms.ValidationError("Enter the six digits your authenticator app shows.")
        return code


# --- Recovery codes --------------------------------------------------------------------------------


def normalize_recovery_code(code: str) -> str:
    return "".join(ch for ch in code.lower() if ch.isalnum())


def recovery_code_digest(code: str) -> str:
    """What is stored of a recovery code: a keyed hash (16 hex digits fit StaticToken's column). A
    copy of the database alone cannot be turned back into codes."""
    digest = salted_hmac(
        "remit.accounts.otp.recovery", normalize_recovery_code(code), algorithm="sha256"
    )
    return digest.hexdigest()[:16]


def new_recovery_codes(user) -> list[str]:
    """Replace the user's recovery codes with fresh ones; returns them, to show once."""
    device, _ = StaticDevice.objects.get_or_create(
        user=user, name=RECOVERY_DEVICE_NAME, defaults={"confirmed": True}
    )
    device.token_set.all().delete()
    codes = []
    for _ in range(settings.MFA_RECOVERY_CODES):
        raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
    StaticToken.objects.bulk_create(
        StaticToken(device=device, token=recovery_code_digest(code)) for code in codes
    )
    return codes


def looks_like_totp(code: str) -> bool:
    code = code.replace(" ", "")
    return code.isdigit() and len(code) == 6
