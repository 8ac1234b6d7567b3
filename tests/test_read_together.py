"""remit/core/read_together.py: a page's independent reads in one round trip, each coming back as
it would alone; and Prepared.records(), the rows a page only shows, without a model per row."""

import datetime

import pytest
from django.db import DataError, connection, transaction
from django.db.models import ExpressionWrapper, F, IntegerField, Value
from django.http import Http404
from django.test.utils import CaptureQueriesContext

from remit.billing import page_queries, selectors
from remit.billing.access import invoices_for, visible_invoices
from remit.billing.models import Invoice, InvoiceLine
from remit.core.prepared import Prepared, Slot
from remit.core.read_together import Read, read_together
from tests.factories import make_invoice
from tests.test_database_settings import _prepared_statements

pytestmark = pytest.mark.django_db

ORG = Slot(Invoice, "organization")
by_org = Prepared(
    lambda org: visible_invoices(org).only(*selectors.ROW_FIELDS).order_by("-id"), org=ORG
)
count_of = Prepared(lambda org: Invoice.objects.filter(organization_id=org).values("pk"), org=ORG)
lines_by_id = Prepared(
    lambda invoice: InvoiceLine.objects.filter(invoice_id=invoice).order_by("position"),
    on_server=True,
    invoice=Slot(Invoice, "id"),
)


# Fails on PostgreSQL for an organization with invoices: 1 / 0 in every row.
_zero = ExpressionWrapper(Value(1) / (F("id") - F("id")), output_field=IntegerField())
failing = Prepared(
    lambda org: Invoice.objects.filter(organization_id=org).annotate(x=_zero), org=ORG
)


@pytest.fixture
def invoices(northwind, contoso):
    made = [make_invoice(northwind, number=f"R-{n}", total=f"{10 + n}.00") for n in range(4)]
    make_invoice(contoso, number="C-1")
    return made


def test_each_read_comes_back_as_it_would_alone(northwind, invoices):
    org = northwind.pk
    records, rows, lines = read_together(
        Read(by_org, "records", org=org),
        Read(count_of, "rows", org=org),
        Read(lines_by_id, "instances", invoice=invoices[0].pk),
    )
    alone = by_org.instances(org=org)
    assert [(r.pk, r.number, r.total, r.payment_pending) for r in records] == [
        (i.pk, i.number, i.total, i.payment_pending) for i in alone
    ]
    assert rows == count_of.rows(org=org)
    assert [(x.pk, x.description) for x in lines] == [
        (x.pk, x.description) for x in lines_by_id.instances(invoice=invoices[0].pk)
    ]
    assert all(isinstance(x, InvoiceLine) for x in lines)
    assert lines


def test_on_postgresql_the_reads_are_one_round_trip():
    if connection.vendor != "postgresql":
        pytest.skip("pipeline mode is psycopg's")
    with CaptureQueriesContext(connection) as captured:
        read_together(Read(count_of, "rows", org=1), Read(lines_by_id, "instances", invoice=1))
    (logged,) = captured.captured_queries
    assert logged["sql"].count(";\n") == 1
    assert 'FROM "billing_invoice"' in logged["sql"]
    assert 'FROM "billing_invoiceline"' in logged["sql"]


def _messages_sent(tmp_path, run) -> list[str]:
    """The protocol messages libpq sent to PostgreSQL while `run()` ran (its trace, "F" lines)."""
    from psycopg import pq

    connection.ensure_connection()
    pgconn = connection.connection.pgconn
    trace = tmp_path / "libpq.trace"
    with trace.open("w") as out:
        pgconn.trace(out.fileno())
        pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS)
        try:
            run()
        finally:
            pgconn.untrace()
    return [
        line.split("\t")[2] for line in trace.read_text().splitlines() if line.startswith("F\t")
    ]


def test_the_reads_are_sent_before_one_sync_one_wait(tmp_path, northwind, invoices):
    if connection.vendor != "postgresql":
        pytest.skip("pipeline mode is psycopg's")
    org = northwind.pk
    sent = _messages_sent(
        tmp_path,
        lambda: read_together(
            Read(by_org, "records", org=org),
            Read(count_of, "rows", org=org),
            Read(lines_by_id, "instances", invoice=invoices[0].pk),
        ),
    )
    assert sent.count("Execute") == 3
    assert sent.count("Sync") == 1  # one round trip: every statement sent before it
    assert sent.index("Sync") > max(n for n, message in enumerate(sent) if message == "Execute")
    alone = _messages_sent(tmp_path, lambda: (by_org.records(org=org), count_of.rows(org=org)))
    assert alone.count("Sync") == 2  # what it saves: a round trip a read


