"""The seed, walked in a real browser with the seed's labels, against the sandbox gateway."""

import datetime
import re

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from e2e.conftest import sign_in
from remit.billing.models import Invoice

EXPIRY = f"12/{(datetime.date.today().year + 3) % 100:02d}"


@pytest.fixture
def paying(demo_data, gateway):
    """The demo data, with Remit pointed at a freshly reset sandbox gateway."""
    return gateway


def open_invoice(page, number):
    page.goto("/reports/invoices/?show_paid=on")
    page.get_by_role("link", name=number, exact=True).click()
    expect(page.get_by_role("heading", name=re.compile(f"Invoice {number}"))).to_be_visible()


def open_window(page):
    page.get_by_role("link", name="Process Payment").click()
    dialog = page.get_by_role("dialog", name="Make a Payment")
    expect(dialog).to_be_visible()
    return dialog


def fill_card(dialog, number="4111111111111111", cvv="123"):
    dialog.get_by_label("Credit Card Number").fill(number)
    dialog.get_by_label("Expiration").fill(EXPIRY)
    dialog.get_by_label("CVV").fill(cvv)
    dialog.get_by_label("First Name").fill("Nancy")
    dialog.get_by_label("Last Name").fill("Davolio")
    dialog.get_by_label("Street address").fill("507 20th Ave E")
    dialog.get_by_label("City").fill("Seattle")
    dialog.get_by_label("State").select_option("WA")
    dialog.get_by_label("ZIP code").fill("98122")


def process_and_confirm(dialog, expected_question):
    dialog.get_by_role("button", name="Process Payment").click()
    question = dialog.get_by_role("alertdialog")
    expect(question).to_contain_text(expected_question)
    dialog.get_by_role("button", name="Confirm payment").click()


def amount_due(number):
    invoice = Invoice.objects.get(number=number)
    return f"${invoice.total - invoice.amount_paid:,.2f}"


def test_new_card_saved_then_preselected_for_the_next_invoice(page, paying, screenshot):
    sign_in(page, "manager@northwind.example")
    card = page.get_by_role("region", name="Recent Invoices for Northwind Traders")
    card.get_by_role("link", name="NW-1001", exact=True).click()
    due = amount_due("NW-1001")
    dialog = open_window(page)
    for label in ["Invoice Date", "Amount Due", "Date Due"]:
        expect(dialog.get_by_text(label, exact=True)).to_be_visible()
    expect(dialog.get_by_role("link", name="Add Bank Information (eCheck)")).to_be_visible()
    fill_card(dialog)
    dialog.get_by_label("Save payment information").check()
    screenshot("card-form", full_page=False)
    process_and_confirm(dialog, f"Pay {due} to Harbor Point IT with Visa •••• 1111?")
    expect(dialog.get_by_text("Payment has been processed")).to_be_visible()
    screenshot("processed", full_page=False)
    dialog.get_by_role("link", name="Done").click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(page.locator(".page-head .badge")).to_have_text("Paid")
    expect(page.get_by_role("region", name="Payment history")).to_contain_text("Visa •••• 1111")

    open_invoice(page, "NW-1002")
    dialog = open_window(page)
    saved = dialog.get_by_role("radio", name=re.compile("Visa •••• 1111"))
    expect(saved).to_be_checked()
    expect(dialog.get_by_label("Credit Card Number")).to_have_count(0)
    screenshot("saved-method", full_page=False)
    process_and_confirm(dialog, "with Visa •••• 1111?")
    expect(dialog.get_by_text("Payment has been processed")).to_be_visible()
    page.reload()
    expect(page.locator(".page-head .badge")).to_have_text("Paid")


