"""The client's pages run a fixed, small number of SQL queries: the same for 3 invoices as for 60,
the same for an invoice with 1 line as with 21. Counted with the per-request reads warm (the
provider row, the security level's permissions and the session come from the cache; the first
request after a change reads them once, see test_caches.py) — the user is the one query every
signed-in page pays."""

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


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (reverse("home"), 3),  # user, the five recent invoices, the balance
        (LIST, 3),  # user, the count, the page
        (LIST + "?show_paid=on&sort=-amount", 3),
        (LIST + "?date_from=2000-01-01&date_to=2100-01-01&page=2", 3),
    ],
)
def test_constant_queries(as_manager, northwind, url, expected):
    for _ in range(3):
        make_invoice(northwind)
    few = queries_for(as_manager, url)
    for n in range(57):
        make_invoice(northwind, paid="100.00" if n % 3 == 0 else "0.00")
    many = queries_for(as_manager, url)
    assert len(few) == len(many) == expected, many


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("invoice_detail", 4),  # user, the invoice, its lines, its payments
        ("invoice_pdf", 3),  # user, the invoice, its lines
    ],
)
def test_invoice_pages_do_not_grow_with_lines(as_manager, invoice, name, expected):
    url = reverse(name, args=[invoice.pk])
    few = queries_for(as_manager, url)
    for n in range(20):
        invoice.lines.create(description=f"Extra {n}", quantity=1, unit_price=0, amount=0)
    many = queries_for(as_manager, url)
    assert len(few) == len(many) == expected, many
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
