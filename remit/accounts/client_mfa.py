"""Client two-step sign-in: the account page, turning TOTP on (with recovery codes) and off, and
the code step after the password (ClientMFAMiddleware sends signed-in clients here).

Wrong codes are throttled as staff codes are (django-otp: 1 s, 2 s, 4 s, … after each failure, kept
on the device, so signing in again does not reset it); the authenticator app and the recovery codes
share the penalty. Each recovery code works once. Every step writes an audit event.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from remit.accounts.mfa_state import SESSION_PENDING, has_authenticator, mfa_required
from remit.accounts.otp import (
    DEVICE_NAME,
    TokenForm,
    looks_like_totp,
    manual_secret,
    new_recovery_codes,
    otpauth_url,
    qr_data_uri,
    recovery_code_digest,
)
from remit.audit.models import AuditEvent
from remit.audit.services import record_event
from remit.backoffice.access import is_verified

SETUP_DEVICE = "remit_mfa_setup_device"
SHOW_CODES = "remit_recovery_codes"


def _next(request: HttpRequest) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse("home")


def clients_only(view):
    """Signed-in client users; staff work in the back office."""

    @login_required
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_client:
            return redirect("admin:index")
        return view(request, *args, **kwargs)

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return never_cache(wrapper)


class CodeForm(forms.Form):
    """The authenticator app's six digits, or one recovery code."""

    code = forms.CharField(
        label="Code from your authenticator app, or a recovery code",
        max_length=24,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autofocus": True, "spellcheck": "false"}
        ),
    )

    def clean_code(self) -> str:
        code = self.cleaned_data["code"].strip()
        plain = "".join(ch for ch in code if ch.isalnum())
        if not (looks_like_totp(code) or len(plain) == 10):
            raise forms.ValidationError(
                "Enter the six digits your app shows, or a recovery code like abcde-23456."
            )
        return code


def verify_second_factor(user, code: str) -> tuple[object | None, str]:
    """Check `code` against the user's app or recovery codes. Returns (device, how): how is "totp",
    "recovery", "wrong", "locked" or "none"."""
    with transaction.atomic():
        totp = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=True).first()
        static = StaticDevice.objects.select_for_update().filter(user=user, confirmed=True).first()
        devices = [device for device in (totp, static) if device is not None]
        if totp is None:
            return None, "none"
        if not all(device.verify_is_allowed()[0] for device in devices):
            return None, "locked"
        if looks_like_totp(code):
            tried, how = totp, "totp"
            accepted = totp.verify_token(code.replace(" ", ""))
        else:
            tried, how = static, "recovery"
            accepted = static is not None and static.verify_token(recovery_code_digest(code))
        if accepted:
            for device in devices:
                if device is not tried:
                    device.throttle_reset()
            return tried, how
        # One penalty for both: a wrong recovery code slows the next app code too, and vice versa.
        for device in devices:
            if device is not tried or tried is None:
                device.throttle_increment()
        return None, "wrong"


WRONG = {
    "wrong": "That code did not match. Try the next code your app shows, or a recovery code.",
    "locked": "Too many wrong codes. Wait a little, then try the newest code.",
}


# --- The account page ----------------------------------------------------------------------------


@clients_only
@require_http_methods(["GET"])
def account(request: HttpRequest) -> HttpResponse:
    user = request.user
    static = StaticDevice.objects.filter(user=user, confirmed=True).first()
    context = {
        "nav": "account",
        "mfa_on": has_authenticator(user),
        "mfa_required": mfa_required(user, request.provider),
        "recovery_left": static.token_set.count() if static else 0,
        "disable_form": CodeForm(),
    }
    return render(request, "account/account.html", context)


@clients_only
@require_http_methods(["GET", "POST"])
def mfa_setup(request: HttpRequest) -> HttpResponse:
    """Scan the QR code (or type the key), confirm with a code; then the recovery codes, once."""
    user = request.user
    if has_authenticator(user):
        return redirect("account" if is_verified(user) else "login_mfa")
    # The key shown is this session's own: one seen in another session (by someone who knew the
    # password, say) is never the one confirmed here.
    device = TOTPDevice.objects.filter(
        pk=request.session.get(SETUP_DEVICE) or 0, user=user, confirmed=False
    ).first()
    if device is None:
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        device = TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)
        request.session[SETUP_DEVICE] = device.pk
        record_event(
            "auth.mfa_setup_started",
            request=request,
            obj=user,
            summary="Started setting up an authenticator app",
        )
    form = TokenForm(request.POST or None)
    form.fields["code"].label = "Enter the six-digit code the app shows"
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            locked = TOTPDevice.objects.select_for_update().get(pk=device.pk)
            allowed, _ = locked.verify_is_allowed()
            accepted = allowed and locked.verify_token(form.cleaned_data["code"])
            if accepted:
                locked.confirmed = True
                locked.save(update_fields=["confirmed"])
                TOTPDevice.objects.filter(user=user, confirmed=False).delete()
                codes = new_recovery_codes(user)
                record_event(
                    "auth.mfa_setup",
                    request=request,
                    obj=user,
                    summary="Turned on two-step sign-in (authenticator app, recovery codes)",
                )
        if accepted:
            otp_login(request, locked)
            request.session.cycle_key()
            request.session.pop(SETUP_DEVICE, None)
            request.session.pop(SESSION_PENDING, None)
            request.session[SHOW_CODES] = codes
            return redirect(
                f"{reverse('account_recovery_codes')}?{urlencode({'next': _next(request)})}"
            )
        record_event(
            "auth.mfa_setup",
            request=request,
            obj=user,
            outcome=AuditEvent.Outcome.FAILURE if allowed else AuditEvent.Outcome.REFUSED,
            summary="MFA set-up: the code did not match"
            if allowed
            else "MFA set-up refused: too many wrong codes",
        )
        form.add_error(
            "code",
            "That code did not match. Check the time on your phone and try the next code."
            if allowed
            else WRONG["locked"],
        )
    issuer = f"{request.provider.name} client portal"
    required = mfa_required(user, request.provider)
    context = {
        "nav": "account",
        "mfa_gate": required,
        "form": form,
        "required": required,
        "qr_data_uri": qr_data_uri(otpauth_url(device, issuer)),
        "secret": manual_secret(device),
        "next": request.POST.get("next") or request.GET.get("next") or "",
    }
    return render(request, "account/mfa_setup.html", context)


