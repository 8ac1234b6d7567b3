"""How much of a payment each invoice received (kept apart from models.py for its size; imported
there so Django registers it)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from remit.core.money import ZERO

MONEY = {"max_digits": 12, "decimal_places": 2}


class PaymentAllocation(models.Model):
    """One invoice's share of one payment. A payment pays one or more invoices of one organization
    and currency through one gateway sale; an invoice's amount paid is the sum of its applied
    allocations. `in_flight` mirrors the payment's state (kept by services/state.py) so the database
    itself refuses a second payment in flight for an invoice, whatever other invoices either pays."""

    payment = models.ForeignKey(
        "payments.Payment", on_delete=models.CASCADE, related_name="allocations"
    )
    invoice = models.ForeignKey(
        "billing.Invoice", on_delete=models.PROTECT, related_name="allocations"
    )
    amount = models.DecimalField(**MONEY)
    applied_amount = models.DecimalField(**MONEY, default=ZERO)
    refunded_amount = models.DecimalField(**MONEY, default=ZERO)
    in_flight = models.BooleanField(default=True)

    class Meta:
        ordering = ["invoice_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["payment", "invoice"], name="one_allocation_per_invoice_per_payment"
            ),
            models.UniqueConstraint(
                fields=["invoice"],
                condition=Q(in_flight=True),
                name="one_payment_in_flight_per_allocated_invoice",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="allocation_amount_positive"),
            models.CheckConstraint(
                condition=Q(applied_amount__gte=0, refunded_amount__gte=0),
                name="allocation_amounts_nonneg",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.amount} of payment {self.payment_id} to invoice {self.invoice_id}"
