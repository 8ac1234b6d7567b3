"""The client pages' prepared reads (remit/billing/page_queries.py, built once per process and re-run
with new values) return exactly what the ORM queries they stand for return: Home's recent invoices
and balance, an invoice, its lines and payments, and Reports > Invoices' count and pages in every
order, with every filter, from page 1 and after or before any row."""

import datetime
from decimal import Decimal

import pytest
from django.http import Http404, QueryDict
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from remit.billing import page_queries, selectors
from remit.billing.access import get_invoice_for, invoices_for
from remit.billing.models import Invoice
from remit.portal import keyset
from remit.portal.forms import InvoiceFilterForm
from tests.backoffice.conftest import make_payment
from tests.factories import make_invoice

DATES = [datetime.date(2026, 1, 1) + datetime.timedelta(days=9 * n) for n in range(6)]
TOTALS = ["10.00", "25.00", "25.00", "80.00", "125.50"]
FIELDS = [f.attname for f in Invoice._meta.concrete_fields]


def allocate(payment, in_flight=True):
    from remit.payments.models import PaymentAllocation

    PaymentAllocation.objects.create(
        payment=payment, invoice=payment.invoice, amount=payment.amount, in_flight=in_flight
    )
    return payment


def same_rows(got, expected, fields=("pk", *selectors.ROW_FIELDS, "payment_pending")):
    assert [[getattr(i, f) for f in fields] for i in got] == [
        [getattr(i, f) for f in fields] for i in expected
    ]


@pytest.fixture
def many(northwind, contoso):
    """Invoices with ties in every sort key, some paid in full or in part, void, draft, one with a
    payment in flight; and Contoso's, which Northwind's pages never show."""
    for n in range(40):
        total = TOTALS[n % len(TOTALS)]
        state = {0: Invoice.State.VOID, 7: Invoice.State.DRAFT}.get(n % 13, Invoice.State.ISSUED)
        make_invoice(
            northwind,
            number=f"K-{n:03d}",
            total=total,
            paid={0: total, 1: "5.00"}.get(n % 4, "0.00"),
            invoice_date=DATES[n % len(DATES)],
            due_date=DATES[n % len(DATES)] + datetime.timedelta(days=15 + n % 3 * 15),
            state=state,
        )
    for n in range(5):
        make_invoice(contoso, number=f"C-{n:03d}", invoice_date=DATES[n])


@pytest.mark.django_db
def test_home_reads_are_the_orms(manager, many, northwind):
    allocate(make_payment(Invoice.objects.get(number="K-035"), manager, state="processing"))
    orm = invoices_for(manager)
    for today in (DATES[0], DATES[3], datetime.date(2030, 1, 1)):
        recent, summary = page_queries.home_reads(manager, today)
        same_rows(recent, selectors.recent_invoices(orm))
        assert any(i.payment_pending for i in recent)
        assert summary == selectors.balance_summary(orm, today)
        assert isinstance(summary["due"], Decimal)


@pytest.mark.django_db
def test_home_reads_of_an_organization_without_invoices(other_manager):
    recent, summary = page_queries.home_reads(other_manager, DATES[0])
    assert recent == []
    assert summary == {
        "due": Decimal("0.00"), "overdue": Decimal("0.00"), "open_count": 0, "overdue_count": 0,
    }  # fmt: skip


@pytest.mark.django_db
def test_an_invoice_its_lines_and_payments_are_the_orms(manager, invoice, northwind):
    payment = allocate(make_payment(invoice, manager), in_flight=False)
    allocate(make_payment(make_invoice(northwind), manager))  # another invoice's
    expected = get_invoice_for(manager, invoice.pk)
    same_rows(
        [page_queries.invoice_for(manager, invoice.pk)],
        [expected],
        fields=("pk", *FIELDS, "payment_pending"),
    )
    got, lines, payments = page_queries.invoice_page(manager, invoice.pk)  # one round trip
    same_rows([got], [expected], fields=("pk", *FIELDS, "payment_pending"))
    assert [(x.pk, x.description, x.amount) for x in lines] == [
        (x.pk, x.description, x.amount) for x in expected.lines.all()
    ]
    assert lines[0].invoice is got
    (paid,) = payments
    assert (paid.pk, paid.amount, paid.payer.email) == (payment.pk, payment.amount, manager.email)
    assert page_queries.invoice_page(manager, invoice.pk, payments=False)[2] == []


@pytest.mark.django_db
@pytest.mark.parametrize("pk", ["nope", None, 2**70, -1])
def test_no_invoice_is_a_404(manager, invoice, pk):
    with pytest.raises(Http404):
        page_queries.invoice_for(manager, pk)


@pytest.mark.django_db
def test_other_organizations_and_drafts_are_not_found(
    manager, plain_user, contoso_invoice, northwind
):
    draft = make_invoice(northwind, state=Invoice.State.DRAFT)
    for pk in (contoso_invoice.pk, draft.pk):
        with pytest.raises(Http404):
            page_queries.invoice_for(manager, pk)
    mine = make_invoice(northwind)
    with pytest.raises(Http404):  # a security level without "View invoices"
        page_queries.invoice_for(plain_user, mine.pk)
    with pytest.raises(Http404):
        page_queries.home_reads(plain_user, DATES[0])


