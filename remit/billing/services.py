"""Writes of invoices. Every path that creates an invoice (demo data, back office, CSV import, API)
goes through `invoice_create`, so amounts are always computed the same way."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from remit.accounts.models import Organization
from remit.billing.models import Invoice, InvoiceLine
from remit.core.money import ZERO, to_money


@dataclass(frozen=True)
class LineSpec:
    description: str
    quantity: Decimal
    unit_price: Decimal

    @property
    def amount(self) -> Decimal:
        return InvoiceLine.amount_for(self.quantity, self.unit_price)


def invoice_totals(
    lines: Iterable[LineSpec], tax: Decimal = ZERO
) -> tuple[Decimal, Decimal, Decimal]:
    """(subtotal, tax, total) in cents."""
    subtotal = to_money(sum((line.amount for line in lines), ZERO))
    tax = to_money(tax)
    return subtotal, tax, to_money(subtotal + tax)


@transaction.atomic
def invoice_create(
    *,
    organization: Organization,
    number: str,
    invoice_date: datetime.date,
    due_date: datetime.date,
    lines: list[LineSpec],
    tax: Decimal = ZERO,
    terms: str = "Net 30",
    state: str = Invoice.State.ISSUED,
    amount_paid: Decimal = ZERO,
    memo: str = "",
) -> Invoice:
    subtotal, tax, total = invoice_totals(lines, tax)
    now = timezone.now()
    invoice = Invoice.objects.create(
        organization=organization,
        number=number,
        state=state,
        invoice_date=invoice_date,
        due_date=due_date,
        terms=terms,
        subtotal=subtotal,
        tax=tax,
        total=total,
        amount_paid=to_money(amount_paid),
        memo=memo,
        issued_at=now if state != Invoice.State.DRAFT else None,
        voided_at=now if state == Invoice.State.VOID else None,
    )
    InvoiceLine.objects.bulk_create(
        InvoiceLine(
            invoice=invoice,
            position=position,
            description=line.description,
            quantity=line.quantity,
            unit_price=to_money(line.unit_price),
            amount=line.amount,
        )
        for position, line in enumerate(lines, start=1)
    )
    return invoice
