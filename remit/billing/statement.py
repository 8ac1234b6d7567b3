"""A statement of account for one organization, as of a date: the open items (original and open
amounts), the period's payments, and the aging buckets Current (not yet due), 1-30, 31-60, 61-90 and
90+ days past due. A fixed number of queries whatever the number of invoices: the buckets are one
aggregate; the lists are bounded."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import DecimalField, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce

from remit.billing.models import Invoice
from remit.billing.selectors import open_invoices
from remit.core.money import ZERO

BUCKETS = [
    ("current", "Current"),
    ("d1_30", "1–30 days"),
    ("d31_60", "31–60 days"),
    ("d61_90", "61–90 days"),
    ("d90", "90+ days"),
]
STATEMENT_ITEMS = 500  # open items listed; the totals count them all


def bucket_filters(as_of: datetime.date) -> dict[str, Q]:
    """Each bucket as a condition on `due_date`, as of a date (also the back office's list filter)."""
    day = datetime.timedelta(days=1)
    return {
        "current": Q(due_date__gte=as_of),
        "d1_30": Q(due_date__lt=as_of, due_date__gte=as_of - 30 * day),
        "d31_60": Q(due_date__lt=as_of - 30 * day, due_date__gte=as_of - 60 * day),
        "d61_90": Q(due_date__lt=as_of - 60 * day, due_date__gte=as_of - 90 * day),
        "d90": Q(due_date__lt=as_of - 90 * day),
    }


def bucket_sums(as_of: datetime.date) -> dict[str, Coalesce]:
    """The open amount of each bucket as aggregate expressions (`aggregate()` for one total,
    `values(...).annotate()` for one row a group): the whole aging in one query."""
    money = DecimalField(max_digits=14, decimal_places=2)
    return {
        key: Coalesce(Sum("amount_due", filter=q), Value(ZERO), output_field=money)
        for key, q in bucket_filters(as_of).items()
    }


@dataclass
class Bucket:
    key: str
    label: str
    amount: Decimal
    share: int  # percent of the largest bucket, for the bar chart
    index: int = 0

    # The bar chart's geometry (server-rendered SVG, 500 x 150): bars up to 100 high.
    @property
    def x(self) -> int:
        return 10 + self.index * 98

    @property
    def y(self) -> int:
        return 110 - self.share


def bars(amounts: list[tuple[str, str, Decimal]]) -> list[Bucket]:
    """(key, label, amount) as bars of the chart, each scaled to the largest."""
    largest = max((amount for _, _, amount in amounts), default=ZERO) or Decimal(1)
    return [
        Bucket(key, label, amount, int(amount * 100 / largest), i)
        for i, (key, label, amount) in enumerate(amounts)
    ]


def buckets_of(totals: dict) -> list[Bucket]:
    """The five buckets of one row of `bucket_sums`, scaled for the bar chart."""
    return bars([(key, label, totals[key]) for key, label in BUCKETS])


def aging(invoices: QuerySet[Invoice], as_of: datetime.date) -> list[Bucket]:
    """What is open, by how long past due — one query."""
    return buckets_of(open_invoices(invoices).aggregate(**bucket_sums(as_of)))


def statement(invoices: QuerySet[Invoice], payments, *, start: datetime.date, as_of: datetime.date):
    """Open items, the period's payments and the aging, for one organization's invoices."""
    items = list(
        open_invoices(invoices)
        .only("pk", "number", "invoice_date", "due_date", "total", "amount_due", "currency")
        .order_by("due_date", "pk")[:STATEMENT_ITEMS]
    )
    period = list(
        payments.filter(created_at__date__gte=start, created_at__date__lte=as_of)
        .order_by("-created_at", "-id")
        .prefetch_related("allocations__invoice")[:STATEMENT_ITEMS]
    )
    buckets = aging(invoices, as_of)
    return {
        "items": items,
        "payments": period,
        "buckets": buckets,
        "total_open": sum((b.amount for b in buckets), ZERO),
        "start": start,
        "as_of": as_of,
    }
