"""Sign-ins, sign-outs and failed sign-ins go to the audit log."""

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from remit.audit.models import AuditEvent
from remit.audit.services import record_event


@receiver(user_logged_in)
def _signed_in(sender, request, user, **kwargs):
    record_event("auth.sign_in", actor=user, request=request, summary="Signed in")


@receiver(user_logged_out)
def _signed_out(sender, request, user, **kwargs):
    if user is not None:
        record_event("auth.sign_out", actor=user, request=request, summary="Signed out")


@receiver(user_login_failed)
def _sign_in_failed(sender, credentials, request=None, **kwargs):
    username = str(credentials.get("username", ""))[:200]
    record_event(
        "auth.sign_in",
        actor_label=username or "unknown",
        request=request,
        outcome=AuditEvent.Outcome.FAILURE,
        summary="Sign-in failed",
    )
