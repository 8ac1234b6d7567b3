"""Reports > Invoices pages by keyset: following Next (and Previous) shows exactly the rows that
OFFSET pagination would have shown on that page, in every order and with every filter; the count
turns into an estimate above a threshold."""

import datetime
import re

import pytest
from django.http import QueryDict
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from remit.billing import selectors
from remit.billing.access import invoices_for
from remit.billing.models import Invoice
from remit.portal import keyset
from remit.portal.forms import InvoiceFilterForm
from tests.factories import make_invoice

URL = reverse("invoice_list")
DATES = [datetime.date(2026, 1, 1) + datetime.timedelta(days=9 * n) for n in range(6)]
TOTALS = ["10.00", "25.00", "25.00", "80.00", "125.50"]


@pytest.fixture
def many(northwind):
    """63 invoices with many ties in every sort key (so that the id decides), some paid in full,
    some in part, some void."""
    for n in range(63):
        total = TOTALS[n % len(TOTALS)]
        paid = {0: total, 1: "5.00"}.get(n % 4, "0.00")
        make_invoice(
            northwind,
            number=f"K-{n:03d}",
            total=total,
            paid=paid,
            invoice_date=DATES[n % len(DATES)],
            due_date=DATES[n % len(DATES)] + datetime.timedelta(days=15 + n % 3 * 15),
            state=Invoice.State.VOID if n % 13 == 0 else Invoice.State.ISSUED,
        )


def link(response, rel):
    """The page's Next or Previous link (relative: `?page=2&after=…`)."""
    found = re.search(rf'href="([^"]+)" rel="{rel}"', response.text).group(1)
    return found.replace("&amp;", "&")


def next_page_link(client, organization, prefix: str, count: int) -> str:
    """`count` invoices of one date numbered `<prefix>-000`…; the first page's Next link."""
    for n in range(count):
        make_invoice(
            organization, number=f"{prefix}-{n:03d}", invoice_date=datetime.date(2026, 1, 1)
        )
    return URL + link(client.get(URL), "next")


def offset_page(invoices, ordering, number, per_page):
    rows = list(invoices.order_by(*ordering))
    return [invoice.pk for invoice in rows[(number - 1) * per_page : number * per_page]]


@pytest.mark.django_db
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    sort=st.sampled_from(sorted(InvoiceFilterForm.SORTS)),
    show_paid=st.booleans(),
    date_from=st.none() | st.sampled_from(DATES[:3]),
    per_page=st.integers(min_value=3, max_value=9),
)
def test_a_page_at_depth_is_the_page_offset_would_show(
    monkeypatch, manager, many, sort, show_paid, date_from, per_page
):
    monkeypatch.setattr(keyset, "PER_PAGE", per_page)
    ordering = InvoiceFilterForm.SORTS[sort]
    invoices = selectors.invoice_list(
        invoices_for(manager), show_paid=show_paid, date_from=date_from, ordering=ordering
    )
    expected_pages = -(-invoices.count() // per_page)
    params = {"sort": sort, **({"show_paid": "on"} if show_paid else {})}
    if date_from:
        params["date_from"] = date_from.isoformat()
    query = QueryDict(mutable=True)
    query.update(params)
    page = keyset.paginate(invoices, ordering, query)
    seen = []
    while True:  # forwards to the last page by Next
        assert [row.pk for row in page.rows] == offset_page(
            invoices, ordering, page.number, per_page
        )
        seen.append(page.number)
        if page.next_query is None:
            break
        page = keyset.paginate(invoices, ordering, QueryDict(page.next_query))
    assert seen == list(range(1, max(expected_pages, 1) + 1))
    while page.previous_query is not None:  # and back to the first by Previous
        page = keyset.paginate(invoices, ordering, QueryDict(page.previous_query))
        assert [row.pk for row in page.rows] == offset_page(
            invoices, ordering, page.number, per_page
        )
    assert page.number == 1


@pytest.mark.django_db
def test_next_links_stay_on_their_rows_when_invoices_are_added(as_manager, northwind):
    next_link = next_page_link(as_manager, northwind, "S", 55)
    assert "after=" in next_link
    before = re.findall(r'href="/invoices/\d+/">([^<]+)</a>', as_manager.get(next_link).text)
    for n in range(3):  # newer invoices push everything down by three on page 1
        make_invoice(northwind, number=f"N-{n}", invoice_date=datetime.date(2026, 2, 1))
    after = re.findall(r'href="/invoices/\d+/">([^<]+)</a>', as_manager.get(next_link).text)
    assert before == after == [f"S-{n:03d}" for n in range(4, -1, -1)]


@pytest.mark.django_db
def test_pay_selected_checkboxes_on_a_keyset_page(as_manager, northwind, gateway):
    second = as_manager.get(next_page_link(as_manager, northwind, "C", 52)).text
    boxes = re.findall(
        r'<input type="checkbox" name="invoice" value="(\d+)" form="pay-selected"', second
    )
    assert len(boxes) == 2
    assert 'id="pay-selected"' in second
    window = as_manager.get(reverse("pay_several"), {"invoice": boxes})
    assert window.status_code == 200
    assert "C-000" in window.text
    assert "C-001" in window.text


@pytest.mark.django_db
def test_above_the_threshold_the_count_is_an_estimate(as_manager, northwind, monkeypatch):
    for n in range(12):
        make_invoice(northwind, number=f"E-{n:03d}")
    monkeypatch.setattr(keyset, "EXACT_COUNT_UP_TO", 10)
    monkeypatch.setattr(keyset, "_estimate", lambda invoices: 123_456)
    page = as_manager.get(URL).text
    assert "about 120,000 invoices with an amount due" in page
    monkeypatch.setattr(keyset, "EXACT_COUNT_UP_TO", 5_000)
    assert "12 invoices with an amount due" in as_manager.get(URL).text


@pytest.mark.django_db
def test_a_cursor_that_is_not_one_shows_the_first_page(as_manager, northwind):
    make_invoice(northwind, number="Z-1", total="10.00")
    for bad in ["x", "2026-13-01_5", "NaN_3", "_", "12.5_notanid"]:
        for key in ("after", "before"):
            response = as_manager.get(URL, {key: bad, "sort": "-amount"})
            assert response.status_code == 200
            assert "Z-1" in response.text


@pytest.mark.django_db
def test_sorting_from_a_keyset_page_starts_at_the_first_page(as_manager, northwind):
    second = as_manager.get(next_page_link(as_manager, northwind, "O", 52)).text
    headers = re.findall(r'<th scope="col"[^>]*>\s*<a href="([^"]+)"', second)
    assert headers
    assert not [link for link in headers if "after=" in link or "before=" in link]
