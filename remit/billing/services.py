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


# --- Drafts, issue, void (the back office) -------------------------------------------------------


class InvoiceStateError(Exception):
    """The invoice cannot make this move; `message` says why, for staff."""

    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.message, self.code = message, code


def invoice_recalculate(invoice: Invoice) -> Invoice:
    """A draft's line amounts and totals, computed from its lines exactly as `invoice_create` does:
    totals are never typed."""
    lines = list(invoice.lines.order_by("position", "id"))
    for position, line in enumerate(lines, start=1):
        line.position = position
        line.amount = InvoiceLine.amount_for(line.quantity, line.unit_price)
    InvoiceLine.objects.bulk_update(lines, ["position", "amount"])
    specs = [LineSpec(line.description, line.quantity, line.unit_price) for line in lines]
    invoice.subtotal, invoice.tax, invoice.total = invoice_totals(specs, invoice.tax)
    invoice.save(update_fields=["subtotal", "tax", "total", "updated_at"])
    return invoice


def invoice_issue(invoice: Invoice, *, acting_user, ip_address: str | None = None) -> Invoice:
    """A draft becomes issued: clients with the permission see it and can pay it."""
    from remit.audit.services import record_event
    from remit.core.money import format_money

    with transaction.atomic():
        locked = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if locked.state != Invoice.State.DRAFT:
            raise InvoiceStateError("Only a draft can be issued.", "not_draft")
        if not locked.lines.exists() or locked.total <= ZERO:
            raise InvoiceStateError(
                "Add at least one line with an amount before issuing the invoice.", "empty"
            )
        locked.state = Invoice.State.ISSUED
        locked.issued_at = timezone.now()
        locked.save(update_fields=["state", "issued_at", "updated_at"])
        record_event(
            "invoice.issued",
            actor=acting_user,
            obj=locked,
            ip_address=ip_address,
            summary=f"Issued invoice {locked.number} ({format_money(locked.total, locked.currency)})",
        )
    return locked


def invoice_void(
    invoice: Invoice, *, acting_user, reason: str = "", ip_address: str | None = None
) -> Invoice:
    """An issued invoice becomes void. Refused while money is applied to it or a payment for it is
    in flight: that payment is refunded or voided first, so the books always match."""
    from remit.audit.services import record_event
    from remit.core.money import format_money
    from remit.payments.models import IN_FLIGHT_STATES

    with transaction.atomic():
        locked = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if locked.state == Invoice.State.VOID:
            raise InvoiceStateError("This invoice is already void.", "already_void")
        if locked.state != Invoice.State.ISSUED:
            raise InvoiceStateError("A draft is deleted, not voided.", "draft")
        if locked.payments.filter(state__in=IN_FLIGHT_STATES).exists():
            raise InvoiceStateError(
                "A payment for this invoice is still in progress. Void that payment first (or "
                "wait for it to finish), then void the invoice.",
                "payment_in_flight",
            )
        if locked.amount_paid > ZERO:
            raise InvoiceStateError(
                f"{format_money(locked.amount_paid, locked.currency)} is applied to this invoice. "
                "Refund or void the payment first, then void the invoice.",
                "money_applied",
            )
        locked.state = Invoice.State.VOID
        locked.voided_at = timezone.now()
        locked.void_reason = reason[:200]
        locked.save(update_fields=["state", "voided_at", "void_reason", "updated_at"])
        record_event(
            "invoice.voided",
            actor=acting_user,
            obj=locked,
            ip_address=ip_address,
            summary=f"Voided invoice {locked.number}",
            reason=reason[:200],
        )
    return locked
