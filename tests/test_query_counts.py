"""Home and Reports > Invoices run the same number of SQL queries for 3 invoices as for 60."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories import make_invoice


def queries_for(client, url):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured.captured_queries)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        reverse("home"),
        reverse("invoice_list"),
        reverse("invoice_list") + "?show_paid=on&sort=-amount",
        reverse("invoice_list") + "?date_from=2000-01-01&date_to=2100-01-01&page=2",
    ],
)
def test_constant_queries(as_manager, northwind, url):
    for _ in range(3):
        make_invoice(northwind)
    few = queries_for(as_manager, url)
    for n in range(57):
        make_invoice(northwind, paid="100.00" if n % 3 == 0 else "0.00")
    many = queries_for(as_manager, url)
    assert few == many
    assert many <= 10


@pytest.mark.django_db
def test_invoice_page_queries_do_not_grow_with_lines(as_manager, invoice):
    url = reverse("invoice_detail", args=[invoice.pk])
    few = queries_for(as_manager, url)
    for n in range(20):
        invoice.lines.create(description=f"Extra {n}", quantity=1, unit_price=0, amount=0)
    assert queries_for(as_manager, url) == few
