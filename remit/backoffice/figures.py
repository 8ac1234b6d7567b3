"""The back office's dashboard figures: money collected this month and last, eChecks waiting to
settle, failed and returned payments of the last 7 days, and the aging of every organization's open
invoices — each with the address of the list behind it. A fixed number of queries whatever the
number of payments and invoices: one grouped aggregate for the payments, one for the aging. Amounts
are never added across currencies: each currency is a row of its own, the provider's first."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import urlencode

from django.db.models import Count, DecimalField, F, Q, Sum, Value
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from remit.billing.models import Invoice
from remit.billing.selectors import open_invoices
from remit.billing.statement import BUCKETS, Bucket, bars, bucket_sums, buckets_of
from remit.core.money import ZERO
from remit.payments.models import APPLIED_STATES, MethodKind, Payment, PaymentState

# What the dashboard counts as a failed payment: refused, or it never reached the processor.
UNSUCCESSFUL_STATES = (PaymentState.DECLINED, PaymentState.FAILED)
MONEY = DecimalField(max_digits=14, decimal_places=2)
RECENT_DAYS = 7


def _sum(expression, condition: Q):
    return Coalesce(Sum(expression, filter=condition), Value(ZERO), output_field=MONEY)


def link(name: str, **params) -> str:
    url = reverse(f"admin:{name}")
    query = urlencode({key: value for key, value in params.items() if value not in ("", None)})
    return f"{url}?{query}" if query else url


@dataclass
class Figure:
    label: str
    amount: Decimal
    url: str
    count: int | None = None
    warn: bool = False  # something went wrong: the tile is highlighted


@dataclass
class Period:
    """The days a figure covers, in the provider's time zone."""

    first: datetime.date
    last: datetime.date

    def start(self) -> datetime.datetime:
        zone = timezone.get_current_timezone()
        return datetime.datetime.combine(self.first, datetime.time.min, tzinfo=zone)

    def end(self) -> datetime.datetime:
        zone = timezone.get_current_timezone()
        after = self.last + datetime.timedelta(days=1)
        return datetime.datetime.combine(after, datetime.time.min, tzinfo=zone)

    def params(self, prefix: str) -> dict[str, str]:
        return {f"{prefix}_from": self.first.isoformat(), f"{prefix}_to": self.last.isoformat()}


def periods(today: datetime.date) -> dict[str, Period]:
    this_month = today.replace(day=1)
    last_day_before = this_month - datetime.timedelta(days=1)
    return {
        "this_month": Period(this_month, today),
        "last_month": Period(last_day_before.replace(day=1), last_day_before),
        "recent": Period(today - datetime.timedelta(days=RECENT_DAYS - 1), today),
    }


@dataclass
class CurrencyPayments:
    currency: str
    collected_this_month: Figure
    collected_last_month: Figure
    pending_echecks: Figure
    failed: Figure
    returned: Figure
    chart: list[Bucket] = field(default_factory=list)

    @property
    def collected(self) -> list[Figure]:
        return [self.collected_this_month, self.collected_last_month]

    @property
    def counted(self) -> list[Figure]:
        return [self.pending_echecks, self.failed, self.returned]


