"""Autopay enrolments, their attempts (one per invoice and charge date, by constraint), and the
payment reminders sent (one per invoice and slot, by constraint). docs/autopay.md."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from remit.core.money import format_money
from remit.payments.models import MONEY


class Trigger(models.TextChoices):
    DUE_DATE = "due_date", "On the due date"
    AFTER_INVOICE = "after_invoice", "Days after the invoice date"


class EnrolmentQuerySet(models.QuerySet):
    def active(self) -> EnrolmentQuerySet:
        return self.filter(ended_at__isnull=True)

    def charging(self) -> EnrolmentQuerySet:
        """Active and not paused: the job charges for these."""
        return self.active().filter(paused_at__isnull=True)


class Enrolment(models.Model):
    """An organization's autopay: one user's saved method, a trigger, an optional cap per invoice,
    and the consent that allows it (text version, text, time, user, IP — like the eCheck
    authorization). At most one active per organization."""

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="autopay_enrolments"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="autopay_enrolments",
        help_text="Whose saved method is charged.",
    )
    payment_method = models.ForeignKey(
        "payments.PaymentMethod", on_delete=models.PROTECT, related_name="autopay_enrolments"
    )
    trigger = models.CharField(max_length=16, choices=Trigger, default=Trigger.DUE_DATE)
    days_after = models.PositiveSmallIntegerField(null=True, blank=True)
    cap = models.DecimalField(**MONEY, null=True, blank=True, help_text="Most charged per invoice.")
    # The consent.
    consent_version = models.CharField(max_length=20)
    consent_text = models.TextField()
    consented_at = models.DateTimeField(default=timezone.now)
    consent_ip = models.GenericIPAddressField(null=True, blank=True)
    enrolled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The client user, or the staff member who enrolled on the client's behalf.",
    )
    consent_note = models.TextField(
        blank=True, help_text="Staff on the client's behalf: where the written consent is."
    )
    locked = models.BooleanField(default=False, help_text="The client cannot change or cancel it.")
    created_at = models.DateTimeField(default=timezone.now)
    starts_on = models.DateField(help_text="Invoices whose charge date is on or after this day.")
    paused_at = models.DateTimeField(null=True, blank=True)
    pause_reason = models.CharField(max_length=200, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=200, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = EnrolmentQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization"],
                condition=Q(ended_at__isnull=True),
                name="autopay_one_active_enrolment_per_org",
            ),
            models.CheckConstraint(
                condition=Q(cap__isnull=True) | Q(cap__gt=0), name="autopay_cap_positive"
            ),
            models.CheckConstraint(
                condition=Q(trigger="due_date") | Q(days_after__isnull=False),
                name="autopay_days_after_set",
            ),
        ]

    def __str__(self) -> str:
        return f"Autopay of {self.organization} with {self.payment_method.label}"

    @property
    def active(self) -> bool:
        return self.ended_at is None

    @property
    def trigger_label(self) -> str:
        if self.trigger == Trigger.DUE_DATE:
            return "on the due date"
        days = self.days_after or 0
        return f"{days} day{'s' if days != 1 else ''} after the invoice date"

    @property
    def cap_label(self) -> str:
        return f"up to {format_money(self.cap)} per invoice" if self.cap else "no cap"

    def charge_date(self, invoice) -> datetime.date:
        if self.trigger == Trigger.DUE_DATE:
            return invoice.due_date
        return invoice.invoice_date + datetime.timedelta(days=self.days_after or 0)


class AttemptState(models.TextChoices):
    DUE = "due", "Due"  # waiting for its (next) try, on next_try_on
    CHARGING = "charging", "Charging"  # a try claimed by a worker; its payment decides
    CHARGED = "charged", "Charged"
    SKIPPED = "skipped", "Skipped"  # not charged, for `reason` (void, paid, above the cap, ...)
    FAILED = "failed", "Failed"  # declined on every try: autopay paused


class Attempt(models.Model):
    """The one autopay attempt for an invoice and its charge date (the database refuses a second:
    no crash, retry, second worker or clock skew can make another). Each try is one payment, made
    through the portal's money code with an attempt key derived from (attempt, try): a try
    started again finds its payment instead of charging again."""

    MAX_TRIES = 3  # the first, then at most twice more on later days

    invoice = models.ForeignKey(
        "billing.Invoice", on_delete=models.PROTECT, related_name="autopay_attempts"
    )
    charge_date = models.DateField()
    enrolment = models.ForeignKey(Enrolment, on_delete=models.PROTECT, related_name="attempts")
    state = models.CharField(max_length=10, choices=AttemptState, default=AttemptState.DUE)
    tries = models.PositiveSmallIntegerField(default=0)
    next_try_on = models.DateField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    payment = models.ForeignKey(
        "payments.Payment", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    amount = models.DecimalField(**MONEY, null=True, blank=True)
    reason = models.CharField(max_length=200, blank=True, help_text="Shown to both sides.")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-charge_date", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["invoice", "charge_date"], name="autopay_one_attempt_per_invoice_date"
            ),
            models.CheckConstraint(condition=Q(tries__lte=3), name="autopay_at_most_three_tries"),
        ]
        indexes = [models.Index(fields=["state", "next_try_on"], name="autopay_attempt_due")]

    def __str__(self) -> str:
        return f"Autopay of invoice {self.invoice_id} on {self.charge_date} ({self.state})"


class Reminder(models.Model):
    """One reminder (or autopay notice) of one invoice in one slot of the provider's schedule:
    `before-3`, `due`, `overdue-1` … The database refuses a second of the same slot."""

    class Kind(models.TextChoices):
        REMINDER = "reminder", "Payment reminder"
        AUTOPAY_NOTICE = "autopay_notice", "Autopay notice"

    invoice = models.ForeignKey(
        "billing.Invoice", on_delete=models.CASCADE, related_name="reminders"
    )
    slot = models.CharField(max_length=20)
    kind = models.CharField(max_length=16, choices=Kind)
    sent_on = models.DateField()
    created_at = models.DateTimeField(default=timezone.now)
    email = models.ForeignKey(
        "outbox.OutgoingEmail", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "slot"], name="reminder_one_per_slot")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.slot} of invoice {self.invoice_id}"


class ReminderOptOut(models.Model):
    """A client user who turned payment reminders off for themselves (receipts and autopay notices
    still come)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reminder_opt_out"
    )
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Reminders off for {self.user_id}"
