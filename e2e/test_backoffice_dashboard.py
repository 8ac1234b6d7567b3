"""The back office's dashboard in a browser: its figures and charts render under the strict CSP
(no console error, the charts are server-rendered SVG), each figure opens the list behind it, and
the aging report sorts and downloads its CSV. Every page is checked with axe at desktop and phone
widths by the `page` fixture."""

import csv
import io
import re
from decimal import Decimal

from django.utils import timezone
from playwright.sync_api import expect

from e2e.test_backoffice import sign_in_staff
from remit.accounts.models import User
from remit.billing.models import Invoice
from remit.core.money import format_money
from tests.backoffice.conftest import make_payment


def some_payments():
    """The demo's Northwind pays NW-1001 by card today; an eCheck for NW-1002 is settling."""
    manager = User.objects.get(email="manager@northwind.example")
    card = make_payment(Invoice.objects.get(number="NW-1001"), manager, state="approved")
    make_payment(Invoice.objects.get(number="NW-1002"), manager, state="pending", kind="echeck")
    return card


def test_the_dashboard_and_its_charts_under_the_csp(page, demo_data, screenshot):
    card = some_payments()
    open_total = sum(
        (i.amount_due for i in Invoice.objects.filter(state="issued", amount_due__gt=0)),
        Decimal("0.00"),
    )
    sign_in_staff(page)
    month = timezone.localdate().strftime("%B")
    collected = page.get_by_role("link", name=re.compile(f"Collected in {month}"))
    expect(collected).to_contain_text(format_money(card.amount))
    expect(page.get_by_role("link", name=re.compile("eChecks waiting to settle"))).to_contain_text(
        "1"
    )
    charts = page.locator("svg.chart")
    expect(charts).to_have_count(2)
    for n in range(2):
        box = charts.nth(n).bounding_box()
        assert box["width"] > 200
        assert box["height"] > 100
    expect(page.get_by_role("img", name="Open amounts by days past due, USD")).to_be_visible()
    total = page.get_by_role("link", name=format_money(open_total), exact=True)
    expect(total).to_be_visible()
    screenshot("dashboard", full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot("dashboard-phone", full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})

    collected.click()
    expect(page).to_have_url(re.compile(r"/backoffice/payments/payment/\?.*status=collected"))
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    expect(page.locator("#result_list")).to_contain_text("NW-1001")
    page.go_back()

    total.click()
    expect(page).to_have_url(re.compile(r"/backoffice/billing/invoice/\?age=open"))
    open_count = Invoice.objects.filter(state="issued", amount_due__gt=0).count()
    expect(page.locator("#result_list tbody tr")).to_have_count(open_count)
    assert page.console_errors == []


def test_the_aging_report_sorts_and_downloads_csv(page, demo_data, screenshot):
    sign_in_staff(page)
    page.get_by_role("link", name="Aging", exact=True).click()
    expect(page.get_by_role("heading", name="Aging report")).to_be_visible()
    rows = page.locator(".aging-table tbody tr")
    expect(rows.first).to_be_visible()
    page.get_by_role("link", name="Organization", exact=True).click()
    expect(page.locator("th[aria-sort=ascending]")).to_have_text(re.compile("Organization"))
    names = rows.locator("th").all_inner_texts()
    assert names == sorted(names, key=str.lower)
    screenshot("aging-report")

    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    content = open(download.value.path(), encoding="utf-8").read()  # noqa: SIM115
    table = list(csv.reader(io.StringIO(content)))
    assert table[0][:2] == ["Organization", "Currency"]
    assert len(table) == 1 + rows.count()
    assert all(re.fullmatch(r"\d+\.\d\d", cell) for row in table[1:] for cell in row[2:8])

    first = rows.first.locator("td a").last  # the first organization's total
    first.click()
    expect(page).to_have_url(re.compile(r"/backoffice/billing/invoice/\?.*age=open"))
    expect(page.locator("#result_list tbody tr").first).to_be_visible()
