"""The aging report per organization: buckets and total as of a date (default today), sortable,
several currencies in rows of their own, each amount linking to its invoices, and the same figures
as CSV (a header row, plain decimals with two places)."""

import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils.html import escape

from remit.billing.models import Invoice
from tests.backoffice.conftest import listed
from tests.factories import OrganizationFactory, make_invoice

pytestmark = pytest.mark.django_db

URL = "/backoffice/reports/aging/"


def names(page) -> list[tuple[str, str]]:
    return [(row["organization__name"], row["currency"]) for row in page.context["rows"]]


def test_every_organization_with_its_buckets_largest_total_first(as_staff, open_invoices):
    page = as_staff.get(URL)
    assert page.status_code == 200
    assert page.context["as_of"] == datetime.date(2026, 6, 15)
    assert names(page) == [
        ("Contoso Ltd", "USD"),
        ("Northwind Traders", "USD"),
        ("Contoso Ltd", "CAD"),  # not added to Contoso's dollars
    ]
    contoso, northwind, cad = page.context["rows"]
    assert [contoso[k] for k in ("current", "d1_30", "d31_60", "d61_90", "d90", "total")] == [
        0,
        0,
        Decimal("300.00"),
        0,
        Decimal("500.00"),
        Decimal("800.00"),
    ]
    assert (northwind["current"], northwind["d1_30"], northwind["total"]) == (
        Decimal("100.00"),
        Decimal("150.00"),
        Decimal("250.00"),
    )
    assert cad["d61_90"] == Decimal("42.00")
    assert "$800.00" in page.text
    assert "$250.00" in page.text

    # Each amount opens the organization's invoices in that bucket.
    northwind_d1_30 = northwind["cells"][1][1]
    assert f'href="{escape(northwind_d1_30)}"' in page.text
    assert listed(as_staff, northwind_d1_30) == {open_invoices["d1_30"].pk}
    assert listed(as_staff, contoso["total_url"]) == {
        open_invoices["d31_60"].pk,
        open_invoices["d90"].pk,
    }
    assert listed(as_staff, cad["total_url"]) == {open_invoices["cad"].pk}


def test_sorted_by_any_column(as_staff, open_invoices):
    by_name = as_staff.get(URL, {"sort": "organization"})
    assert names(by_name) == [
        ("Contoso Ltd", "CAD"),
        ("Contoso Ltd", "USD"),
        ("Northwind Traders", "USD"),
    ]
    assert names(as_staff.get(URL, {"sort": "-organization"}))[0] == ("Northwind Traders", "USD")
    assert names(as_staff.get(URL, {"sort": "-d61_90"}))[0] == ("Contoso Ltd", "CAD")
    assert names(as_staff.get(URL, {"sort": "-current"}))[0] == ("Northwind Traders", "USD")
    assert names(as_staff.get(URL, {"sort": "total"}))[0] == ("Contoso Ltd", "CAD")
    header = next(h for h in by_name.context["headers"] if h["key"] == "organization")
    assert header["aria_sort"] == "ascending"
    assert "sort=-organization" in header["url"]
    # Nonsense is the default order, not an error.
    assert names(as_staff.get(URL, {"sort": "password"}))[0] == ("Contoso Ltd", "USD")


def test_as_of_another_date(as_staff, open_invoices):
    page = as_staff.get(URL, {"as_of": "2026-07-20"})
    northwind = next(r for r in page.context["rows"] if r["organization__name"].startswith("N"))
    # Due June 20 is 30 days past due on July 20; due June 14, 36 days.
    assert (northwind["current"], northwind["d1_30"], northwind["d31_60"]) == (
        0,
        Decimal("100.00"),
        Decimal("150.00"),
    )
    url = northwind["cells"][1][1]
    assert "age_as_of=2026-07-20" in url
    assert listed(as_staff, url) == {open_invoices["current"].pk}
    bad = as_staff.get(URL, {"as_of": "2026-13-45"})
    assert bad.status_code == 200
    assert "Enter a valid date." in bad.text
    assert bad.context["as_of"] == datetime.date(2026, 6, 15)


def read_csv(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode("utf-8"))))


def test_the_csv_has_a_header_row_and_plain_decimals(as_staff, open_invoices):
    response = as_staff.get("/backoffice/reports/aging.csv", {"sort": "organization"})
    assert response["Content-Disposition"] == 'attachment; filename="aging-2026-06-15.csv"'
    rows = read_csv(response)
    assert rows[0] == [
        "Organization",
        "Currency",
        "Current",
        "1–30 days",
        "31–60 days",
        "61–90 days",
        "90+ days",
        "Total",
        "As of",
    ]
    assert rows[1:] == [
        ["Contoso Ltd", "CAD", "0.00", "0.00", "0.00", "42.00", "0.00", "42.00", "2026-06-15"],
        ["Contoso Ltd", "USD", "0.00", "0.00", "300.00", "0.00", "500.00", "800.00", "2026-06-15"],
        [
            "Northwind Traders",
            "USD",
            "100.00",
            "150.00",
            "0.00",
            "0.00",
            "0.00",
            "250.00",
            "2026-06-15",
        ],
    ]
    # The page's Download CSV link keeps the date and the order on screen.
    page = as_staff.get(URL, {"as_of": "2026-07-20", "sort": "total"})
    assert 'href="/backoffice/reports/aging.csv?as_of=2026-07-20&amp;sort=total"' in page.text
    later = read_csv(as_staff.get("/backoffice/reports/aging.csv?as_of=2026-07-20&sort=total"))
    assert later[1][0] == "Contoso Ltd"
    assert later[1][-1] == "2026-07-20"


def test_a_name_a_spreadsheet_would_run_stays_text(as_staff, on_june_15):
    make_invoice(OrganizationFactory(name="=HYPERLINK(1)"), total="5.00")
    rows = read_csv(as_staff.get("/backoffice/reports/aging.csv"))
    assert rows[1][0] == "'=HYPERLINK(1)"


def test_nothing_open_says_so(as_staff, on_june_15, northwind):
    make_invoice(northwind, total="5.00", paid="5.00")
    page = as_staff.get(URL)
    assert page.context["rows"] == []
    assert "Nothing is open on Jun 15, 2026." in page.text
    assert read_csv(as_staff.get("/backoffice/reports/aging.csv"))[1:] == []


def test_the_report_makes_the_same_queries_whatever_the_number_of_invoices(
    as_staff, on_june_15, northwind
):
    make_invoice(northwind, total="10.00")

    def count(url):
        with CaptureQueriesContext(connection) as captured:
            assert as_staff.get(url).status_code == 200
        return len(captured)

    count(URL)  # warm the caches every request reads (the provider row)
    few = count(URL), count(f"{URL[:-1]}.csv")
    for _ in range(8):
        org = OrganizationFactory()
        for days in (-3, 20, 100):
            make_invoice(
                org,
                total="7.00",
                invoice_date=datetime.date(2026, 1, 1),
                due_date=datetime.date(2026, 6, 15) - datetime.timedelta(days=days),
            )
    Invoice.objects.filter(organization=org).update(currency="EUR")
    assert (count(URL), count(f"{URL[:-1]}.csv")) == few