def orm_reads(user, **filters):
    return keyset.QuerySetReads(selectors.invoice_list(invoices_for(user), **filters))


@pytest.mark.django_db
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    sort=st.sampled_from(sorted(InvoiceFilterForm.SORTS)),
    show_paid=st.booleans(),
    date_from=st.none() | st.sampled_from(DATES),
    date_to=st.none() | st.sampled_from(DATES),
    direction=st.sampled_from([None, "after", "before"]),
    at=st.integers(min_value=0, max_value=39),
    per_page=st.integers(min_value=2, max_value=9),
)
def test_list_reads_are_the_orms(
    monkeypatch, manager, many, sort, show_paid, date_from, date_to, direction, at, per_page
):
    monkeypatch.setattr(keyset, "PER_PAGE", per_page)
    filters = {"date_from": date_from, "date_to": date_to, "show_paid": show_paid}
    prepared, orm = page_queries.ListReads(manager, **filters), orm_reads(manager, **filters)
    assert prepared.bounded_count() == orm.bounded_count()
    ordering = InvoiceFilterForm.SORTS[sort]
    field = ordering[0].lstrip("-")
    cursor = None
    if direction:  # from any invoice of the organization, listed or not
        row = invoices_for(manager).order_by("pk")[at % invoices_for(manager).count()]
        cursor = (getattr(row, field), row.pk)
    same_rows(prepared.page(ordering, direction, cursor), orm.page(ordering, direction, cursor))
    count, rows = prepared.count_and_page(ordering, direction, cursor)  # one round trip
    assert count == orm.bounded_count()
    same_rows(rows, orm.page(ordering, direction, cursor))
    # The page a visitor gets (paginate reads both together) is the ORM's, links and all.
    query = QueryDict(mutable=True)
    if direction:
        query[direction] = keyset.cursor_of(row, field)
    got, expected = (
        keyset.paginate(reads, ordering, query)
        for reads in (page_queries.ListReads(manager, **filters), orm_reads(manager, **filters))
    )
    same_rows(got.rows, expected.rows)
    assert (got.count, got.number, got.previous_query, got.next_query) == (
        expected.count, expected.number, expected.previous_query, expected.next_query,
    )  # fmt: skip


@pytest.mark.django_db
def test_a_search_by_number_and_a_page_by_offset_go_through_the_orm(manager, many):
    ordering = InvoiceFilterForm.SORTS["-date"]
    prepared = page_queries.ListReads(manager, number="k-01")
    orm = orm_reads(manager, number="k-01")
    assert prepared.bounded_count() == orm.bounded_count() == 10
    same_rows(prepared.page(ordering, None), orm.page(ordering, None))
    prepared, orm = (
        page_queries.ListReads(manager, show_paid=True),
        orm_reads(manager, show_paid=True),
    )
    same_rows(prepared.page(ordering, None, start=5), orm.page(ordering, None, start=5))


def _plan(sql, params) -> str:
    """The plan PostgreSQL takes for a table autovacuum keeps (statistics, visibility map: the
    test VACUUMs first) when it may not read the whole table, as a test's few rows would have it."""
    from django.db import connection, transaction

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE billing_invoice")  # outside a transaction: the tests below
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.django_db(transaction=True)  # VACUUM runs outside a transaction
def test_homes_balance_and_the_open_invoices_count_read_one_index_alone(manager, many):
    """Home's balance and the default Reports > Invoices' count: an index-only range of the
    organization's open invoices (invoice_org_open), never each row from the table — each reads
    only columns that index holds (a COUNT(id) or a count by id would not)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's plans")
    today = datetime.date(2026, 3, 1)
    balance = selectors.balance_query(invoices_for(manager), today)
    assert "Index Only Scan using invoice_org_open" in _plan(*balance.query.sql_with_params())
    with CaptureQueriesContext(connection) as queries:
        count = page_queries.ListReads(manager).bounded_count()
    (sql,) = [q["sql"] for q in queries.captured_queries]
    assert "Index Only Scan using invoice_org_open" in _plan(sql, None)
    open_invoices = selectors.invoice_list(invoices_for(manager))
    assert count == open_invoices.count()
    assert page_queries.home_reads(manager, today)[1] == (
        selectors.balance_summary(invoices_for(manager), today)
    )


@pytest.mark.django_db(transaction=True)
def test_the_show_paid_count_reads_the_date_index_alone(manager, many):
    """Reports > Invoices with "Show paid": its bounded count of every invoice but the drafts, an
    index-only range of (organization, date, id, state), not each row from the table."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's plans")
    with CaptureQueriesContext(connection) as queries:
        count = page_queries.ListReads(manager, show_paid=True).bounded_count()
    (sql,) = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT COUNT")]
    assert "Index Only Scan using invoice_org_date_state" in _plan(sql, None)
    assert count == selectors.invoice_list(invoices_for(manager), show_paid=True).count() == 37