def test_a_read_by_key_is_prepared_on_the_server_an_organizations_is_not(northwind, invoices):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's prepared statements")
    for _ in range(3):
        read_together(
            Read(by_org, "records", org=northwind.pk),
            Read(lines_by_id, "instances", invoice=invoices[0].pk),
        )
    prepared = _prepared_statements()
    assert any('FROM "billing_invoiceline"' in s and "$1" in s for s in prepared)
    assert not any('FROM "billing_invoice" ' in s for s in prepared)


def test_a_failing_read_raises_as_the_orm_does_and_the_connection_goes_on(northwind, invoices):
    if connection.vendor != "postgresql":
        pytest.skip("the pipeline's errors (SQLite divides by zero into NULL)")
    with pytest.raises(DataError), transaction.atomic():
        read_together(
            Read(count_of, "rows", org=northwind.pk), Read(failing, "rows", org=northwind.pk)
        )
    assert (
        read_together(Read(count_of, "rows", org=northwind.pk), Read(by_org, "records", org=0))[1]
        == []
    )


@pytest.mark.django_db(transaction=True)
def test_a_failing_read_outside_a_transaction_leaves_the_connection_usable(northwind, invoices):
    """As a page runs its reads (autocommit): the first statement fails, the others are aborted
    with it; the error is the ORM's, and the connection's next reads run."""
    if connection.vendor != "postgresql":
        pytest.skip("the pipeline's errors (SQLite divides by zero into NULL)")
    assert connection.get_autocommit()
    with pytest.raises(DataError):
        read_together(
            Read(failing, "rows", org=northwind.pk), Read(count_of, "rows", org=northwind.pk)
        )
    records, rows = read_together(
        Read(by_org, "records", org=northwind.pk), Read(count_of, "rows", org=northwind.pk)
    )
    assert len(records) == len(rows) == 4


def test_records_hold_the_selected_fields_and_annotations_and_are_read_only(northwind, invoices):
    (first, *_) = by_org.records(org=northwind.pk)
    assert first.pk == first.id == invoices[-1].pk
    assert (first.number, first.currency, first.payment_pending) == ("R-3", "USD", False)
    with pytest.raises(AttributeError):
        first.number = "changed"
    assert not hasattr(first, "memo")  # not selected: not read, not there
    with_payer = Prepared(
        lambda org: Invoice.objects.filter(organization_id=org).select_related("organization"),
        org=ORG,
    )
    with pytest.raises(TypeError):
        with_payer.records(org=northwind.pk)


def test_home_and_the_invoice_page_read_what_their_reads_alone_would(manager, invoices, northwind):
    today = datetime.date(2026, 3, 1)
    recent, summary = page_queries.home_reads(manager, today)
    assert [r.pk for r in recent] == [
        r.pk for r in selectors.recent_invoices(invoices_for(manager))
    ]
    assert summary == selectors.balance_summary(invoices_for(manager), today)
    invoice, lines, payments = page_queries.invoice_page(manager, invoices[0].pk)
    assert invoice.pk == invoices[0].pk
    assert payments == []
    assert [x.pk for x in lines] == [x.pk for x in invoices[0].lines.all()]
    assert all(line.invoice is invoice for line in lines)
    assert page_queries.invoice_page(manager, invoices[0].pk, payments=False)[2] == []


def test_another_organizations_invoice_is_a_404_and_its_lines_go_nowhere(manager, contoso):
    theirs = make_invoice(contoso, number="C-2")
    for pk in (theirs.pk, "nope", 2**70):
        with pytest.raises(Http404):
            page_queries.invoice_page(manager, pk)


def test_behind_pgbouncer_client_side_binding_reads_together_too(northwind, invoices, monkeypatch):
    """PGBOUNCER=1 (remit/settings.py): psycopg's client-binding cursors, statements not prepared,
    and Django's query log written from the cursor's own rendering of the SQL."""
    if connection.vendor != "postgresql":
        pytest.skip("psycopg's cursors")
    from psycopg import ClientCursor

    connection.ensure_connection()
    monkeypatch.setattr(connection.connection, "cursor_factory", ClientCursor)
    monkeypatch.setattr(connection.connection, "prepare_threshold", None)
    monkeypatch.setattr(connection.features, "uses_server_side_binding", False)
    with CaptureQueriesContext(connection) as captured:
        records, lines = read_together(
            Read(by_org, "records", org=northwind.pk),
            Read(lines_by_id, "instances", invoice=invoices[0].pk),
        )
    assert [r.number for r in records] == ["R-3", "R-2", "R-1", "R-0"]
    assert [x.pk for x in lines] == [x.pk for x in invoices[0].lines.all()]
    (logged,) = captured.captured_queries
    assert f'"organization_id" = {northwind.pk}' in logged["sql"]  # the values written in
    assert f'"invoice_id" = {invoices[0].pk}' in logged["sql"]
