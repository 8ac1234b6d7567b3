"""Reports > Invoices' pages: keyset pagination.

Next and Previous carry the sort key of the last (first) row shown, `after=<value>_<id>`
(`before=…`), and the next page is the 50 rows after it in the page's order: one index range read
however deep (the indexes on (organization, key, id) in remit/billing/models.py), where OFFSET
reads and drops every row before the page. The links stay right when invoices are added or paid
meanwhile: no row is shown twice or skipped because another one moved. `page=N` alone (a typed or
old link) still works, by OFFSET; `page` in the keyset links only numbers the page.

The count is exact up to EXACT_COUNT_UP_TO invoices (a COUNT that stops there), and PostgreSQL's
estimate above it ("about 100,000 invoices"): an exact count reads every matching row.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from urllib.parse import urlencode

from django.db import connection
from django.db.models import F, QuerySet
from django.db.models.fields.tuple_lookups import TupleGreaterThan, TupleLessThan
from django.urls import reverse

from remit.billing.models import Invoice
from remit.billing.selectors import ROW_FIELDS

PER_PAGE = 50
EXACT_COUNT_UP_TO = 5_000


def _parse_value(field: str, text: str):
    if field in ("invoice_date", "due_date"):
        return datetime.date.fromisoformat(text)
    return Decimal(text)


def parse_cursor(field: str, text: str | None) -> tuple[object, int] | None:
    """`<value>_<id>` as (value, id), or None when absent or not one (the first page then)."""
    if not text:
        return None
    value, _, pk = text.rpartition("_")
    try:
        parsed = _parse_value(field, value)
        pk = int(pk)
    except (ValueError, InvalidOperation):
        return None
    if isinstance(parsed, Decimal) and not parsed.is_finite():
        return None
    return parsed, pk


def cursor_of(invoice: Invoice, field: str) -> str:
    value = getattr(invoice, field)
    return f"{value.isoformat() if isinstance(value, datetime.date) else value}_{invoice.pk}"


def beyond(field: str, descending: bool, value, pk: int):
    """The rows after (value, pk) in the order `field, id` (both descending or both ascending):
    the row comparison `(field, id) < (value, pk)`, which PostgreSQL reads as one range of the
    (organization, field, id) index — however many invoices share `value` (most have an amount
    due of 0.00). Django's own tuple lookups (those of composite primary keys) write it, and
    spell it out with AND/OR on SQLite."""
    lookup = TupleLessThan if descending else TupleGreaterThan
    return lookup((F(field), F("pk")), (value, pk))


@dataclass
class InvoicePage:
    rows: list  # Invoice instances, or page_queries' records (Prepared.records)
    number: int
    count: int
    count_is_estimate: bool
    previous_query: str | None
    next_query: str | None

    @property
    def num_pages(self) -> int:
        pages = max(1, -(-self.count // PER_PAGE))
        return _two_figures(pages) if self.count_is_estimate else pages

    @property
    def shown_count(self) -> int:
        """The count as the page prints it: an estimate to two significant figures."""
        return _two_figures(self.count) if self.count_is_estimate else self.count


def _two_figures(n: int) -> int:
    return round(n, 2 - len(str(n))) if n >= 100 else n


def bounded_count_queryset(invoices: QuerySet[Invoice], open_only: bool = False) -> QuerySet:
    """The rows a bounded COUNT counts: at most EXACT_COUNT_UP_TO + 1 of them, taken in the order
    of the (organization, date, id) index. Unordered, PostgreSQL stops a sequential scan at the
    5,001st match, which costs 1.6 ms when a recent scan left off near the organization's rows
    (synchronized scans) and 280-470 ms when it starts from the table's other end: measured on
    a 100,000-invoice organization among 1.1 M invoices, 7 requests in 150 over 60 ms. Walking the
    index costs 1.6 ms every time (bench/README.md, "Client pages side by side").

    `open_only`: `invoices` are an organization's open invoices and nothing else filters them
    (the default list): counted from the (organization, due date) index of the open invoices
    alone, which holds every column the count reads — not each row from the table (8.8 ms for the
    4,400 open invoices of the 100,000-invoice organization, 1.3 ms from the index)."""
    if open_only:
        return invoices.order_by("due_date").values("due_date")[: EXACT_COUNT_UP_TO + 1]
    return invoices.order_by("-invoice_date", "-id").values("pk")[: EXACT_COUNT_UP_TO + 1]


def page_queryset(
    invoices: QuerySet[Invoice], ordering: tuple[str, str], direction: str | None, cursor=None
) -> QuerySet[Invoice]:
    """The rows of a page and one more, from the start of `invoices` in `ordering` (slice it for
    an OFFSET), or after (`direction="after"`) or before ("before") the `cursor` (value, id)."""
    descending = ordering[0].startswith("-")
    field = ordering[0].lstrip("-")
    invoices = invoices.only(*ROW_FIELDS)
    if direction == "after":
        return invoices.filter(beyond(field, descending, *cursor)).order_by(*ordering)[
            : PER_PAGE + 1
        ]
    if direction == "before":
        backwards = tuple(key[1:] if key.startswith("-") else f"-{key}" for key in ordering)
        return invoices.filter(beyond(field, not descending, *cursor)).order_by(*backwards)[
            : PER_PAGE + 1
        ]
    return invoices.order_by(*ordering)


class QuerySetReads:
    """A page's reads of any QuerySet, each query built by the ORM (page_queries.ListReads
    prepares the common ones once per process)."""

    def __init__(self, invoices: QuerySet[Invoice]):
        self.queryset = invoices

    def bounded_count(self) -> int:
        return bounded_count_queryset(self.queryset).count()

    def page(self, ordering, direction: str | None, cursor=None, start: int = 0) -> list:
        rows = page_queryset(self.queryset, ordering, direction, cursor)
        return list(rows if direction else rows[start : start + PER_PAGE + 1])


def _count(reads, bounded: int) -> tuple[int, bool]:
    """(count, is it an estimate): exact up to EXACT_COUNT_UP_TO (`bounded`, a COUNT that stops
    there), the planner's estimate above it."""
    if bounded <= EXACT_COUNT_UP_TO:
        return bounded, False
    invoices = reads.queryset
    estimate = _estimate(invoices)
    if estimate is None:  # SQLite: no estimate; an embedded deployment is small enough to count
        return invoices.count(), False
    return max(estimate, bounded), True


