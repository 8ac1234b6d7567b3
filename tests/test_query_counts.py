"""The client's pages run a fixed, small number of SQL queries: the same for 3 invoices as for 60,
the same for an invoice with 1 line as with 21. Counted with the per-request reads warm (the
provider row, the security level's permissions and the session come from the cache; the first
request after a change reads them once, see test_caches.py) — the user is the one query every
signed-in page pays.

On PostgreSQL a page's independent reads go in one round trip (remit/core/read_together.py),
logged as one query, the statements joined; elsewhere one by one. Both are counted: statements,
and round trips."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from remit.accounts import permission_cache
from remit.core import provider_cache
from tests.factories import make_invoice


def queries_for(client, url):
    client.get(url)  # warm
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return [query["sql"] for query in captured.captured_queries]


LIST = reverse("invoice_list")


def statements(queries) -> int:
    """The SQL statements of the captured queries (a pipelined group is logged joined)."""
    return sum(len(sql.split(";\n")) for sql in queries)


def round_trips(pipelined: int, alone: int) -> int:
    return pipelined if connection.vendor == "postgresql" else alone


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("url", "expected", "trips"),
    [
        (reverse("home"), 3, 2),  # user; the five recent invoices and the balance together
        (LIST, 3, 2),  # user; the count and the page together
        (LIST + "?show_paid=on&sort=-amount", 3, 2),
        (LIST + "?after=2026-01-01_1", 3, 2),  # a page after a cursor: as the first page
        # A page by number: the count first (it clamps the number), then the page by OFFSET.
        (LIST + "?date_from=2000-01-01&date_to=2100-01-01&page=2", 3, 3),
    ],
)
def test_constant_queries(as_manager, northwind, url, expected, trips):
    for _ in range(3):
        make_invoice(northwind)
    few = queries_for(as_manager, url)
    for n in range(57):
        make_invoice(northwind, paid="100.00" if n % 3 == 0 else "0.00")
    many = queries_for(as_manager, url)
    assert statements(few) == statements(many) == expected, many
    assert len(few) == len(many) == round_trips(trips, expected), many


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "expected", "trips"),
    [
        ("invoice_detail", 4, 2),  # user; the invoice, its lines and its payments together
        ("invoice_pdf", 3, 2),  # user; the invoice and its lines together
    ],
)
def test_invoice_pages_do_not_grow_with_lines(as_manager, invoice, name, expected, trips):
    url = reverse(name, args=[invoice.pk])
    few = queries_for(as_manager, url)
    for n in range(20):
        invoice.lines.create(description=f"Extra {n}", quantity=1, unit_price=0, amount=0)
    many = queries_for(as_manager, url)
    assert statements(few) == statements(many) == expected, many
    assert len(few) == len(many) == round_trips(trips, expected), many
    # The organization printed on the page is the user's, already loaded: never read again.
    assert not [sql for sql in many if 'FROM "accounts_organization"' in sql]


@pytest.mark.django_db
def test_the_first_request_reads_what_the_cache_then_keeps(as_manager, manager, northwind):
    """Cold: the provider row and the permissions once each; warm: neither, nor the session."""
    make_invoice(northwind)
    as_manager.get(LIST)
    provider_cache.forget()
    permission_cache.forget([manager.security_level_id])
    with CaptureQueriesContext(connection) as cold:
        as_manager.get(LIST)
    with CaptureQueriesContext(connection) as warm:
        as_manager.get(LIST)
    cold_sql = " ".join(query["sql"] for query in cold.captured_queries)
    warm_sql = " ".join(query["sql"] for query in warm.captured_queries)
    assert '"core_provider"' in cold_sql
    assert '"accounts_portalpermission"' in cold_sql
    assert len(cold) == len(warm) + 2
    for table in ('"core_provider"', '"accounts_portalpermission"', '"django_session"'):
        assert table not in warm_sql
