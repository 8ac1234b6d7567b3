"""remit/static/remit/payment-fields.js, our page's side of the hosted fields, in chromium against
the sandbox's Collect.js (another origin): how it binds the gateway's iframes to our labels, shows
their messages, tokenizes before confirming, and what it does when the gateway's script is missing."""

import re

import pytest
from playwright.sync_api import expect

from e2e.conftest import sign_in
from e2e.test_make_payment import CSP_WATCH, EXPIRY, fill_address, hosted, wait_for_hosted_fields
from remit.billing.models import Invoice


@pytest.fixture
def card_page(page, demo_data, gateway):
    page.add_init_script(CSP_WATCH)
    sign_in(page, "manager@northwind.example")
    invoice = Invoice.objects.get(number="NW-1001")
    page.goto(f"/invoices/{invoice.pk}/pay/?add=card")
    return page


def test_each_iframe_is_bound_to_our_label_help_and_message(card_page):
    page = card_page
    wait_for_hosted_fields(page)
    for name, label in [
        ("ccnumber", "Credit Card Number"),
        ("ccexp", "Expiration"),
        ("cvv", "CVV"),
    ]:
        frame = page.locator(f"#hosted-{name} iframe")
        expect(frame).to_have_attribute("title", label)
        expect(frame).to_have_attribute("aria-labelledby", f"label-{name}")
        expect(frame).to_have_attribute("aria-describedby", f"help-{name} error-{name}")
        expect(page.locator(f"#label-{name}")).to_have_text(label)
        # Inside the gateway's frame the input is named for screen readers too.
        expect(hosted(page, label)).to_have_attribute("aria-label", label)
    expect(page.get_by_role("heading", name="Add Credit Card")).to_be_visible()


def test_messages_appear_next_to_their_field_and_go_when_fixed(card_page):
    page = card_page
    wait_for_hosted_fields(page)
    hosted(page, "Credit Card Number").fill("4111111111111111")
    hosted(page, "Expiration").fill("13/40")
    hosted(page, "CVV").fill("1")
    fill_address(page)
    page.get_by_role("button", name="Process Payment").click()
    expect(page.locator("#error-ccexp")).to_have_text("Expiration date must be MM/YY")
    expect(page.locator("#error-cvv")).to_have_text("Security code must be 3 or 4 digits")
    expect(page.locator("[data-hosted-field='ccexp']")).to_have_class(re.compile("field--error"))
    expect(page.locator("#error-ccnumber")).to_be_hidden()
    expect(page.get_by_role("button", name="Process Payment")).to_be_enabled()  # can try again
    hosted(page, "Expiration").fill(EXPIRY)
    hosted(page, "CVV").fill("123")
    page.get_by_role("button", name="Process Payment").click()
    expect(page.get_by_role("alertdialog")).to_contain_text("with Visa •••• 1111?")
    expect(page.locator("#error-ccexp")).to_be_hidden()
    expect(page.locator("#error-cvv")).to_be_hidden()
    assert page.evaluate("window.__cspViolations") == []


def test_back_from_the_confirmation_forgets_the_token(card_page):
    page = card_page
    wait_for_hosted_fields(page)
    hosted(page, "Credit Card Number").fill("4111111111111111")
    hosted(page, "Expiration").fill(EXPIRY)
    hosted(page, "CVV").fill("123")
    fill_address(page)
    token = page.locator("[data-payment-token]")
    page.get_by_role("button", name="Process Payment").click()
    expect(page.get_by_role("alertdialog")).to_contain_text("Visa •••• 1111")
    first = token.input_value()
    assert first
    page.get_by_role("button", name="Back").click()
    expect(token).to_have_value("")
    hosted(page, "Credit Card Number").fill("5431111111111111")  # changed its mind
    page.get_by_role("button", name="Process Payment").click()
    expect(page.get_by_role("alertdialog")).to_contain_text("Mastercard •••• 1111")
    assert token.input_value() not in ("", first)


def test_without_the_gateways_script_the_page_says_so(page, demo_data, gateway, sandbox_gateway):
    page.route(re.compile(r".*/token/Collect\.js$"), lambda route: route.abort())
    sign_in(page, "manager@northwind.example")
    invoice = Invoice.objects.get(number="NW-1001")
    page.goto(f"/invoices/{invoice.pk}/pay/?add=card")
    expect(page.get_by_role("alert")).to_contain_text(
        "The secure payment fields could not be loaded"
    )
    expect(page.locator("iframe")).to_have_count(0)
    page.console_errors.clear()  # the blocked script, which we asked for
