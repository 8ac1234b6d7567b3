"""Reports > Invoices: newest first, filters, "Show paid", sorting, 50 a page."""

import datetime
import re

import pytest
from django.urls import reverse

from remit.billing.models import Invoice
from tests.factories import make_invoice

URL = reverse("invoice_list")


def numbers(response):
    return re.findall(r'href="/invoices/\d+/">([^<]+)</a>', response.text)


@pytest.fixture
def dated(northwind):
    d = datetime.date
    return {
        "old": make_invoice(northwind, number="A-1", invoice_date=d(2026, 1, 5), total="300.00"),
        "mid": make_invoice(northwind, number="A-2", invoice_date=d(2026, 2, 5), total="100.00"),
        "new": make_invoice(northwind, number="A-3", invoice_date=d(2026, 3, 5), total="200.00"),
        "paid": make_invoice(
            northwind, number="A-4", invoice_date=d(2026, 2, 20), total="50.00", paid="50.00"
        ),
        "void": make_invoice(
            northwind, number="A-5", invoice_date=d(2026, 2, 21), state=Invoice.State.VOID
        ),
    }


@pytest.mark.django_db
class TestInvoiceList:
    def test_newest_first_and_paid_hidden(self, as_manager, dated):
        response = as_manager.get(URL)
        assert numbers(response) == ["A-3", "A-2", "A-1"]
        for column in [
            "Invoice Number",
            "Invoice Date",
            "Due Date",
            "Total",
            "Amount Due",
            "Status",
        ]:
            assert column in response.text

    def test_show_paid_includes_paid_and_void(self, as_manager, dated):
        response = as_manager.get(URL, {"show_paid": "on"})
        assert numbers(response) == ["A-3", "A-5", "A-4", "A-2", "A-1"]

    def test_date_range(self, as_manager, dated):
        response = as_manager.get(URL, {"date_from": "2026-02-01", "date_to": "2026-02-28"})
        assert numbers(response) == ["A-2"]

    def test_reversed_date_range_says_so_next_to_the_field(self, as_manager, dated):
        response = as_manager.get(URL, {"date_from": "2026-03-01", "date_to": "2026-01-01"})
        assert response.status_code == 200
        assert 'id="id_date_to_error"' in response.text
        assert "on or after the start date" in response.text
        assert 'value="2026-03-01"' in response.text  # what was typed stays

    def test_bad_date_is_reported_not_500(self, as_manager, dated):
        response = as_manager.get(URL, {"date_from": "yesterday-ish"})
        assert response.status_code == 200
        assert 'id="id_date_from_error"' in response.text

    def test_sort_by_amount_both_ways(self, as_manager, dated):
        assert numbers(as_manager.get(URL, {"sort": "amount"})) == ["A-2", "A-3", "A-1"]
        assert numbers(as_manager.get(URL, {"sort": "-amount"})) == ["A-1", "A-3", "A-2"]

    def test_sort_by_date_ascending(self, as_manager, dated):
        assert numbers(as_manager.get(URL, {"sort": "date"})) == ["A-1", "A-2", "A-3"]

    def test_unknown_sort_falls_back_to_newest_first(self, as_manager, dated):
        response = as_manager.get(URL, {"sort": "password"})
        assert response.status_code == 200
        assert numbers(response) == ["A-3", "A-2", "A-1"]

    def test_fifty_a_page(self, as_manager, northwind):
        for n in range(51):
            make_invoice(northwind, number=f"P-{n:03d}", invoice_date=datetime.date(2026, 1, 1))
        first = as_manager.get(URL)
        assert len(numbers(first)) == 50
        assert "Page 1 of 2" in first.text
        second = as_manager.get(URL, {"page": 2})
        assert len(numbers(second)) == 1
        assert as_manager.get(URL, {"page": "zzz"}).status_code == 200
        assert as_manager.get(URL, {"page": 99}).status_code == 200

    def test_pagination_keeps_filters(self, as_manager, northwind):
        for n in range(55):
            make_invoice(northwind, number=f"Q-{n:03d}", invoice_date=datetime.date(2026, 1, 1))
        response = as_manager.get(URL, {"sort": "amount", "show_paid": "on"})
        next_link = re.search(r'href="([^"]+)" rel="next"', response.text).group(1)
        assert "sort=amount" in next_link
        assert "show_paid=on" in next_link
        assert "page=2" in next_link


@pytest.mark.django_db
def test_search_by_invoice_number_finds_paid_ones_too(as_manager, northwind, contoso):
    make_invoice(northwind, number="NW-4242", total="10.00", paid="10.00")
    make_invoice(northwind, number="NW-1111", total="10.00")
    make_invoice(contoso, number="CT-4242", total="10.00")
    page = as_manager.get(reverse("invoice_list"), {"number": "4242"}).text
    assert "NW-4242" in page
    assert "NW-1111" not in page
    assert "CT-4242" not in page
