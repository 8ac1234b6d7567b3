"""Reads of invoices for pages and reports. Each takes a queryset already limited by
`remit.billing.access.invoices_for`, so access is decided in one place."""

import datetime
from decimal import Decimal

from django.db.models import Count, DecimalField, Exists, OuterRef, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce

from remit.billing.models import Invoice
from remit.core.money import ZERO


def with_payment_pending(invoices: QuerySet[Invoice]) -> QuerySet[Invoice]:
    """Annotate `payment_pending`: money is in flight (an eCheck settling, a card being confirmed),
    so the invoice shows "Payment pending" and cannot be paid again meanwhile."""
    from remit.payments.models import PaymentAllocation

    # By allocation: a payment of several invoices holds each of them (services/state.py keeps
    # `in_flight` with the payment's state).
    in_flight = PaymentAllocation.objects.filter(invoice=OuterRef("pk"), in_flight=True)
    return invoices.annotate(payment_pending=Exists(in_flight))


def open_invoices(invoices: QuerySet[Invoice]) -> QuerySet[Invoice]:
    """Issued and not fully paid."""
    return invoices.filter(state=Invoice.State.ISSUED, amount_due__gt=0)


def invoice_list(
    invoices: QuerySet[Invoice],
    *,
    date_from: datetime.date | None = None,
    date_to: datetime.date | None = None,
    show_paid: bool = False,
    number: str = "",
    ordering: tuple[str, ...] = ("-invoice_date", "-id"),
) -> QuerySet[Invoice]:
    if number:  # a search by number looks at every invoice, paid or not
        return invoices.filter(number__icontains=number.strip()).order_by(*ordering)
    if not show_paid:
        invoices = open_invoices(invoices)
    if date_from:
        invoices = invoices.filter(invoice_date__gte=date_from)
    if date_to:
        invoices = invoices.filter(invoice_date__lte=date_to)
    return invoices.order_by(*ordering)


def recent_invoices(invoices: QuerySet[Invoice], limit: int = 5) -> list[Invoice]:
    return list(recent_queryset(invoices, limit))


def recent_queryset(invoices: QuerySet[Invoice], limit: int = 5) -> QuerySet[Invoice]:
    return invoices.only(*ROW_FIELDS).order_by("-invoice_date", "-id")[:limit]


# What a row of Home's or Reports > Invoices' table shows and sorts by (remit/portal/
# invoice_pages.py, keyset.py): the rest (the memo, four timestamps) is not read from the database.
ROW_FIELDS = (
    "id", "number", "state", "invoice_date", "due_date", "currency", "total", "amount_paid",
    "amount_due",
)  # fmt: skip


def balance_summary(invoices: QuerySet[Invoice], today: datetime.date) -> dict[str, Decimal | int]:
    """Total due, of which overdue, and how many invoices are open — one query."""
    return balance_query(invoices, today).get()


def balance_query(invoices: QuerySet[Invoice], today: datetime.date) -> QuerySet:
    """balance_summary as a one-row `.values()` QuerySet (no GROUP BY: a constant groups
    nothing), which remit/core/prepared.py can build once and re-run."""
    overdue = Q(due_date__lt=today)
    money = DecimalField(max_digits=14, decimal_places=2)
    return (
        open_invoices(invoices)
        .order_by()
        .values(_one=Value(1))
        .annotate(
            due=Coalesce(Sum("amount_due"), Value(ZERO), output_field=money),
            overdue=Coalesce(Sum("amount_due", filter=overdue), Value(ZERO), output_field=money),
            # Counted on due_date (never NULL) rather than id: every column read is in the
            # invoice_org_open index, so PostgreSQL answers from the index alone.
            open_count=Count("due_date"),
            overdue_count=Count("due_date", filter=overdue),
        )
        .values(*BALANCE_KEYS)
    )


BALANCE_KEYS = ("due", "overdue", "open_count", "overdue_count")
