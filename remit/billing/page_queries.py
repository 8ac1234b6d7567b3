"""The client pages' fixed-shape reads — Home, an invoice, Reports > Invoices — built by the ORM once
per process and re-run with the request's values (remit/core/prepared.py).

Each is the QuerySet the selectors and access helpers build (the same functions build them), so
it returns what they return; tests/test_page_queries.py checks that against the ORM on random
data, filters and orders. Access is checked here as `invoices_for` checks it."""

from __future__ import annotations

import datetime

from django.http import Http404

from remit.billing import selectors
from remit.billing.access import check_can_view, visible_invoices
from remit.billing.models import Invoice, InvoiceLine
from remit.core.prepared import Prepared, Slot, bigint_or_none
from remit.core.read_together import Read, read_together
from remit.portal import keyset

ORG = Slot(Invoice, "organization")
DAY = Slot(Invoice, "due_date")

# An organization's invoices are planned for each organization (not prepared on the server: its
# size changes the best plan, core/prepared.py); an invoice, its lines and payments by id are.
_recent = Prepared(lambda org: selectors.recent_queryset(visible_invoices(org)), org=ORG)
_balance = Prepared(
    lambda org, today: selectors.balance_query(visible_invoices(org), today), org=ORG, today=DAY
)
_invoice = Prepared(
    lambda org, pk: visible_invoices(org).filter(pk=pk),
    one=True,
    on_server=True,  # by id: the same plan for every invoice (core/prepared.py)
    org=ORG,
    pk=Slot(Invoice, "id"),
)
_lines = Prepared(
    lambda invoice: InvoiceLine.objects.filter(invoice_id=invoice),
    on_server=True,
    invoice=Slot(Invoice, "id"),
)


def _payments_of(invoice):
    from remit.payments.models import Payment

    return (
        Payment.objects.filter(allocations__invoice=invoice)
        .select_related("payer")
        .order_by("-created_at")
    )


_payments = Prepared(_payments_of, on_server=True, invoice=Slot(Invoice, "id"))


def home_reads(user, today: datetime.date) -> tuple[list, dict]:
    """Home's reads in one round trip: (selectors.recent_invoices(invoices_for(user)) as records
    (Prepared.records), selectors.balance_summary(invoices_for(user), today))."""
    check_can_view(user)
    org = user.organization_id
    recent, (row,) = read_together(
        Read(_recent, "records", org=org), Read(_balance, "rows", org=org, today=today)
    )
    return recent, dict(zip(selectors.BALANCE_KEYS, row, strict=True))


def invoice_for(user, pk) -> Invoice:
    """access.get_invoice_for(user, pk)"""
    check_can_view(user)
    pk = bigint_or_none(pk)
    invoice = _invoice.first(org=user.organization_id, pk=pk) if pk is not None else None
    if invoice is None:
        raise Http404("No such invoice.")
    return invoice


def invoice_page(user, pk, payments: bool = True) -> tuple[Invoice, list[InvoiceLine], list]:
    """(invoice_for(user, pk), its lines, its payments — or [] without `payments`) in one round
    trip. The lines and payments are read by the id asked for, alongside the access check, and
    dropped when the invoice is not the user's: a 404 as invoice_for gives, nothing of theirs
    returned."""
    check_can_view(user)
    pk = bigint_or_none(pk)
    if pk is None:
        raise Http404("No such invoice.")
    reads = [
        Read(_invoice, "instances", org=user.organization_id, pk=pk),
        Read(_lines, "instances", invoice=pk),
    ]
    if payments:
        reads.append(Read(_payments, "instances", invoice=pk))
    found, lines, *paid = read_together(*reads)
    if not found:
        raise Http404("No such invoice.")
    (invoice,) = found
    for line in lines:
        line.invoice = invoice
    return invoice, lines, paid[0] if paid else []


# --- Reports > Invoices ---------------------------------------------------------------------------

_FILTER_SLOTS = {
    "date_from": Slot(Invoice, "invoice_date"),
    "date_to": Slot(Invoice, "invoice_date"),
}
_prepared: dict[tuple, Prepared] = {}


