"""The demo Manager finds, filters and downloads invoices; the demo User finds none."""

import re

from playwright.sync_api import expect

from e2e.conftest import sign_in


def test_manager_opens_an_invoice_from_recent_invoices(page, demo_data, screenshot):
    sign_in(page, "manager@northwind.example")
    card = page.get_by_role("region", name="Recent Invoices for Northwind Traders")
    expect(card).to_be_visible()
    screenshot("home")
    first = card.get_by_role("link", name=re.compile(r"^NW-\d+$")).first
    number = first.inner_text()
    first.click()
    expect(page.get_by_role("heading", name=re.compile(f"Invoice {number}"))).to_be_visible()
    for label in ["Invoice Date", "Date Due", "Amount Due"]:
        expect(page.get_by_text(label, exact=True).first).to_be_visible()
    expect(page.get_by_role("heading", name="Payment history")).to_be_visible()
    screenshot("invoice")


def test_manager_filters_reports_invoices(page, demo_data, screenshot):
    sign_in(page, "manager@northwind.example")
    page.get_by_text("Reports", exact=True).click()
    page.get_by_role("link", name="Invoices", exact=True).click()
    expect(page.get_by_role("heading", name="Invoices")).to_be_visible()
    rows = page.locator("tbody tr")
    unpaid = rows.count()
    assert unpaid > 0
    expect(page.locator("tbody")).not_to_contain_text("Paid")
    page.get_by_label("Show paid").check()
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("tbody")).to_contain_text("Paid")
    assert rows.count() == 12
    screenshot("show-paid")
    page.get_by_role("link", name="Amount Due").click()
    page.wait_for_url(re.compile(r"sort=-amount"))
    amounts = [
        float(text.replace("$", "").replace(",", ""))
        for text in page.locator("tbody tr td:nth-child(5)").all_inner_texts()
    ]
    assert amounts == sorted(amounts, reverse=True)
    page.get_by_label("Invoice date from").fill("2000-01-01")
    page.get_by_label("to", exact=True).fill("2000-12-31")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_text("No invoices match these filters.")).to_be_visible()
    screenshot("no-match")


def test_manager_downloads_the_pdf(page, demo_data, tmp_path):
    sign_in(page, "manager@northwind.example")
    page.goto("/reports/invoices/")
    page.locator("tbody a").first.click()
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download PDF").click()
    download = download_info.value
    assert re.fullmatch(r"invoice-NW-\d+\.pdf", download.suggested_filename)
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    assert target.read_bytes().startswith(b"%PDF-")


def test_user_without_permission_finds_no_invoices(page, demo_data, screenshot):
    sign_in(page, "user@northwind.example")
    expect(page.get_by_role("heading", name=re.compile("Welcome"))).to_be_visible()
    expect(page.get_by_text("Recent Invoices")).to_have_count(0)
    expect(page.get_by_text("Reports", exact=True)).to_have_count(0)
    screenshot("home")
    response = page.goto("/reports/invoices/")
    assert response.status == 404
    page.console_errors.clear()  # the browser logs the 404 we asked for


def test_manager_opens_payments_statement_and_pay_all_due(page, demo_data, gateway):
    """The client pages of several-invoice payments open for the Manager — and, like every page a
    browser test opens, pass the accessibility and phone-width checks (e2e/conftest.py)."""
    sign_in(page, "manager@northwind.example")
    page.goto("/payments/")
    expect(page.get_by_role("heading", name="Payments")).to_be_visible()
    page.goto("/reports/statement/")
    expect(page.get_by_role("heading", name=re.compile("Statement"))).to_be_visible()
    page.goto("/")
    page.get_by_role("link", name="Pay all due").click()
    expect(page.get_by_role("heading", name="Make a Payment")).to_be_visible()
    expect(page.get_by_text("NW-1001").first).to_be_visible()
