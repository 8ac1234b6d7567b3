"""Staff set up two-step sign-in from an invitation link, never with their password alone.

Whoever learned a new colleague's password first would otherwise own their second factor. The link
carries a random token (only its SHA-256 is stored), works once, expires after
`STAFF_INVITATION_HOURS`, and a newer invitation revokes the older ones. Opening it moves the
invitation into the session and redirects (the token does not stay in the address bar or a Referer);
the set-up page then asks for the person's password (or lets them choose one, if they have none),
shows the authenticator app's key and confirms it with a code. Only then is the link used up.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib.auth import authenticate, login, logout, password_validation
from django.core.mail import EmailMessage
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from remit.accounts.otp import DEVICE_NAME, TokenForm, manual_secret, otpauth_url, qr_data_uri
from remit.audit.models import AuditEvent
from remit.audit.services import record_event
from remit.backoffice.access import has_confirmed_device
from remit.backoffice.models import StaffInvitation

SESSION_KEY = "remit_staff_invitation"
BACKEND = "remit.accounts.backends.RemitBackend"

PROBLEMS = {
    "unknown": "This link is not valid. Check that you copied all of it from the email.",
    "used": "This link has been used already: each invitation link works once.",
    "revoked": "This link was replaced by a newer invitation. Use the newest email.",
    "expired": "This link has expired.",
    "inactive": "This account cannot use the back office.",
    "set_up": "Two-step sign-in is already set up for this account. Sign in as usual.",
}


# --- Issuing -------------------------------------------------------------------------------------


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_staff_invitation(user, *, created_by=None, request: HttpRequest | None = None) -> str:
    """A new set-up link's token for `user` (revoking their unused ones). Returns the token: the
    caller puts it in an email or on the console; it is never stored."""
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    with transaction.atomic():
        StaffInvitation.objects.filter(
            user=user, used_at__isnull=True, revoked_at__isnull=True
        ).update(revoked_at=now)
        invitation = StaffInvitation.objects.create(
            user=user,
            token_hash=token_digest(token),
            created_by=created_by,
            expires_at=now + timedelta(hours=settings.STAFF_INVITATION_HOURS),
        )
        record_event(
            "auth.staff_invitation_issued",
            actor=created_by,
            request=request,
            obj=user,
            summary=f"Two-step sign-in set-up link issued for {user.email}",
            invitation=invitation.pk,
            expires_at=invitation.expires_at.isoformat(),
        )
    return token


def invitation_url(token: str, *, base_url: str) -> str:
    path = reverse("admin:staff_invitation", kwargs={"token": token})
    return base_url.rstrip("/") + path


def staff_invitation_message(
    user, *, base_url: str, provider_name: str, created_by=None
) -> EmailMessage:
    """A fresh link, in its email (built by the outbox at each attempt: remit.outbox.messages)."""
    token = issue_staff_invitation(user, created_by=created_by)
    context = {
        "user": user,
        "provider_name": provider_name,
        "url": invitation_url(token, base_url=base_url),
        "hours": settings.STAFF_INVITATION_HOURS,
    }
    subject = render_to_string("registration/staff_invite_subject.txt", context).strip()
    body = render_to_string("registration/staff_invite_email.txt", context)
    return EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email])


# --- The link ------------------------------------------------------------------------------------


def _refused(request: HttpRequest, context: dict, reason: str, invitation=None) -> HttpResponse:
    user = invitation.user if invitation is not None else None
    anonymous = user is None and not request.user.is_authenticated
    record_event(
        "auth.staff_invitation_refused",
        actor=user,
        actor_label="anonymous" if anonymous else "",
        request=request,
        outcome=AuditEvent.Outcome.REFUSED,
        obj=user,
        summary=f"Staff invitation link refused: {reason}",
        reason=reason,
    )
    page = {**context, "title": "This link does not work", "message": PROBLEMS[reason]}
    status = 404 if reason == "unknown" else 410
    return render(request, "backoffice/invitation_invalid.html", page, status=status)


@require_http_methods(["GET"])
def open_invitation(request: HttpRequest, token: str, *, context: dict) -> HttpResponse:
    """The emailed link: check it, keep it in the session, continue on a URL without the token."""
    invitation = (
        StaffInvitation.objects.select_related("user")
        .filter(token_hash=token_digest(token))
        .first()
    )
    if invitation is None:
        return _refused(request, context, "unknown")
    reason = invitation.problem()
    if reason is None and has_confirmed_device(invitation.user):
        reason = "set_up"
    if reason:
        return _refused(request, context, reason, invitation)
    if request.user.is_authenticated and request.user.pk != invitation.user_id:
        logout(request)  # someone else's session on this browser: not theirs to continue
    state = request.session.get(SESSION_KEY) or {}
    if state.get("invitation") != invitation.pk:
        request.session[SESSION_KEY] = {"invitation": invitation.pk}
    return redirect("admin:staff_invitation_setup")


class InvitationSetupForm(TokenForm):
    """The person's password (or a new one, if they have none), then the app's first code."""

    error_messages = {
        "password": "That is not your password.",
        "locked": "Too many wrong passwords. Try again in 15 minutes.",
        "mismatch": "The two passwords do not match.",
    }

    def __init__(self, user, request: HttpRequest, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.request = request
        self.choosing = not user.has_usable_password()
        self.fields["code"].label = "Enter the six-digit code the app shows"
        self.fields["code"].widget.attrs.pop("autofocus", None)
        if self.choosing:
            self.fields["new_password1"] = forms.CharField(
                label="Choose a password",
                strip=False,
                widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
                help_text=password_validation.password_validators_help_text_html(),
            )
            self.fields["new_password2"] = forms.CharField(
                label="The same password again",
                strip=False,
                widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
            )
            self.order_fields(["new_password1", "new_password2", "code"])
        else:
            self.fields["password"] = forms.CharField(
                label="Your password",
                strip=False,
                widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
            )
            self.order_fields(["password", "code"])

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        # Through authenticate(): wrong passwords count towards django-axes' lockout.
        user = authenticate(self.request, username=self.user.email, password=password)
        if user is None or user.pk != self.user.pk:
            locked = getattr(self.request, "axes_locked_out", False)
            raise forms.ValidationError(self.error_messages["locked" if locked else "password"])
        return password

    def clean_new_password2(self) -> str:
        first = self.cleaned_data.get("new_password1")
        second = self.cleaned_data["new_password2"]
        if first and first != second:
            raise forms.ValidationError(self.error_messages["mismatch"])
        password_validation.validate_password(second, self.user)
        return second


def _session_device(request: HttpRequest, user, invitation_id: int) -> TOTPDevice:
    """The unconfirmed device this invitation's session shows; a new one for a new invitation, so a
    key shown from an older link is never the one confirmed."""
    state = request.session.get(SESSION_KEY) or {}
    device = None
    if state.get("device"):
        device = TOTPDevice.objects.filter(pk=state["device"], user=user, confirmed=False).first()
    if device is None:
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        device = TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)
        request.session[SESSION_KEY] = {"invitation": invitation_id, "device": device.pk}
        record_event(
            "auth.mfa_setup_started",
            actor=user,
            request=request,
            summary="Opened an invitation link and started setting up an authenticator app",
        )
    return device


def _complete(invitation_id: int, device_id: int, form: InvitationSetupForm):
    """Use up the invitation and confirm the device, or neither. Returns (device, problem)."""
    with transaction.atomic():
        invitation = (
            StaffInvitation.objects.select_for_update().select_related("user").get(pk=invitation_id)
        )
        problem = invitation.problem()
        if problem:
            return None, problem
        device = TOTPDevice.objects.select_for_update().get(pk=device_id)
        allowed, _ = device.verify_is_allowed()
        if not allowed:
            return None, "throttled"
        if not device.verify_token(form.cleaned_data["code"]):
            return None, "code"
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        TOTPDevice.objects.filter(user=invitation.user, confirmed=False).delete()
        if form.choosing:
            invitation.user.set_password(form.cleaned_data["new_password1"])
            invitation.user.save(update_fields=["password"])
        invitation.used_at = timezone.now()
        invitation.save(update_fields=["used_at"])
        record_event(
            "auth.staff_invitation_used",
            actor=invitation.user,
            obj=invitation.user,
            summary="Staff invitation link used: authenticator app set up",
            invitation=invitation.pk,
            chose_password=form.choosing,
        )
    return device, None


@require_http_methods(["GET", "POST"])
def invitation_setup(request: HttpRequest, *, context: dict) -> HttpResponse:
    """Set up the authenticator app of the invitation in this session."""
    state = request.session.get(SESSION_KEY) or {}
    invitation = (
        StaffInvitation.objects.select_related("user").filter(pk=state.get("invitation")).first()
    )
    if invitation is None:
        return _refused(request, context, "unknown")
    reason = invitation.problem()
    if reason is None and has_confirmed_device(invitation.user):
        reason = "set_up"
    if reason:
        request.session.pop(SESSION_KEY, None)
        return _refused(request, context, reason, invitation)
    user = invitation.user
    device = _session_device(request, user, invitation.pk)
    form = InvitationSetupForm(user, request, request.POST or None)
    if request.method == "POST" and form.is_valid():
        confirmed, problem = _complete(invitation.pk, device.pk, form)
        if confirmed is not None:
            request.session.pop(SESSION_KEY, None)
            user.refresh_from_db()  # the new password's hash goes into the session
            login(request, user, backend=BACKEND)
            otp_login(request, confirmed)
            record_event(
                "auth.mfa_setup",
                actor=user,
                request=request,
                summary="Set up an authenticator app (MFA) from an invitation link and signed in",
            )
            return redirect(reverse("admin:index"))
        if problem not in ("code", "throttled"):
            return _refused(request, context, problem, invitation)
        record_event(
            "auth.mfa_setup",
            actor=user,
            request=request,
            outcome=AuditEvent.Outcome.FAILURE if problem == "code" else AuditEvent.Outcome.REFUSED,
            summary="MFA set-up from an invitation: the code did not match"
            if problem == "code"
            else "MFA set-up refused: too many wrong codes",
        )
        form.add_error(
            "code",
            "That code did not match. Check the time on your phone and try the next code."
            if problem == "code"
            else "Too many wrong codes. Wait a little, then try the newest code.",
        )
    provider_name = context.get("provider_name", "")
    url = otpauth_url(device, f"{provider_name} back office" if provider_name else "Remit")
    page = {
        **context,
        "title": "Set up two-step sign-in",
        "form": form,
        "invited": user,
        "qr_data_uri": qr_data_uri(url),
        "secret": manual_secret(device),
    }
    return render(request, "backoffice/invitation_setup.html", page)
