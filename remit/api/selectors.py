"""Reads for the API and the webhooks: the payment feed and how each object is represented."""

from __future__ import annotations

import base64
import binascii
import datetime
import json
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone

from remit.accounts.models import Organization, User
from remit.billing.models import Invoice
from remit.payments.models import IN_FLIGHT_STATES, Payment, PaymentAllocation, Refund

# Changes younger than this are not listed yet: a transaction that saved a payment a moment ago may
# still be committing, and a cursor that moved past it would skip it for good. Remit's payment
# transactions last milliseconds (gateway calls happen outside them), so seconds are plenty.
DEFAULT_FEED_LAG_SECONDS = 5


class InvalidCursor(ValueError):
    pass


def payments_represented(payments: QuerySet[Payment] | None = None) -> QuerySet[Payment]:
    """Payments with all that `payment_data` reads: the same few queries for any number of them
    (the payments, their refunds, their allocations with the invoices)."""
    from remit.autopay.models import Attempt

    payments = Payment.objects.all() if payments is None else payments
    return payments.select_related("invoice", "organization", "payer").prefetch_related(
        "refunds",
        Prefetch("allocations", queryset=PaymentAllocation.objects.select_related("invoice")),
        # Which payments the autopay job made (`initiated_by`): the attempts' ids derive their keys.
        Prefetch("invoice__autopay_attempts", queryset=Attempt.objects.only("id", "invoice_id")),
    )


# --- Cursor over (updated_at, id) ----------------------------------------------------------------


