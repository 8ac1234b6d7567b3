"""Writes made through the API: invoices and refunds here, organizations and users in
account_services.py. Each upsert runs in one transaction, changes nothing when the request matches
what is stored (so the same PUT twice is one write), and audits what it changed with the API key's
name as the actor."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from remit.accounts.models import Organization
from remit.api.models import ApiKey
from remit.api.problems import ApiProblem, invalid
from remit.api.schemas import InvoiceIn
from remit.audit.models import AuditEvent
from remit.audit.services import record_event
from remit.billing.models import Invoice, InvoiceLine
from remit.billing.services import LineSpec, invoice_create, invoice_totals
from remit.core.money import ZERO, format_money
from remit.gateway import GatewayNotConfigured, get_gateway
from remit.payments.models import (
    IN_FLIGHT_STATES,
    Payment,
    PaymentAllocation,
    Refund,
    RefundState,
)
from remit.payments.services import RefundRefused, refund_payment

# The largest amount a money column (12 digits, 2 decimals) holds.
MONEY_LIMIT = Decimal("9999999999.99")


@dataclass(frozen=True)
class Caller:
    """Who is calling: the API key and the address the request came from."""

    api_key: ApiKey
    ip_address: str | None = None


@dataclass
class Upserted:
    obj: Any
    created: bool
    changes: dict[str, list]


def _audit(
    action: str,
    caller: Caller,
    obj,
    *,
    summary: str,
    organization=None,
    outcome: str = AuditEvent.Outcome.SUCCESS,
    **details,
) -> None:
    record_event(
        action,
        actor_label=caller.api_key.name,
        outcome=outcome,
        obj=obj,
        organization=organization,
        summary=summary,
        ip_address=caller.ip_address,
        via="api",
        api_key=caller.api_key.prefix,
        **details,
    )


def _jsonable(value):
    if isinstance(value, Decimal | datetime.date):
        return str(value)
    return value


def _apply(obj, wanted: dict[str, Any]) -> dict[str, list]:
    changes = {}
    for field, value in wanted.items():
        current = getattr(obj, field)
        if current != value:
            changes[field] = [_jsonable(current), _jsonable(value)]
            setattr(obj, field, value)
    return changes


def _unknown(field: str, detail: str) -> ApiProblem:
    return ApiProblem(
        422,
        detail,
        slug="unknown-reference",
        errors=[{"detail": detail, "pointer": f"#/{field}", "code": "unknown_reference"}],
    )


def _organization(external_id: str) -> Organization:
    organization = Organization.objects.filter(external_id=external_id).first()
    if organization is None:
        raise _unknown("organization", f"No organization has the external id {external_id!r}.")
    return organization


# --- Invoices ------------------------------------------------------------------------------------


def _invoice_problem(detail: str) -> ApiProblem:
    return ApiProblem(409, detail, slug="invoice-has-payments")


def _validation(pointer: str, detail: str) -> ApiProblem:
    return ApiProblem(
        422,
        detail,
        slug="validation-error",
        errors=[{"detail": detail, "pointer": pointer, "code": "value_error"}],
    )


# What an invoice is when the request leaves these out and it is new.
INVOICE_DEFAULTS = {
    "terms": "Net 30",
    "state": Invoice.State.ISSUED,
    "tax": ZERO,
    "memo": "",
    "void_reason": "",
}


def invoice_upsert(number: str, data: InvoiceIn, *, caller: Caller) -> Upserted:
    organization = _organization(data.organization)
    if data.due_date < data.invoice_date:
        raise _validation("#/due_date", "The due date must not be before the invoice date.")
    lines = [LineSpec(line.description, line.quantity, line.unit_price) for line in data.lines]
    for index, line in enumerate(lines):
        if line.quantity <= ZERO:
            raise _validation(f"#/lines/{index}/quantity", "The quantity must be more than zero.")
        if abs(line.amount) > MONEY_LIMIT:
            raise _validation(f"#/lines/{index}", "The line's amount is too large.")

    for _ in range(2):
        try:
            with transaction.atomic():
                invoice = Invoice.objects.select_for_update().filter(number=number).first()
                # Omitted fields: as stored (or the defaults for a new invoice).
                given = {
                    field: getattr(data, field)
                    if getattr(data, field) is not None
                    else (getattr(invoice, field) if invoice else default)
                    for field, default in INVOICE_DEFAULTS.items()
                }
                if given["state"] != Invoice.State.VOID:
                    given["void_reason"] = ""
                subtotal, tax, total = invoice_totals(lines, given["tax"])
                if subtotal < ZERO:
                    raise _validation("#/lines", "The lines must not add up to less than zero.")
                if total > MONEY_LIMIT:
                    raise _validation("#/lines", "The invoice's total is too large.")
                wanted = {
                    **given,
                    "organization": organization,
                    "invoice_date": data.invoice_date,
                    "due_date": data.due_date,
                    "subtotal": subtotal,
                    "tax": tax,
                    "total": total,
                }
                if invoice is None:
                    return _invoice_create(number, wanted, lines, caller)
                return _invoice_update(invoice, wanted, lines, caller)
        except IntegrityError:
            continue  # created by a concurrent request a moment ago: update it instead
    raise ApiProblem(409, "The invoice changed while it was being saved; retry.")


def _invoice_create(number: str, wanted: dict[str, Any], lines, caller: Caller) -> Upserted:
    invoice = invoice_create(
        organization=wanted["organization"],
        number=number,
        invoice_date=wanted["invoice_date"],
        due_date=wanted["due_date"],
        lines=lines,
        tax=wanted["tax"],
        terms=wanted["terms"],
        state=wanted["state"],
        memo=wanted["memo"],
    )
    if wanted["void_reason"]:
        invoice.void_reason = wanted["void_reason"]
        invoice.save(update_fields=["void_reason"])
    _audit(
        "invoice.created",
        caller,
        invoice,
        summary=f"Invoice {number} created for {invoice.organization.name}: "
        f"{format_money(invoice.total, invoice.currency)}, {invoice.state}",
        total=str(invoice.total),
        state=invoice.state,
    )
    return Upserted(invoice, True, {})


def _line_tuples(lines) -> list[tuple[str, Decimal, Decimal]]:
    return [(line.description, line.quantity, line.unit_price) for line in lines]


def _invoice_update(invoice: Invoice, wanted: dict[str, Any], lines, caller: Caller) -> Upserted:
    # Decimals compare by value: "2" equals the stored 2.00.
    current_lines = _line_tuples(invoice.lines.all())
    lines_changed = current_lines != _line_tuples(lines)
    changed = {field for field, value in wanted.items() if getattr(invoice, field) != value}
    if lines_changed:
        changed.add("lines")
    if not changed:
        return Upserted(invoice, False, {})

    _check_payments_allow(invoice, wanted, changed)

    changes = _apply(invoice, wanted)
    if "organization" in changes:
        changes["organization"] = [str(value) for value in changes["organization"]]
    now = timezone.now()
    if "state" in changes:
        if invoice.state == Invoice.State.ISSUED and invoice.issued_at is None:
            invoice.issued_at = now
        invoice.voided_at = now if invoice.state == Invoice.State.VOID else None
    invoice.save()
    if lines_changed:
        invoice.lines.all().delete()
        InvoiceLine.objects.bulk_create(
            InvoiceLine(
                invoice=invoice,
                position=position,
                description=line.description,
                quantity=line.quantity,
                unit_price=line.unit_price,
                amount=line.amount,
            )
            for position, line in enumerate(lines, start=1)
        )
        changes["lines"] = [len(current_lines), len(lines)]
    _audit(
        "invoice.updated",
        caller,
        invoice,
        summary=f"Invoice {invoice.number} updated: " + ", ".join(sorted(changes)),
        changes=changes,
    )
    return Upserted(invoice, False, changes)


def _check_payments_allow(invoice: Invoice, wanted: dict[str, Any], changed: set[str]) -> None:
    """Refuse what would break an invoice that money was paid against (the invoice is locked, and
    so is every payment's start: pay_invoice locks the invoice too)."""
    payments = Payment.objects.filter(invoice=invoice)
    if "organization" in changed and payments.exists():
        raise _invoice_problem("An invoice with payments cannot move to another organization.")
    money_fields = {"total", "state"}
    if changed & money_fields and payments.filter(state__in=IN_FLIGHT_STATES).exists():
        raise _invoice_problem(
            "A payment of this invoice is being processed; its total and state cannot change "
            "until it finishes."
        )
    if invoice.amount_paid > ZERO:
        if wanted["state"] != Invoice.State.ISSUED:
            raise _invoice_problem(
                f"{format_money(invoice.amount_paid, invoice.currency)} is applied to this invoice: "
                f"it cannot become {wanted['state']}. Refund the payments first."
            )
        if wanted["total"] < invoice.amount_paid:
            raise _invoice_problem(
                f"The total cannot be less than the {format_money(invoice.amount_paid, invoice.currency)}"
                " already paid."
            )


# --- Refunds -------------------------------------------------------------------------------------

# RefundRefused codes (remit.payments.services) as HTTP answers.
REFUSALS = {
    "not_refundable": (409, "payment-not-refundable"),
    "in_flight": (409, "refund-in-progress"),
    "too_much": (422, "refund-amount-invalid"),
    "bad_amount": (422, "refund-amount-invalid"),
    "key_reused": (422, "idempotency-key-reused"),
}


def refund_request(
    payment: Payment,
    *,
    amount: Decimal | None,
    reason: str,
    idempotency_key: str,
    caller: Caller,
    invoices: list[str] | None = None,
) -> tuple[Refund, bool]:
    """Refund a settled payment through `refund_payment`, once per Idempotency-Key: the same key
    again returns the first refund (True as the second value) without reaching the gateway."""
    # Keys are the integration's own: two integrations may pick the same text without colliding.
    stored_key = f"api:{caller.api_key.pk}:{idempotency_key}"
    replay = _refund_replay(stored_key, payment, amount)
    if replay is not None:
        return replay, True
    reduce = _invoices_to_reduce(payment, invoices) if invoices else None
    try:
        gateway = get_gateway()
    except GatewayNotConfigured:
        raise ApiProblem(
            503, "No payment gateway is configured.", slug="gateway-unavailable"
        ) from None
    try:
        refund = refund_payment(
            payment,
            amount,
            acting_user=None,
            reason=reason,
            via="api",
            idempotency_key=stored_key,
            ip_address=caller.ip_address,
            gateway=gateway,
            actor_label=caller.api_key.name,
            reduce=reduce,
        )
    except RefundRefused as refused:
        # A request with the same key may have won a race with this one: answer with its refund.
        replay = _refund_replay(stored_key, payment, amount)
        if replay is not None:
            return replay, True
        status, slug = REFUSALS.get(refused.code, (409, "payment-not-refundable"))
        _audit(
            "refund.requested",
            caller,
            payment,
            outcome=AuditEvent.Outcome.REFUSED,
            summary=f"Refund of payment {payment.order_id} refused: {refused.message}",
            amount=str(amount) if amount is not None else "all",
            code=refused.code,
        )
        raise ApiProblem(status, refused.message, slug=slug) from None
    _audit(
        "refund.requested",
        caller,
        payment,
        outcome=AuditEvent.Outcome.SUCCESS
        if refund.state != RefundState.FAILED
        else AuditEvent.Outcome.FAILURE,
        summary=f"Refund of {format_money(refund.amount, payment.currency)} for payment "
        f"{payment.order_id}: {refund.get_state_display()}",
        refund_order_id=refund.order_id,
        amount=str(refund.amount),
        state=refund.state,
    )
    return refund, False


def _invoices_to_reduce(payment: Payment, numbers: list[str]) -> list[int]:
    """The ids of the invoices named (by number) to reduce first: each must be one this payment
    pays, and named once."""
    ids = dict(
        PaymentAllocation.objects.filter(payment=payment).values_list(
            "invoice__number", "invoice_id"
        )
    )
    errors = []
    for index, number in enumerate(numbers):
        if number not in ids:
            detail = f"This payment does not pay invoice {number}."
        elif number in numbers[:index]:
            detail = f"Invoice {number} is named twice."
        else:
            continue
        errors.append({"detail": detail, "pointer": f"#/invoices/{index}", "code": "invalid"})
    if errors:
        raise invalid(errors)
    return [ids[number] for number in numbers]


def _refund_replay(stored_key: str, payment: Payment, amount: Decimal | None) -> Refund | None:
    existing = Refund.objects.filter(idempotency_key=stored_key).first()
    if existing is None:
        return None
    if existing.payment_id != payment.pk or (amount is not None and amount != existing.amount):
        raise ApiProblem(
            422,
            "This Idempotency-Key was used for a different refund request.",
            slug="idempotency-key-reused",
        )
    return existing