def _estimate(invoices: QuerySet[Invoice]) -> int | None:
    """PostgreSQL's estimate of the rows (EXPLAIN, nothing is read)."""
    if connection.vendor != "postgresql":
        return None
    sql, params = invoices.order_by().values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
        (plan,) = cursor.fetchone()
    if isinstance(plan, str):
        import json

        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


def _page_number(text: str | None) -> int:
    try:
        return max(1, int(text or 1))
    except ValueError:
        return 1


def paginate(invoices, ordering: tuple[str, str], params) -> InvoicePage:
    """The page `params` (the request's GET) asks for, of `invoices` (a QuerySet, or reads of
    one: QuerySetReads, page_queries.ListReads) in `ordering` — one of the form's SORTS:
    `("-field", "-id")` or `("field", "id")`."""
    reads = QuerySetReads(invoices) if isinstance(invoices, QuerySet) else invoices
    field = ordering[0].lstrip("-")
    number = _page_number(params.get("page"))
    after = parse_cursor(field, params.get("after"))
    before = None if after else parse_cursor(field, params.get("before"))
    direction, cursor = (
        ("after", after) if after else ("before", before) if before else (None, None)
    )
    count_and_page = getattr(reads, "count_and_page", None)  # one round trip (ListReads)
    if count_and_page is not None and (direction or number == 1):
        bounded, rows = count_and_page(ordering, direction, cursor)
    else:  # a page by number: the count clamps the number before the page is read
        bounded, rows = reads.bounded_count(), None
    count, estimate = _count(reads, bounded)
    if direction is None and not estimate:
        number = min(number, max(1, -(-count // PER_PAGE)))
    if rows is None:
        rows = reads.page(
            ordering, direction, cursor, start=0 if direction else (number - 1) * PER_PAGE
        )
    if direction == "after":
        has_previous, has_next = True, len(rows) > PER_PAGE
        rows = rows[:PER_PAGE]
    elif direction == "before":
        has_previous, has_next = len(rows) > PER_PAGE, True
        rows = rows[:PER_PAGE][::-1]
        number = number if has_previous else 1
    else:  # page 1, or a page by number (OFFSET)
        has_previous, has_next = number > 1, len(rows) > PER_PAGE
        rows = rows[:PER_PAGE]
    keep = {k: v for k, v in params.items() if k not in ("page", "after", "before")}

    def link(**changes) -> str:
        return urlencode({**keep, **changes})

    return InvoicePage(
        rows=rows,
        number=number,
        count=count,
        count_is_estimate=estimate,
        previous_query=link(page=number - 1, before=cursor_of(rows[0], field))
        if has_previous and rows
        else None,
        next_query=link(page=number + 1, after=cursor_of(rows[-1], field))
        if has_next and rows
        else None,
    )  # fmt: skip


def link_to_page(user, query: str, page: int) -> str:
    """The address of page `page` of Reports > Invoices with the filters in `query`, as following
    Next from page 1 would reach it (for bench/pages.py: one OFFSET query to find the cursor)."""
    from django.http import QueryDict

    from remit.billing import selectors
    from remit.billing.access import invoices_for
    from remit.portal.forms import InvoiceFilterForm

    params = QueryDict(query)
    form = InvoiceFilterForm(params)
    form.is_valid()
    ordering = form.ordering()
    rows = selectors.invoice_list(
        invoices_for(user), show_paid=bool(form.cleaned_data.get("show_paid")), ordering=ordering
    )
    if page <= 1:
        return f"{reverse('invoice_list')}?{query}"
    last_before = rows.order_by(*ordering)[(page - 1) * PER_PAGE - 1]
    cursor = cursor_of(last_before, ordering[0].lstrip("-"))
    return f"{reverse('invoice_list')}?{query}&{urlencode({'page': page, 'after': cursor})}"
