"""Who must give a second factor, and the session's note that they still have to."""

from __future__ import annotations

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django_otp.plugins.otp_totp.models import TOTPDevice

SESSION_PENDING = "remit_mfa_pending"


def has_authenticator(user) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def mfa_required(user, provider) -> bool:
    """The provider requires two-step sign-in of everyone who sees invoices and financial data."""
    return bool(
        provider is not None
        and provider.require_mfa_for_financials
        and user.is_client
        and user.can_view_financials
    )


@receiver(user_logged_in)
def note_pending_code(sender, request, user, **kwargs) -> None:
    """After the password, a client with an authenticator app still owes the code."""
    if request is None or not getattr(user, "is_client", False):
        return
    if has_authenticator(user):
        request.session[SESSION_PENDING] = True
    else:
        request.session.pop(SESSION_PENDING, None)
