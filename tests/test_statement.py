"""The statement of account: open items with original and open amounts, the period's payments,
the aging buckets as of a date, the PDF, a constant number of queries."""

import datetime
import zlib
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories import make_invoice

pytestmark = pytest.mark.django_db

AS_OF = datetime.date(2026, 6, 30)


def due_days_ago(org, days, total, number=None, paid="0.00"):
    due = AS_OF - datetime.timedelta(days=days)
    return make_invoice(
        org,
        total=total,
        paid=paid,
        number=number,
        invoice_date=due - datetime.timedelta(days=30),
        due_date=due,
    )


@pytest.fixture
def aged(northwind):
    return [
        due_days_ago(northwind, -5, "100.00", "NW-9001"),  # current
        due_days_ago(northwind, 0, "1.00", "NW-9002"),  # due today: current
        due_days_ago(northwind, 1, "200.00", "NW-9003", paid="50.00"),  # 1-30, partly paid
        due_days_ago(northwind, 45, "300.00", "NW-9004"),  # 31-60
        due_days_ago(northwind, 61, "400.00", "NW-9005"),  # 61-90
        due_days_ago(northwind, 91, "500.00", "NW-9006"),  # 90+
        due_days_ago(northwind, 91, "999.00", "NW-9007", paid="999.00"),  # paid: not open
    ]


def test_the_aging_buckets_as_of_a_date(as_manager, aged, contoso):
    due_days_ago(contoso, 100, "7777.00", "CT-9001")  # another organization's
    page = as_manager.get(reverse("statement"), {"as_of": AS_OF.isoformat()})
    buckets = [(b.key, b.amount) for b in page.context["buckets"]]
    assert buckets == [
        ("current", Decimal("101.00")),
        ("d1_30", Decimal("150.00")),
        ("d31_60", Decimal("300.00")),
        ("d61_90", Decimal("400.00")),
        ("d90", Decimal("500.00")),
    ]
    assert page.context["total_open"] == Decimal("1451.00")
    text = page.text
    assert "CT-9001" not in text
    assert "NW-9007" not in text
    assert "$200.00" in text  # the original amount of NW-9003
    assert "$150.00" in text  # and what is open on it
    assert "<svg" in text


def test_the_statement_pdf_opens_and_shows_the_figures(as_manager, aged):
    response = as_manager.get(reverse("statement_pdf"), {"as_of": AS_OF.isoformat()})
    assert response["Content-Type"] == "application/pdf"
    text = b""
    for chunk in response.content.split(b"stream\n")[1:]:
        raw = chunk.split(b"\nendstream")[0]
        try:
            text += zlib.decompress(raw)
        except zlib.error:
            text += raw
    for expected in [b"STATEMENT", b"NW-9003", b"$150.00", b"$1,451.00", b"$500.00", b"Northwind"]:
        assert expected in text, expected


def test_a_bad_period_is_refused_next_to_the_field(as_manager, aged):
    page = as_manager.get(reverse("statement"), {"start": "2026-07-01", "as_of": "2026-06-01"})
    assert page.status_code == 200
    assert "The start of the period must be on or before its end." in page.text


def test_the_statement_makes_the_same_queries_whatever_the_number_of_invoices(
    as_manager, northwind
):
    due_days_ago(northwind, 10, "10.00")
    as_manager.get(reverse("statement"))  # warm: the provider and permissions are then cached
    with CaptureQueriesContext(connection) as one:
        as_manager.get(reverse("statement"), {"as_of": AS_OF.isoformat()})
    for days in range(0, 120, 7):
        due_days_ago(northwind, days, "10.00")
    with CaptureQueriesContext(connection) as many:
        as_manager.get(reverse("statement"), {"as_of": AS_OF.isoformat()})
    assert len(many) == len(one)


def test_without_financial_access_there_is_no_statement(client, northwind):
    from tests.factories import user_of

    client.force_login(user_of(northwind, email="plain@northwind.example"))
    assert client.get(reverse("statement")).status_code == 404
    assert client.get(reverse("statement_pdf")).status_code == 404


def test_each_open_item_is_one_row_with_its_link_dates_and_amounts(as_manager, aged):
    page = as_manager.get(reverse("statement"), {"as_of": AS_OF.isoformat()})
    partly_paid = aged[2]
    assert (
        "<tr>"
        f'<td data-label="Invoice Number"><a href="/invoices/{partly_paid.pk}/">NW-9003</a></td>'
        '<td class="nowrap" data-label="Invoice Date">May 30, 2026</td>'
        '<td class="nowrap" data-label="Date Due">Jun 29, 2026</td>'
        '<td class="num" data-label="Original">$200.00</td>'
        '<td class="num" data-label="Open">$150.00</td>'
        "</tr>"
    ) in page.text
    rows = page.text.split('id="open-items"')[1].split("</table>")[0].count("<tr>")
    assert rows == 1 + 6  # the header and the six open invoices (the paid one is not listed)