def payment_figures(today: datetime.date, provider_currency: str) -> list[CurrencyPayments]:
    """One row per currency that has any of the figures — one query."""
    p = periods(today)
    this_month = Q(created_at__gte=p["this_month"].start(), created_at__lt=p["this_month"].end())
    last_month = Q(created_at__gte=p["last_month"].start(), created_at__lt=p["last_month"].end())
    collected = Q(state__in=APPLIED_STATES)
    pending = Q(state=PaymentState.PENDING, method_kind=MethodKind.ECHECK)
    failed = Q(state__in=UNSUCCESSFUL_STATES, created_at__gte=p["recent"].start())
    returned = Q(state=PaymentState.RETURNED, returned_at__gte=p["recent"].start())
    net = F("amount") - F("refunded_amount")
    rows = (
        Payment.objects.filter(
            (collected & Q(created_at__gte=p["last_month"].start())) | pending | failed | returned
        )
        .values("currency")
        .annotate(
            collected_this_month=_sum(net, collected & this_month),
            collected_last_month=_sum(net, collected & last_month),
            pending_amount=_sum("amount", pending),
            pending_count=Count("id", filter=pending),
            failed_amount=_sum("amount", failed),
            failed_count=Count("id", filter=failed),
            returned_amount=_sum("amount", returned),
            returned_count=Count("id", filter=returned),
        )
        .order_by("currency")
    )
    rows = {row["currency"]: row for row in rows}
    rows.setdefault(provider_currency, {"currency": provider_currency})
    payments = "payments_payment_changelist"
    recent = p["recent"].params("created_at")
    result = []
    for currency in sorted(rows, key=lambda c: (c != provider_currency, c)):
        row = rows[currency]
        this, last = row.get("collected_this_month", ZERO), row.get("collected_last_month", ZERO)
        figures = CurrencyPayments(
            currency=currency,
            collected_this_month=Figure(
                f"Collected in {p['this_month'].first:%B}",
                this,
                link(payments, status="collected", **p["this_month"].params("created_at")),
            ),
            collected_last_month=Figure(
                f"Collected in {p['last_month'].first:%B}",
                last,
                link(payments, status="collected", **p["last_month"].params("created_at")),
            ),
            pending_echecks=Figure(
                "eChecks waiting to settle",
                row.get("pending_amount", ZERO),
                link(payments, status=PaymentState.PENDING.value, method=MethodKind.ECHECK.value),
                row.get("pending_count", 0),
            ),
            failed=Figure(
                f"Declined or failed, last {RECENT_DAYS} days",
                row.get("failed_amount", ZERO),
                link(payments, status="unsuccessful", **recent),
                row.get("failed_count", 0),
                warn=bool(row.get("failed_count")),
            ),
            returned=Figure(
                f"Returned eChecks, last {RECENT_DAYS} days",
                row.get("returned_amount", ZERO),
                link(
                    payments,
                    status=PaymentState.RETURNED.value,
                    **p["recent"].params("returned_at"),
                ),
                row.get("returned_count", 0),
                warn=bool(row.get("returned_count")),
            ),
        )
        figures.chart = bars(
            [
                ("last_month", f"{p['last_month'].first:%B}", last),
                ("this_month", f"{p['this_month'].first:%B}", this),
            ]
        )
        result.append(figures)
    return result


@dataclass
class CurrencyAging:
    currency: str
    buckets: list[Bucket]
    links: list[str]  # one a bucket, in the order of BUCKETS
    total: Figure

    @property
    def linked(self) -> list[tuple[Bucket, str]]:
        return list(zip(self.buckets, self.links, strict=True))


class InvoiceLinks:
    """Addresses of the back office's invoice list filtered by age, as of a date (said only when it
    is not today). The list's address is looked up once, not once a link."""

    def __init__(self, as_of: datetime.date):
        self.base = reverse("admin:billing_invoice_changelist")
        self.as_of = {"age_as_of": as_of.isoformat()} if as_of != timezone.localdate() else {}

    def __call__(self, **params) -> str:
        return f"{self.base}?{urlencode({**params, **self.as_of})}"


def aging_figures(as_of: datetime.date, provider_currency: str) -> list[CurrencyAging]:
    """What all organizations owe, by days past due, one row per currency — one query."""
    rows = open_invoices(Invoice.objects.all()).values("currency").annotate(**bucket_sums(as_of))
    rows = {row["currency"]: row for row in rows.order_by("currency")}
    rows.setdefault(provider_currency, {key: ZERO for key, _ in BUCKETS})
    several = len(rows) > 1
    invoices_link = InvoiceLinks(as_of)
    result = []
    for currency in sorted(rows, key=lambda c: (c != provider_currency, c)):
        scope = {"currency": currency} if several else {}
        buckets = buckets_of(rows[currency])
        result.append(
            CurrencyAging(
                currency=currency,
                buckets=buckets,
                links=[invoices_link(age=key, **scope) for key, _ in BUCKETS],
                total=Figure(
                    "Total open",
                    sum((b.amount for b in buckets), ZERO),
                    invoices_link(age="open", **scope),
                ),
            )
        )
    return result


def may_see_payments(user) -> bool:
    return user.has_perm("payments.view_payment")


def may_see_invoices(user) -> bool:
    return user.has_perm("billing.view_invoice")


def figures(request) -> dict:
    """The dashboard's figures this member of staff may see (payments and invoices each need
    their view permission)."""
    today = timezone.localdate()
    currency = request.provider.internal_currency
    return {
        "today": today,
        "payments": payment_figures(today, currency) if may_see_payments(request.user) else None,
        "aging": aging_figures(today, currency) if may_see_invoices(request.user) else None,
    }
