import zoneinfo

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone

from remit.core.encryption import EncryptedTextField


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not a time zone name (e.g. America/New_York).")


class PaymentOptions(models.TextChoices):
    BOTH = "both", "Credit card and eCheck"
    CARD = "card", "Credit card only"
    ECHECK = "echeck", "eCheck only"


class Provider(models.Model):
    """The managed service provider running this deployment. Exactly one row (pk=1)."""

    name = models.CharField(max_length=200, default="Your Service Provider")
    country = models.CharField(
        max_length=2,
        default="US",
        validators=[RegexValidator(r"^[A-Za-z]{2}$", "Use the two-letter country code, e.g. US.")],
        help_text="Where the provider is based (ISO 3166 alpha-2).",
    )
    internal_currency = models.CharField(
        max_length=3,
        default="USD",
        validators=[
            RegexValidator(r"^[A-Za-z]{3}$", "Use the three-letter currency code, e.g. USD.")
        ],
    )
    time_zone = models.CharField(
        max_length=64, default="America/New_York", validators=[validate_time_zone]
    )
    payment_options = models.CharField(
        max_length=8, choices=PaymentOptions, default=PaymentOptions.BOTH
    )
    require_mfa_for_financials = models.BooleanField(
        "Require two-step sign-in for users who see invoices",
        default=False,
        help_text='Every client user whose security level holds "View invoices and financial data" '
        "sets up an authenticator app before they see invoices or pay.",
    )
    # Partial payments (several invoices at once): off, the server pays each invoice's balance
    # whatever was posted; on, each line may be less, but not under the minimum.
    partial_payments_allowed = models.BooleanField("Allow partial payments", default=False)
    partial_minimum_amount = models.DecimalField(
        "Minimum partial payment per invoice", max_digits=12, decimal_places=2, default=0
    )
    partial_minimum_percent = models.PositiveSmallIntegerField(
        "Minimum share of each invoice (%)", default=0
    )
    support_email = models.EmailField(blank=True)
    support_phone = models.CharField(max_length=40, blank=True)
    # The colour of the provider's emails (headings, buttons): their brand, not Remit's.
    brand_color = models.CharField(
        "Brand colour",
        max_length=7,
        default="#1f4e79",
        validators=[RegexValidator(r"^#[0-9A-Fa-f]{6}$", "Use a hex colour, e.g. #1f4e79.")],
    )
    # Autopay (remit/autopay/, docs/autopay.md): off until the provider turns it on.
    autopay_enabled = models.BooleanField("Offer autopay", default=False)
    autopay_on_due_date = models.BooleanField("Allow charging on the due date", default=False)
    autopay_days_after_invoice = models.CharField(
        "Allowed days after the invoice date",
        max_length=60,
        blank=True,
        default="",
        validators=[
            RegexValidator(
                r"^\s*(\d{1,3}\s*(,\s*\d{1,3}\s*)*)?$",
                "List whole numbers of days separated by commas, e.g. 7, 15, 30.",
            )
        ],
        help_text="Clients may choose to be charged this many days after the invoice date "
        "(comma-separated, e.g. 7, 15, 30). Empty: not offered.",
    )
    autopay_staff_may_enrol = models.BooleanField(
        "Staff may enrol an organization on its behalf",
        default=False,
        help_text="With the client's written consent, recorded as a note; staff may lock it.",
    )
    # Payment reminders: a schedule around each invoice's due date.
    reminders_enabled = models.BooleanField("Send payment reminders", default=False)
    reminder_days_before = models.PositiveSmallIntegerField(
        "Days before the due date", default=3, help_text="0: no reminder before the due date."
    )
    reminder_on_due_date = models.BooleanField("On the due date", default=False)
    reminder_overdue_every = models.PositiveSmallIntegerField(
        "Every N days overdue", default=7, help_text="0: no overdue reminders."
    )
    reminder_overdue_times = models.PositiveSmallIntegerField(
        "Overdue reminders at most", default=4
    )
    # Gateway connection; empty values fall back to the GATEWAY_URL / GATEWAY_SECURITY_KEY settings.
    gateway_url = models.URLField(blank=True)
    # Encrypted at rest (REMIT_ENCRYPTION_KEY, remit/core/encryption.py); reads as plain text.
    gateway_security_key = EncryptedTextField(blank=True)
    # Collect.js's public key (it can only create payment tokens, so it may be shown); empty falls
    # back to GATEWAY_TOKENIZATION_KEY.
    gateway_tokenization_key = models.CharField(
        "public tokenization key",
        max_length=100,
        blank=True,
        help_text="Public key for the gateway's hosted payment fields (Collect.js). It can only "
        "create payment tokens; it is not the private security key.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(pk=1), name="provider_singleton")]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        self.pk = 1
        self.country = self.country.upper()
        self.internal_currency = self.internal_currency.upper()
        super().save(*args, **kwargs)

    def clean(self) -> None:
        self.country = self.country.upper()
        self.internal_currency = self.internal_currency.upper()

    @classmethod
    def load(cls) -> "Provider":
        """The provider row, from the cache when it is there (every request reads it; saving or
        deleting the row drops the entry, remit/core/provider_cache.py)."""
        from remit.core import provider_cache

        provider = provider_cache.get()
        if provider is None:
            provider, _ = cls.objects.get_or_create(pk=1)
            provider_cache.put(provider)
        return provider

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    @property
    def online_payments_available(self) -> bool:
        """Payment processing is only available to providers based in the US who use USD."""
        return self.country == "US" and self.internal_currency == "USD"

    @property
    def offers_card(self) -> bool:
        return self.payment_options in (PaymentOptions.BOTH, PaymentOptions.CARD)

    @property
    def offers_echeck(self) -> bool:
        return self.payment_options in (PaymentOptions.BOTH, PaymentOptions.ECHECK)

    @property
    def autopay_allowed_days(self) -> list[int]:
        """The days after the invoice date a client may choose, sorted, without repeats."""
        days = {int(d) for d in self.autopay_days_after_invoice.replace(" ", "").split(",") if d}
        return sorted(days)


class PeriodicRun(models.Model):
    """One row per periodic job and time slot: however many workers run, one of them enqueues it."""

    name = models.CharField(max_length=60)
    slot = models.BigIntegerField()
    enqueued_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["name", "slot"], name="periodic_run_slot")]

    def __str__(self) -> str:
        return f"{self.name} #{self.slot}"


class PaymentPageSnapshot(models.Model):
    """What the payment page loaded at one check: each script (source, integrity attribute, hash
    of what was served) and the security headers (PCI DSS 6.4.3 / 11.6.1; docs/pci.md). The
    newest approved snapshot is the set later checks are compared with."""

    checked_at = models.DateTimeField(default=timezone.now)
    digest = models.CharField(max_length=64, db_index=True)  # sha256 of the inventory
    inventory = models.JSONField()
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-checked_at", "-id"]

    def __str__(self) -> str:
        state = "approved" if self.approved_at else "not approved"
        return f"Payment page {self.digest[:12]} ({state})"