def encode_cursor(updated_at: datetime.datetime, pk: int) -> str:
    raw = json.dumps([updated_at.isoformat(), pk], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime.datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        stamp, pk = json.loads(raw)
        updated_at = datetime.datetime.fromisoformat(stamp)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        raise InvalidCursor("This is not a cursor Remit gave out.") from None
    if updated_at.tzinfo is None or type(pk) is not int or pk < 0:
        raise InvalidCursor("This is not a cursor Remit gave out.")
    return updated_at, pk


def payment_feed(
    *, cursor: str | None, limit: int, now: datetime.datetime | None = None
) -> tuple[list[Payment], str | None, bool]:
    """Payments changed after `cursor`, oldest change first: (page, next cursor, more to come).
    The next cursor is the last item's position, or the given cursor when nothing changed since."""
    now = now or timezone.now()
    lag = getattr(settings, "API_PAYMENT_FEED_LAG_SECONDS", DEFAULT_FEED_LAG_SECONDS)
    payments = (
        payments_represented()
        .filter(updated_at__lte=now - datetime.timedelta(seconds=lag))
        .order_by("updated_at", "id")
    )
    if cursor:
        updated_at, pk = decode_cursor(cursor)
        payments = payments.filter(
            Q(updated_at__gt=updated_at) | Q(updated_at=updated_at, id__gt=pk)
        )
    page = list(payments[: limit + 1])
    has_more = len(page) > limit
    page = page[:limit]
    next_cursor = encode_cursor(page[-1].updated_at, page[-1].pk) if page else cursor
    return page, next_cursor, has_more


# --- Representations -----------------------------------------------------------------------------


def organization_data(organization: Organization) -> dict[str, Any]:
    return {
        "external_id": organization.external_id,
        "name": organization.name,
        "billing_email": organization.billing_email,
        "is_active": organization.is_active,
        "created_at": organization.created_at,
    }


def user_data(user: User) -> dict[str, Any]:
    return {
        "external_id": user.external_id,
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "organization": user.organization.external_id if user.organization else None,
        "security_level": user.security_level.name if user.security_level else "",
        "is_active": user.is_active,
        "date_joined": user.date_joined,
    }


def invoice_with_flags(number: str) -> Invoice:
    return (
        Invoice.objects.select_related("organization")
        .prefetch_related("lines")
        .annotate(
            payment_pending=Exists(
                Payment.objects.filter(invoice=OuterRef("pk"), state__in=IN_FLIGHT_STATES)
            )
        )
        .get(number=number)
    )


def invoice_data(invoice: Invoice) -> dict[str, Any]:
    return {
        "number": invoice.number,
        "organization": invoice.organization.external_id,
        "state": invoice.state,
        "status": str(invoice.status.value),
        "invoice_date": invoice.invoice_date,
        "due_date": invoice.due_date,
        "terms": invoice.terms,
        "currency": invoice.currency,
        "lines": [
            {
                "description": line.description,
                "quantity": line.quantity,
                "unit_price": line.unit_price,
                "amount": line.amount,
            }
            for line in invoice.lines.all()
        ],
        "subtotal": invoice.subtotal,
        "tax": invoice.tax,
        "total": invoice.total,
        "amount_paid": invoice.amount_paid,
        "amount_due": invoice.balance,
        "memo": invoice.memo,
        "void_reason": invoice.void_reason,
        "created_at": invoice.created_at,
        "updated_at": invoice.updated_at,
    }


def _invoice_numbers(payment: Payment) -> dict[int, str]:
    return {
        allocation.invoice_id: allocation.invoice.number for allocation in _allocations(payment)
    }


def _allocations(payment: Payment) -> list[PaymentAllocation]:
    return list(payment.allocations.all())  # prefetched by payments_represented


def refund_invoices(refund: Refund, payment: Payment) -> list[dict[str, Any]]:
    """Which invoices a refund or void reduces, by how much (chosen when it was requested)."""
    if not refund.allocation:  # recorded before payments of several invoices: the one invoice
        return [{"invoice_number": payment.invoice.number, "amount": refund.amount}]
    numbers = _invoice_numbers(payment)
    return [
        {"invoice_number": numbers[int(invoice_id)], "amount": Decimal(amount)}
        for invoice_id, amount in sorted(refund.allocation.items(), key=lambda i: int(i[0]))
    ]


def refund_data(refund: Refund, payment: Payment) -> dict[str, Any]:
    return {
        "id": refund.order_id,
        "payment_id": payment.public_id,
        "kind": refund.kind,
        "state": refund.state,
        "amount": refund.amount,
        "adjustment": refund.adjustment,
        "reason": refund.reason,
        "requested_via": refund.requested_via,
        "transaction_id": refund.transaction_id,
        "created_at": refund.created_at,
        "completed_at": refund.completed_at,
        "invoices": refund_invoices(refund, payment),
    }


def payment_data(payment: Payment) -> dict[str, Any]:
    """Masked: the method is its label ("Visa •••• 1111"), never more. Read it from
    `payments_represented()`, which fetches its refunds and allocations once for a whole page."""
    from remit.autopay.charge import charged_by_autopay

    payer = payment.payer
    return {
        "id": payment.public_id,
        "order_id": payment.order_id,
        "invoice_number": payment.invoice.number,
        "organization_external_id": payment.organization.external_id,
        "payer": {"email": payer.email, "external_id": payer.external_id} if payer else None,
        "state": payment.state,
        "sale_amount": payment.amount,
        "surcharge_amount": payment.surcharge_amount,
        "discount_amount": payment.discount_amount,
        "charged_amount": payment.charged_amount,
        "applied_amount": payment.applied_amount,
        "refunded_amount": payment.refunded_amount,
        "currency": payment.currency,
        "method": {"kind": payment.method_kind, "label": payment.method_label},
        "transaction_id": payment.transaction_id,
        "return_code": payment.return_code,
        "initiated_by": "autopay" if charged_by_autopay(payment) else "payer",
        "created_at": payment.created_at,
        "updated_at": payment.updated_at,
        "completed_at": payment.completed_at,
        "settled_at": payment.settled_at,
        "returned_at": payment.returned_at,
        "refunds": [refund_data(refund, payment) for refund in payment.refunds.all()],
        "allocations": [
            {
                "invoice_number": allocation.invoice.number,
                "amount": allocation.amount,
                "applied_amount": allocation.applied_amount,
                "refunded_amount": allocation.refunded_amount,
            }
            for allocation in _allocations(payment)
        ],
    }
