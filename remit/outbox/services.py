"""Outgoing email: a row written in the transaction that causes the email (so one exists exactly when
the change does), sent by the background worker, retried with exponential backoff while the mail
server is unreachable or answers 4xx, then marked failed for staff to see and resend.

    email_queue    the row and its job, in the caller's transaction
    email_attempt  one attempt: render, send (no transaction open), record the outcome
    email_resend   staff ask again: a new row for the same email, rendered afresh

Settings: EMAIL_MAX_ATTEMPTS (8), EMAIL_RETRY_BASE_SECONDS (60, doubled after each failure),
EMAIL_RETRY_MAX_SECONDS (1 hour): eight attempts span about three hours."""

from __future__ import annotations

import datetime
import logging
import smtplib

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from remit.audit.services import record_event
from remit.outbox.messages import build_message
from remit.outbox.models import EmailStatus, OutgoingEmail

logger = logging.getLogger(__name__)


def retry_delay(attempts: int) -> datetime.timedelta:
    """60 s, 2 min, 4 min … up to an hour."""
    base = settings.EMAIL_RETRY_BASE_SECONDS
    return datetime.timedelta(
        seconds=min(base * 2 ** max(attempts - 1, 0), settings.EMAIL_RETRY_MAX_SECONDS)
    )


def email_queue(
    kind: str,
    *,
    payment=None,
    user=None,
    base_url: str = "",
    requested_by=None,
    resent_from: OutgoingEmail | None = None,
    about_id: int | None = None,
    batch=None,
    email_id: int | None = None,
) -> OutgoingEmail:
    """Queued in the caller's transaction; the job carries only the row's id. `batch`
    (remit/core/batch.py): the job row is written with the caller's other writes, and the email's
    row too when its id was reserved (`email_id`, from the table's sequence)."""
    from remit.outbox.tasks import send_email

    email = OutgoingEmail(
        id=email_id,
        kind=kind,
        payment=payment,
        user=user,
        base_url=base_url,
        requested_by=requested_by,
        resent_from=resent_from,
        about_id=about_id,
    )
    if batch is not None and email_id is not None:
        batch.insert(email)
    else:
        email.save(force_insert=True)
    if batch is not None:
        batch.enqueue(send_email, email.pk)
    else:
        send_email.enqueue(email.pk)
    return email


def email_resend(email: OutgoingEmail, *, acting_user, ip_address=None) -> OutgoingEmail:
    with transaction.atomic():
        again = email_queue(
            email.kind,
            payment=email.payment,
            user=email.user,
            base_url=email.base_url,
            requested_by=acting_user,
            resent_from=email,
            about_id=email.about_id,
        )
        record_event(
            "email.resent",
            actor=acting_user,
            obj=again,
            ip_address=ip_address,
            organization=getattr(email.payment, "organization_id", None),
            summary=f"{email.get_kind_display()} sent again "
            f"(first to {', '.join(email.recipients) or 'nobody yet'})",
            original_email=email.pk,
        )
    return again


def is_transient(error: Exception) -> bool:
    """Worth trying again later: the server unreachable, a dropped connection, a 4xx answer. A 5xx
    answer (recipients refused, authentication failed) will not get better by waiting."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return False
    if isinstance(error, smtplib.SMTPResponseException):
        return error.smtp_code < 500
    return isinstance(error, (smtplib.SMTPException, OSError))


def email_attempt(email_id: int) -> str:
    """One attempt. Returns the email's status afterwards."""
    email = OutgoingEmail.objects.select_related("user").filter(pk=email_id).first()
    if email is None or email.status != EmailStatus.PENDING:
        return email.status if email else "gone"
    error: Exception | None = None
    try:
        message = build_message(email)
    except Exception as exc:  # a missing object or a template error: a bug, not a network hiccup
        logger.exception("building email %s (%s) failed", email.pk, email.kind)
        message, error = None, exc
    if message is not None:
        try:
            message.send()  # no transaction open meanwhile
        except Exception as exc:
            error = exc
    return _record(email_id, message, error)


def _record(email_id: int, message, error: Exception | None) -> str:
    with transaction.atomic():
        email = OutgoingEmail.objects.select_for_update().get(pk=email_id)
        if email.status != EmailStatus.PENDING:
            return email.status
        now = timezone.now()
        if message is not None:
            email.subject = str(message.subject)[:300]
            email.recipients = list(message.to)
        email.attempts += 1
        email.last_attempt_at = now
        email.next_attempt_at = None
        if error is None and message is None:
            email.status = EmailStatus.SKIPPED
        elif error is None:
            email.status = EmailStatus.SENT
            email.sent_at = now
            email.last_error = ""
        else:
            email.last_error = f"{type(error).__name__}: {error}"[:300]
            if is_transient(error) and email.attempts < settings.EMAIL_MAX_ATTEMPTS:
                from remit.outbox.tasks import send_email

                email.next_attempt_at = now + retry_delay(email.attempts)
                send_email.using(run_after=email.next_attempt_at).enqueue(email.pk)
            else:
                email.status = EmailStatus.FAILED
                logger.warning("email %s (%s) failed for good: %s", email.pk, email.kind, error)
                record_event(
                    "email.failed",
                    actor_label="outbox",
                    outcome="failure",
                    obj=email,
                    organization=_organization_id(email),
                    summary=f"{email.get_kind_display()} could not be sent after "
                    f"{email.attempts} attempt(s): {email.last_error}",
                )
        email.save()
    return email.status


def _organization_id(email: OutgoingEmail) -> int | None:
    if email.payment_id:
        from remit.payments.models import Payment

        return (
            Payment.objects.filter(pk=email.payment_id)
            .values_list("organization_id", flat=True)
            .first()
        )
    return getattr(email.user, "organization_id", None)
