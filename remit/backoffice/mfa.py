"""Staff sign in apart from clients, in two steps: email and password, then a TOTP code.

A staff member without a confirmed TOTP device is sent to set one up (QR code and the secret for
manual entry, confirmed with a code) before anything else. Until the code is accepted the session is
signed in but not verified, and no back-office page opens (`BackofficeSite.has_permission`).
"""

from __future__ import annotations

from urllib.parse import urlencode

from django import forms
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from remit.accounts.otp import TokenForm
from remit.audit.models import AuditEvent
from remit.audit.services import record_event
from remit.backoffice.access import has_confirmed_device, is_backoffice_staff, is_verified

# --- Where to go next ----------------------------------------------------------------------------


def safe_next(request: HttpRequest, default: str | None = None) -> str:
    """The `next` parameter if it points into this site, else the back office's home."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return default or reverse("admin:index")


def _with_next(url: str, next_url: str) -> str:
    if next_url and next_url != reverse("admin:index"):
        return f"{url}?{urlencode({'next': next_url})}"
    return url


def redirect_to_mfa(request: HttpRequest, next_url: str) -> HttpResponseRedirect:
    """Send a signed-in, unverified staff member to set up MFA or to enter a code."""
    step = "admin:mfa_verify" if has_confirmed_device(request.user) else "admin:mfa_setup"
    return HttpResponseRedirect(_with_next(reverse(step), next_url))


# --- Step one: email and password ----------------------------------------------------------------

NO_MFA_MESSAGE = (
    "Two-step sign-in is not set up for this account yet. Open the set-up link in your "
    "invitation email, or ask an administrator to send you a new one."
)


class StaffSignInForm(AuthenticationForm):
    username = forms.EmailField(
        label="Email", widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"})
    )

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "That email and password do not match a staff account. Please try again.",
        "not_staff": "This sign-in is for provider staff. Clients sign in to the client portal.",
        "no_mfa": NO_MFA_MESSAGE,
    }

    def confirm_login_allowed(self, user) -> None:
        super().confirm_login_allowed(user)
        if not is_backoffice_staff(user):
            raise forms.ValidationError(self.error_messages["not_staff"], code="not_staff")
        if not has_confirmed_device(user):
            # A password alone never enrols a second factor: that takes the invitation link.
            record_event(
                "auth.sign_in",
                actor=user,
                request=self.request,
                outcome=AuditEvent.Outcome.REFUSED,
                summary="Sign-in refused: two-step sign-in not set up (needs the invitation link)",
            )
            raise forms.ValidationError(self.error_messages["no_mfa"], code="no_mfa")


class StaffLoginView(auth_views.LoginView):
    authentication_form = StaffSignInForm
    template_name = "backoffice/login.html"

    def get_success_url(self) -> str:
        return redirect_to_mfa(self.request, safe_next(self.request)).url


def login_view(request: HttpRequest, *, context: dict) -> HttpResponse:
    """The back office's sign-in page. Client users never get here (they get a 404)."""
    user = request.user
    if is_backoffice_staff(user):
        if is_verified(user):
            return redirect(safe_next(request))
        return redirect_to_mfa(request, safe_next(request))
    context = {**context, "title": "Sign in", "next": safe_next(request, default="")}
    return StaffLoginView.as_view(extra_context=context)(request)


# --- Step two: the TOTP code ---------------------------------------------------------------------


def _staff_only(view):
    """MFA pages are for signed-in staff who are not verified yet; anyone else goes elsewhere."""

    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        user = request.user
        if not user.is_authenticated:
            return HttpResponseRedirect(_with_next(reverse("admin:login"), safe_next(request)))
        if is_verified(user):
            return redirect(safe_next(request))
        return view(request, *args, **kwargs)

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return never_cache(wrapper)


@_staff_only
@require_http_methods(["GET", "POST"])
def mfa_setup(request: HttpRequest, *, context: dict) -> HttpResponse:
    """Where a signed-in staff member without an authenticator app lands. It sets nothing up: that
    needs the invitation link (remit.backoffice.invitations), not the password alone."""
    if has_confirmed_device(request.user):
        return redirect_to_mfa(request, safe_next(request))
    if request.method == "POST":
        record_event(
            "auth.mfa_setup",
            actor=request.user,
            request=request,
            outcome=AuditEvent.Outcome.REFUSED,
            summary="MFA set-up refused: it needs the invitation link, not the password alone",
        )
    context = {**context, "title": "Set up two-step sign-in", "message": NO_MFA_MESSAGE}
    return render(
        request,
        "backoffice/mfa_setup.html",
        context,
        status=403 if request.method == "POST" else 200,
    )


@_staff_only
@require_http_methods(["GET", "POST"])
def mfa_verify(request: HttpRequest, *, context: dict) -> HttpResponse:
    """Enter the code from the authenticator app."""
    user = request.user
    device = TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()
    if device is None:
        return redirect_to_mfa(request, safe_next(request))
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            locked = TOTPDevice.objects.select_for_update().get(pk=device.pk)
            allowed, _ = locked.verify_is_allowed()
            accepted = allowed and locked.verify_token(form.cleaned_data["code"])
        if accepted:
            otp_login(request, locked)
            request.session.cycle_key()
            record_event(
                "auth.mfa_verify",
                actor=user,
                request=request,
                summary="Entered a valid MFA code and signed in",
            )
            return redirect(safe_next(request))
        record_event(
            "auth.mfa_verify",
            actor=user,
            request=request,
            outcome=AuditEvent.Outcome.FAILURE if allowed else AuditEvent.Outcome.REFUSED,
            summary="MFA code did not match" if allowed else "MFA code refused: too many failures",
        )
        form.add_error(
            "code",
            "That code did not match. Try the next code your app shows."
            if allowed
            else "Too many wrong codes. Wait a little, then try the newest code.",
        )
    context = {
        **context,
        "title": "Enter your code",
        "form": form,
        "next": safe_next(request, default=""),
    }
    return render(request, "backoffice/mfa_verify.html", context)
