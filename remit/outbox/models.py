"""One row per email the worker sends: what it is about, to whom, and how sending went.

The row never keeps the message itself: each attempt renders it afresh from the objects it is about
(an invitation's set-password link is made at sending time, as before). Card and account numbers are
never in a message to begin with."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class EmailKind(models.TextChoices):
    RECEIPT = "receipt", "Payment receipt"
    RETURNED_NOTICE = "returned_notice", "eCheck return notice"
    INVITATION = "invitation", "Invitation"
    STAFF_INVITATION = "staff_invitation", "Staff two-step sign-in set-up link"
    PASSWORD_RESET = "password_reset", "Password reset link"
    STUCK_PAYMENT = "stuck_payment", "Stuck payment (to staff)"
    # remit/autopay/emails.py builds these; `about_id` is the enrolment, attempt or reminder.
    AUTOPAY_ENROLLED = "autopay_enrolled", "Autopay enrolment confirmation"
    AUTOPAY_ENDED = "autopay_ended", "Autopay ended"
    AUTOPAY_PAUSED = "autopay_paused", "Autopay paused"
    AUTOPAY_SKIPPED = "autopay_skipped", "Autopay charge skipped"
    AUTOPAY_DECLINED = "autopay_declined", "Autopay charge declined"
    AUTOPAY_NOTICE = "autopay_notice", "Autopay notice (upcoming charge)"
    PAYMENT_REMINDER = "payment_reminder", "Payment reminder"


class EmailStatus(models.TextChoices):
    PENDING = "pending", "Pending"  # waiting for its first attempt or a retry
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"  # gave up: a permanent refusal, or the last attempt failed
    SKIPPED = "skipped", "Not needed"  # e.g. an invitation accepted meanwhile, or nobody to send to


class OutgoingEmail(models.Model):
    kind = models.CharField(max_length=20, choices=EmailKind)
    payment = models.ForeignKey(
        "payments.Payment", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The invited user.",
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The staff member who asked for it (an invitation sent from the back office).",
    )
    about_id = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="The autopay enrolment, attempt or reminder it is about."
    )
    base_url = models.CharField(max_length=300, blank=True, help_text="For links in the message.")
    recipients = models.JSONField(default=list, blank=True)
    subject = models.CharField(max_length=300, blank=True)
    status = models.CharField(max_length=10, choices=EmailStatus, default=EmailStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    resent_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name = "outgoing email"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="outgoing_email_due")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to {', '.join(self.recipients) or '-'} ({self.status})"