@clients_only
@require_http_methods(["GET", "POST"])
def recovery_codes(request: HttpRequest) -> HttpResponse:
    """GET shows freshly made codes once; POST replaces every code with new ones."""
    user = request.user
    if request.method == "POST":
        if not (has_authenticator(user) and is_verified(user)):
            return redirect("account")
        with transaction.atomic():
            request.session[SHOW_CODES] = new_recovery_codes(user)
            record_event(
                "auth.mfa_recovery_codes_replaced",
                request=request,
                obj=user,
                summary="Made new recovery codes (the old ones no longer work)",
            )
        return redirect("account_recovery_codes")
    codes = request.session.pop(SHOW_CODES, None)
    if not codes:
        return redirect("account")
    context = {"nav": "account", "codes": codes, "next": _next(request)}
    return render(request, "account/recovery_codes.html", context)


@clients_only
@require_POST
def mfa_disable(request: HttpRequest) -> HttpResponse:
    """Turn two-step sign-in off: needs a current code, and is refused where the provider requires
    it."""
    user = request.user
    if mfa_required(user, request.provider):
        messages.error(request, f"{request.provider.name} requires two-step sign-in for you.")
        return redirect("account")
    form = CodeForm(request.POST)
    device, how = (None, "wrong")
    if form.is_valid():
        device, how = verify_second_factor(user, form.cleaned_data["code"])
    if device is None:
        if form.is_valid():
            record_event(
                "auth.mfa_disable",
                request=request,
                obj=user,
                outcome=AuditEvent.Outcome.FAILURE
                if how == "wrong"
                else AuditEvent.Outcome.REFUSED,
                summary="Turning off two-step sign-in refused: wrong code",
            )
            form.add_error("code", WRONG.get(how, WRONG["wrong"]))
        static = StaticDevice.objects.filter(user=user, confirmed=True).first()
        context = {
            "nav": "account",
            "mfa_on": has_authenticator(user),
            "mfa_required": False,
            "recovery_left": static.token_set.count() if static else 0,
            "disable_form": form,
        }
        return render(request, "account/account.html", context, status=400)
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        StaticDevice.objects.filter(user=user).delete()
        record_event(
            "auth.mfa_disable", request=request, obj=user, summary="Turned off two-step sign-in"
        )
    messages.success(request, "Two-step sign-in is off. You sign in with your password alone.")
    return redirect("account")


# --- After the password: the code ----------------------------------------------------------------


@clients_only
@require_http_methods(["GET", "POST"])
def login_code(request: HttpRequest) -> HttpResponse:
    user = request.user
    if is_verified(user) or not has_authenticator(user):
        request.session.pop(SESSION_PENDING, None)
        return redirect(_next(request))
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device, how = verify_second_factor(user, form.cleaned_data["code"])
        if device is not None:
            otp_login(request, device)
            request.session.cycle_key()
            request.session.pop(SESSION_PENDING, None)
            left = device.token_set.count() if how == "recovery" else None
            record_event(
                "auth.mfa_verify",
                request=request,
                obj=user,
                summary="Signed in with a recovery code"
                if how == "recovery"
                else "Entered a valid MFA code and signed in",
                method=how,
                **({"recovery_codes_left": left} if left is not None else {}),
            )
            if how == "recovery":
                messages.warning(
                    request,
                    f"You used a recovery code; {left} left. Make new ones on your account page "
                    "if you are running low.",
                )
            return redirect(_next(request))
        record_event(
            "auth.mfa_verify",
            request=request,
            obj=user,
            outcome=AuditEvent.Outcome.FAILURE if how == "wrong" else AuditEvent.Outcome.REFUSED,
            summary="MFA code did not match"
            if how == "wrong"
            else "MFA code refused: too many failures",
        )
        form.add_error("code", WRONG.get(how, WRONG["wrong"]))
    context = {
        "form": form,
        "mfa_gate": True,
        "next": request.POST.get("next") or request.GET.get("next") or "",
    }
    return render(request, "registration/login_code.html", context)