def test_echeck_is_pending_until_it_settles(page, paying, sandbox_gateway, screenshot):
    sign_in(page, "manager@northwind.example")
    open_invoice(page, "NW-1003")
    dialog = open_window(page)
    dialog.get_by_role("link", name="Add Bank Information (eCheck)").click()
    expect(dialog.get_by_role("heading", name="Add Bank Information (eCheck)")).to_be_visible()
    dialog.get_by_label("Business").check()
    dialog.get_by_label("Checking").check()
    dialog.get_by_label("Name on Account").fill("Northwind Traders")
    dialog.get_by_label("Account Number").fill("24413815")
    dialog.get_by_label("Routing Number").fill("490000018")
    dialog.get_by_label("First Name").fill("Nancy")
    dialog.get_by_label("Last Name").fill("Davolio")
    dialog.get_by_label("Company").fill("Northwind Traders")
    dialog.get_by_label("Street address").fill("1 Main St")
    dialog.get_by_label("City").fill("Seattle")
    dialog.get_by_label("State").select_option("WA")
    dialog.get_by_label("ZIP code").fill("98122")
    dialog.get_by_label(re.compile("I authorize Harbor Point IT to electronically debit")).check()
    screenshot("echeck-form", full_page=False)
    process_and_confirm(dialog, "with Checking account •••• 3815?")
    expect(dialog.get_by_text("Payment has been processed")).to_be_visible()
    expect(dialog).to_contain_text("Your eCheck is on its way")
    dialog.get_by_role("link", name="Done").click()
    expect(page.locator(".page-head .badge")).to_have_text("Payment pending")
    expect(page.get_by_role("link", name="Process Payment")).to_have_count(0)
    screenshot("pending")

    sandbox_gateway.settle()
    call_command("reconcile", stdout=open("/dev/null", "w"))  # noqa: SIM115
    page.reload()
    expect(page.locator(".page-head .badge")).to_have_text("Paid")


def test_declined_card_then_another_card(page, paying, screenshot):
    sign_in(page, "manager@northwind.example")
    open_invoice(page, "NW-1004")
    dialog = open_window(page)
    fill_card(dialog, number="4000000000000002")
    process_and_confirm(dialog, "with Visa •••• 0002?")
    error = dialog.get_by_role("alert")
    expect(error).to_contain_text("the card was declined for lack of funds, or the card or bank")
    expect(error).to_contain_text("Please contact your service provider")
    # Nothing is lost but the card number and CVV, which are never written back.
    expect(dialog.get_by_label("First Name")).to_have_value("Nancy")
    expect(dialog.get_by_label("Credit Card Number")).to_have_value("")
    expect(dialog.get_by_label("CVV")).to_have_value("")
    screenshot("declined", full_page=False)
    dialog.get_by_label("Credit Card Number").fill("5431111111111111")
    dialog.get_by_label("CVV").fill("321")
    process_and_confirm(dialog, "with Mastercard •••• 1111?")
    expect(dialog.get_by_text("Payment has been processed")).to_be_visible()


def test_without_javascript_the_window_is_a_page(browser, live_server, paying, gateway):
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    page = context.new_page()
    sign_in(page, "manager@northwind.example")
    open_invoice(page, "NW-1005")
    page.get_by_role("link", name="Process Payment").click()
    expect(page.get_by_role("heading", name="Make a Payment")).to_be_visible()
    fill_card(page)
    page.get_by_role("button", name="Process Payment").click()
    expect(page.get_by_role("alert")).to_contain_text("Please confirm the payment")
    fill_card(page)  # never written back, so typed again
    page.get_by_label(re.compile("Yes, pay")).check()
    page.get_by_role("button", name="Process Payment").click()
    expect(page.get_by_text("Payment has been processed")).to_be_visible()
    context.close()


def test_a_user_without_the_permission_never_sees_process_payment(page, paying):
    sign_in(page, "user@northwind.example")
    invoice = Invoice.objects.get(number="NW-1001")
    for url in [f"/invoices/{invoice.pk}/", f"/invoices/{invoice.pk}/pay/"]:
        response = page.goto(url)
        assert response.status == 404
        expect(page.get_by_text("Process Payment")).to_have_count(0)
    page.console_errors.clear()  # the 404s we asked for