def _listed(org, show_paid: bool, **filters):
    return selectors.invoice_list(
        visible_invoices(org),
        date_from=filters.get("date_from"),
        date_to=filters.get("date_to"),
        show_paid=show_paid,
    )


class ListReads:
    """Reports > Invoices' reads (keyset.paginate's `reads`) for the usual filters: the bounded
    count and the first page or a page after or before a cursor, prepared once per shape (which
    filters are set, the order, the direction). A search by number and a page by OFFSET go
    through the ORM (keyset.QuerySetReads)."""

    def __init__(self, user, *, date_from=None, date_to=None, show_paid=False, number=""):
        check_can_view(user)
        self.organization_id = user.organization_id
        self.filters = {"date_from": date_from, "date_to": date_to}
        self.show_paid = show_paid
        self.number = number
        self._orm = None

    @property
    def queryset(self):
        return self._orm_reads().queryset

    def _orm_reads(self) -> keyset.QuerySetReads:
        if self._orm is None:
            invoices = selectors.invoice_list(
                visible_invoices(self.organization_id),
                **self.filters,
                show_paid=self.show_paid,
                number=self.number,
            )
            self._orm = keyset.QuerySetReads(invoices)
        return self._orm

    def _shape(self) -> tuple[str, ...]:
        return tuple(name for name, value in self.filters.items() if value)

    def _values(self) -> dict:
        return {"org": self.organization_id, **{n: v for n, v in self.filters.items() if v}}

    def _get(self, key: tuple, build, **slots) -> Prepared:
        prepared = _prepared.get(key)
        if prepared is None:
            prepared = _prepared[key] = build(
                **slots, org=ORG, **{name: _FILTER_SLOTS[name] for name in key[2]}
            )
        return prepared

    def bounded_count(self) -> int:
        if self.number:
            return self._orm_reads().bounded_count()
        ((count,),) = self._count_read().run()
        return count

    def page(self, ordering, direction: str | None, cursor=None, start: int = 0) -> list:
        """The page's invoices as records (Prepared.records), or the ORM's instances for a
        search by number or a page by OFFSET."""
        if self.number or (direction is None and start):
            return self._orm_reads().page(ordering, direction, cursor, start)
        return self._page_read(ordering, direction, cursor).run()

    def count_and_page(self, ordering, direction: str | None, cursor=None) -> tuple[int, list]:
        """(bounded_count(), page(ordering, direction, cursor)) in one round trip."""
        if self.number:
            return self.bounded_count(), self.page(ordering, direction, cursor)
        ((count,),), rows = read_together(
            self._count_read(), self._page_read(ordering, direction, cursor)
        )
        return count, rows

    def _count_read(self) -> Read:
        show_paid = self.show_paid
        open_only = not show_paid and not any(self.filters.values())

        def build(**slots):
            return Prepared(
                lambda org, **f: keyset.bounded_count_queryset(
                    _listed(org, show_paid, **f), open_only=open_only
                ),
                wrap="SELECT COUNT(*) FROM ({}) subquery",
                **slots,
            )

        key = ("count", show_paid, self._shape(), keyset.EXACT_COUNT_UP_TO)
        return Read(self._get(key, build), "rows", **self._values())

    def _page_read(self, ordering, direction: str | None, cursor) -> Read:
        show_paid, field = self.show_paid, ordering[0].lstrip("-")

        def build(**slots):
            def queryset(org, value=None, pk=None, **f):
                rows = keyset.page_queryset(
                    _listed(org, show_paid, **f), ordering, direction, (value, pk)
                )
                return rows if direction else rows[: keyset.PER_PAGE + 1]

            if direction:
                slots.update(value=Slot(Invoice, field), pk=Slot(Invoice, "id"))
            return Prepared(queryset, **slots)

        key = ("page", show_paid, self._shape(), tuple(ordering), direction, keyset.PER_PAGE)
        values = self._values()
        if direction:
            values.update(value=cursor[0], pk=cursor[1])
        return Read(self._get(key, build), "records", **values)
