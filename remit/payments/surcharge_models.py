"""The provider's card-surcharge and eCheck-discount settings (kept apart from models.py for its
size; imported there so Django registers it). One row, pk=1, edited in the back office; the rules
that use it are in remit/payments/surcharge.py."""

from __future__ import annotations

import datetime

from django.db import models
from django.utils import timezone

from remit.core import flag_cache

CACHED = "surcharge.policy"  # flag_cache name: the row, renewed whenever it is saved (apps.py)

# Card networks' rule: the merchant tells its acquirer (Visa) and Mastercard 30 days before it
# starts surcharging.
NOTICE_DAYS = 30
MAX_PERCENT = "3.00"  # Visa and Mastercard: never above 3%, nor the cost of acceptance


def default_excluded_states() -> list[str]:
    """Where surcharges are prohibited (money-shapes.md; verify with counsel)."""
    return ["CT", "MA", "ME", "PR"]


def default_state_caps() -> dict[str, str]:
    """Where a lower cap applies: Colorado 2%, Oklahoma 2% (since 1 November 2025)."""
    return {"CO": "2.00", "OK": "2.00"}


class SurchargePolicy(models.Model):
    """Card surcharge (credit cards only) and the optional discount for paying by eCheck."""

    enabled = models.BooleanField("Add a surcharge to credit card payments", default=False)
    percent = models.DecimalField(
        "Surcharge (%)", max_digits=4, decimal_places=2, null=True, blank=True
    )
    cost_of_acceptance = models.DecimalField(
        "Your cost of accepting credit cards (%)",
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="What your acquirer charges you for a credit card payment, in percent. The "
        "surcharge may never be above it.",
    )
    acquirer_notified_on = models.DateField(
        "Acquirer and card networks notified on",
        null=True,
        blank=True,
        help_text=f"Surcharges may start {NOTICE_DAYS} days after this date.",
    )
    excluded_states = models.JSONField(
        "States without a surcharge", default=default_excluded_states, blank=True
    )
    state_caps = models.JSONField("States with a lower cap", default=default_state_caps, blank=True)
    echeck_discount_percent = models.DecimalField(
        "Discount for paying by eCheck (%)",
        max_digits=4,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Optional. Offered to everyone who pays by eCheck, and shown to everyone.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "card surcharge"
        verbose_name_plural = "card surcharge"

    def __str__(self) -> str:
        return "Card surcharge settings"

    @classmethod
    def load(cls) -> SurchargePolicy:
        """The row as it is now: what a payment is charged by."""
        policy, _ = cls.objects.get_or_create(pk=1)
        return policy

    @classmethod
    def for_display(cls) -> SurchargePolicy:
        """The row from the shared cache (remit/core/flag_cache.py: renewed whenever it is saved),
        for what pages say and for whether a payment need read it at all; what a payment is
        charged by is load()."""
        return flag_cache.cached(CACHED, cls.load)

    def adjusts_anything(self) -> bool:
        """Whether these settings could surcharge a card or discount an eCheck at all."""
        return bool((self.enabled and self.percent) or self.echeck_discount_percent)

    def card_note(self, day: datetime.date | None = None) -> str:
        """What Home and Reports > Invoices say of paying by card."""
        if not self.surcharging_on(day):
            return ""
        note = (
            f"Credit card payments carry a card surcharge of up to {self.percent}%; debit and "
            "prepaid cards and eChecks carry none."
        )
        if self.echeck_discount_percent:
            note += f" Paying by eCheck takes {self.echeck_discount_percent}% off."
        return note

    @property
    def may_start_on(self) -> datetime.date | None:
        if self.acquirer_notified_on is None:
            return None
        return self.acquirer_notified_on + datetime.timedelta(days=NOTICE_DAYS)

    def surcharging_on(self, day: datetime.date | None = None) -> bool:
        """Turned on, with a percentage, and the 30-day notice over."""
        day = day or timezone.localdate()
        start = self.may_start_on
        return bool(self.enabled and self.percent and start is not None and day >= start)
