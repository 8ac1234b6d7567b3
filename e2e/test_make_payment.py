"""The seed, walked in a real browser with the seed's labels, against the sandbox gateway. New cards
and bank accounts are typed into the sandbox's hosted fields: iframes of another origin (the
sandbox listens on its own port), exactly as with the real gateway's Collect.js."""

import datetime
import re

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from e2e.conftest import sign_in
from remit.billing.models import Invoice
from remit.payments.models import Payment, PaymentMethod

EXPIRY = f"12/{(datetime.date.today().year + 3) % 100:02d}"
# A payment with hosted fields is several round trips (iframes, token, sale, look-up): on a
# loaded machine that can pass Playwright's 5 s default for an expectation.
expect.set_options(timeout=15_000)
# Collects CSP violations from the first byte of every page (init scripts are not subject to CSP).
CSP_WATCH = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push(e.violatedDirective + " " + e.blockedURI);
});
"""


@pytest.fixture
def paying(demo_data, gateway, page):
    """The demo data, with Remit pointed at a freshly reset sandbox gateway, CSP watched."""
    page.add_init_script(CSP_WATCH)
    return gateway


def open_invoice(page, number):
    page.goto("/reports/invoices/?show_paid=on")
    page.get_by_role("link", name=number, exact=True).click()
    expect(page.get_by_role("heading", name=re.compile(f"Invoice {number}"))).to_be_visible()


def open_window(page):
    page.get_by_role("link", name="Process Payment").click()
    dialog = payment_window(page)
    expect(dialog).to_be_visible()
    return dialog


def payment_window(page):
    """The modal <dialog> (saved methods, over the invoice), or the page of its own (new card or
    bank account: the gateway's script and CSP)."""
    return page.get_by_role("dialog", name="Make a Payment").or_(
        page.get_by_role("region", name="Make a Payment")
    )


def hosted(page, title):
    """The input inside the gateway's iframe that our label `title` is bound to."""
    expect(page.locator(f"iframe[title='{title}']")).to_have_count(1)
    return page.frame_locator(f"iframe[title='{title}']").locator("input")


def wait_for_hosted_fields(page):
    expect(page.locator("form[data-hosted-ready]")).to_have_count(1)


def fill_address(dialog):
    dialog.get_by_label("First Name").fill("Nancy")
    dialog.get_by_label("Last Name").fill("Davolio")
    dialog.get_by_label("Street address").fill("507 20th Ave E")
    dialog.get_by_label("City").fill("Seattle")
    dialog.get_by_label("State").select_option("WA")
    dialog.get_by_label("ZIP code").fill("98122")


def fill_card(page, number="4111111111111111", cvv="123"):
    wait_for_hosted_fields(page)
    hosted(page, "Credit Card Number").fill(number)
    hosted(page, "Expiration").fill(EXPIRY)
    hosted(page, "CVV").fill(cvv)


def confirm_button(scope):
    return scope.get_by_role("button", name=re.compile(r"^Confirm: pay \$"))


def process_and_confirm(dialog, expected_question):
    dialog.get_by_role("button", name="Process Payment").click()
    question = dialog.get_by_role("alertdialog")
    expect(question).to_contain_text(expected_question)
    confirm_button(dialog).click()


def amount_due(number):
    invoice = Invoice.objects.get(number=number)
    return f"${invoice.total - invoice.amount_paid:,.2f}"


def assert_no_csp_violation(page):
    assert page.evaluate("window.__cspViolations") == []


def test_new_card_saved_then_preselected_for_the_next_invoice(page, paying, screenshot):
    sign_in(page, "manager@northwind.example")
    card = page.get_by_role("region", name="Recent Invoices for Northwind Traders")
    card.get_by_role("link", name="NW-1001", exact=True).click()
    due = amount_due("NW-1001")
    dialog = open_window(page)  # no saved method yet: the page with the gateway's fields
    for label in ["Invoice Date", "Amount Due", "Date Due"]:
        expect(dialog.get_by_text(label, exact=True)).to_be_visible()
    expect(dialog.get_by_role("link", name="Add Bank Information (eCheck)")).to_be_visible()
    # The seed's labels are ours; the inputs live in the gateway's origin.
    for label in ["Credit Card Number", "Expiration", "CVV"]:
        expect(dialog.get_by_text(label, exact=True)).to_be_visible()
        frame = page.locator(f"iframe[title='{label}']")
        expect(frame).to_have_attribute("src", re.compile(rf"^{re.escape(paying.base_url)}/token/"))
    expect(page.locator("input[name*=card_number], input[name=ccnumber]")).to_have_count(0)
    fill_card(page)
    fill_address(dialog)
    dialog.get_by_label("Save payment information").check()
    screenshot("card-form", full_page=False)
    process_and_confirm(dialog, f"Pay {due} to Harbor Point IT with Visa •••• 1111?")
    expect(page.get_by_text("Payment has been processed")).to_be_visible()
    assert_no_csp_violation(page)
    screenshot("processed", full_page=False)
    page.get_by_role("link", name="Done").click()
    expect(page.locator(".page-head .badge")).to_have_text("Paid")
    expect(page.get_by_role("region", name="Payment history")).to_contain_text("Visa •••• 1111")
    saved = PaymentMethod.objects.get()
    assert (saved.brand, saved.last4, saved.exp_year % 100) == ("Visa", "1111", int(EXPIRY[-2:]))
    assert saved.card_category == "credit"  # the gateway's BIN look-up, relayed by the page

    open_invoice(page, "NW-1002")
    dialog = open_window(page)
    saved = dialog.get_by_role("radio", name=re.compile("Visa •••• 1111"))
    expect(saved).to_be_checked()
    expect(page.locator("iframe")).to_have_count(0)  # a saved method: no gateway fields at all
    screenshot("saved-method", full_page=False)
    process_and_confirm(dialog, "with Visa •••• 1111?")
    expect(dialog.get_by_text("Payment has been processed")).to_be_visible()
    page.reload()
    expect(page.locator(".page-head .badge")).to_have_text("Paid")


def test_new_card_not_saved(page, paying):
    sign_in(page, "manager@northwind.example")
    open_invoice(page, "NW-1001")
    dialog = open_window(page)
    fill_card(page, number="5431111111111111", cvv="321")
    fill_address(dialog)
    expect(dialog.get_by_label("Save payment information")).not_to_be_checked()
    process_and_confirm(dialog, "with Mastercard •••• 1111?")
    expect(page.get_by_text("Payment has been processed")).to_be_visible()
    assert PaymentMethod.objects.count() == 0
    assert_no_csp_violation(page)


def test_a_debit_card_is_kept_as_debit(page, paying, sandbox_gateway):
    sign_in(page, "manager@northwind.example")
    open_invoice(page, "NW-1001")
    dialog = open_window(page)
    fill_card(page, number="4000056655665556")
    fill_address(dialog)
    dialog.get_by_label("Save payment information").check()
    process_and_confirm(dialog, "with Visa •••• 5556?")
    expect(page.get_by_text("Payment has been processed")).to_be_visible()
    saved = PaymentMethod.objects.get()
    assert (saved.last4, saved.card_category) == ("5556", "debit")
    payment = Payment.objects.get()
    assert payment.card_category == "debit"
    # What the gateway recorded of the card is what confirmed the page's look-up.
    assert sandbox_gateway.query(transaction_id=payment.transaction_id)[0].card_bin == "400005"


@pytest.mark.parametrize("save", [True, False], ids=["saved", "not-saved"])
def test_echeck_is_pending_until_it_settles(page, paying, sandbox_gateway, screenshot, save):
    sign_in(page, "manager@northwind.example")
    open_invoice(page, "NW-1003")
    dialog = open_window(page)
    dialog.get_by_role("link", name="Add Bank Information (eCheck)").click()
    dialog = payment_window(page)
    expect(dialog.get_by_role("heading", name="Add Bank Information (eCheck)")).to_be_visible()
    wait_for_hosted_fields(page)
    dialog.get_by_label("Business").check()
    dialog.get_by_label("Checking").check()
    hosted(page, "Name on Account").fill("Northwind Traders")
    hosted(page, "Account Number").fill("24413815")
    hosted(page, "Routing Number").fill("490000018")
    fill_address(dialog)
    dialog.get_by_label("Company").fill("Northwind Traders")
    if save:
        dialog.get_by_label("Save payment information").check()
    dialog.get_by_label(re.compile("I authorize Harbor Point IT to electronically debit")).check()
    screenshot("echeck-form", full_page=False)
    process_and_confirm(dialog, "with Checking account •••• 3815?")
    expect(page.get_by_role("alert").filter(has_text="Payment submitted")).to_have_text(
        "Payment submitted — pending until your bank settles it (usually 1–3 business days)"
    )
    expect(page.get_by_text("Payment has been processed")).to_have_count(0)
    assert_no_csp_violation(page)
    assert PaymentMethod.objects.count() == (1 if save else 0)
    if save:
        method = PaymentMethod.objects.get()
        assert (method.account_type, method.last4) == ("checking", "3815")
    page.get_by_role("link", name="Done").click()
    expect(page.locator(".page-head .badge")).to_have_text("Payment pending")
    expect(page.get_by_role("link", name="Process Payment")).to_have_count(0)
    screenshot("pending")

    sandbox_gateway.settle()
    call_command("reconcile", stdout=open("/dev/null", "w"))  # noqa: SIM115
    page.reload()
    expect(page.locator(".page-head .badge")).to_have_text("Paid")


def test_declined_card_then_another_card_with_a_new_token(page, paying, screenshot):
    tokens = []
    page.on(
        "request",
        lambda request: (
            tokens.extend(re.findall(r"payment_token=([\w-]+)", request.post_data or ""))
            if request.method == "POST" and "/pay/" in request.url
            else None
        ),
    )
    sign_in(page, "manager@northwind.example")
    open_invoice(page, "NW-1004")
    dialog = open_window(page)
    fill_card(page, number="4000000000000002")
    fill_address(dialog)
    process_and_confirm(dialog, "with Visa •••• 0002?")
    error = page.get_by_role("alert")
    expect(error).to_contain_text("the card was declined for lack of funds, or the card or bank")
    expect(error).to_contain_text("Please contact your service provider")
    # The address stays; the card fields are the gateway's, fresh and empty.
    dialog = payment_window(page)
    expect(dialog.get_by_label("First Name")).to_have_value("Nancy")
    expect(dialog.get_by_label("Street address")).to_have_value("507 20th Ave E")
    wait_for_hosted_fields(page)
    expect(hosted(page, "Credit Card Number")).to_have_value("")
    screenshot("declined", full_page=False)
    fill_card(page, number="5431111111111111", cvv="321")
    process_and_confirm(dialog, "with Mastercard •••• 1111?")
    expect(page.get_by_text("Payment has been processed")).to_be_visible()
    assert len(tokens) == 2, tokens
    assert tokens[0] != tokens[1]
    assert_no_csp_violation(page)


def test_a_bad_card_number_is_shown_next_to_its_field(page, paying):
    sign_in(page, "manager@northwind.example")
    open_invoice(page, "NW-1004")
    dialog = open_window(page)
    fill_card(page, number="4111111111111112")
    fill_address(dialog)
    dialog.get_by_role("button", name="Process Payment").click()
    message = page.locator("#error-ccnumber")
    expect(message).to_have_text("Card number is invalid")
    expect(page.locator("iframe[title='Credit Card Number']")).to_have_class(
        re.compile("CollectJSInvalid")
    )
    expect(dialog.get_by_role("alertdialog")).to_be_hidden()  # no confirmation without a token
    hosted(page, "Credit Card Number").fill("4111111111111111")
    process_and_confirm(dialog, "with Visa •••• 1111?")
    expect(page.get_by_text("Payment has been processed")).to_be_visible()


def test_keyboard_only_across_the_gateway_fields(page, paying):
    sign_in(page, "manager@northwind.example")
    open_invoice(page, "NW-1005")
    open_window(page)
    wait_for_hosted_fields(page)
    page.get_by_role("radio", name="New credit card").focus()
    keyboard = page.keyboard
    # Tab moves focus into each of the gateway's iframes in turn (focus crosses into another
    # process: wait for it, as a person's next keystroke would).
    for title, typed in [
        ("Credit Card Number", "4111111111111111"),
        ("Expiration", EXPIRY),
        ("CVV", "123"),
    ]:
        keyboard.press("Tab")
        expect(hosted(page, title)).to_be_focused()
        keyboard.type(typed)
    keyboard.press("Tab")  # back in our page: First Name
    expect(page.get_by_label("First Name")).to_be_focused()
    keyboard.press("Control+A")
    keyboard.type("Nancy")
    for value in ["Davolio", "507 20th Ave E", "", "Seattle"]:
        keyboard.press("Tab")
        keyboard.press("Control+A")
        if value:
            keyboard.type(value)
    keyboard.press("Tab")
    keyboard.type("WA")  # a select picks by typing
    keyboard.press("Tab")
    keyboard.type("98122")
    for frame_title, typed in [("Credit Card Number", "4111111111111111"), ("CVV", "123")]:
        expect(hosted(page, frame_title)).to_have_value(typed)
    page.get_by_role("button", name="Process Payment").focus()
    keyboard.press("Enter")
    confirm = confirm_button(page)
    expect(confirm).to_be_focused()
    keyboard.press("Enter")
    expect(page.get_by_text("Payment has been processed")).to_be_visible()


def test_without_javascript_saved_methods_pay_and_new_ones_need_it(
    browser, live_server, paying, gateway, manager_with_saved_card
):
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    page = context.new_page()
    sign_in(page, "manager@northwind.example")
    open_invoice(page, "NW-1005")
    page.get_by_role("link", name="Process Payment").click()
    expect(page.get_by_role("heading", name="Make a Payment")).to_be_visible()
    page.get_by_role("link", name="Add Credit Card").click()
    # (Playwright's text search skips <noscript>; the note is found by its marker.)
    note = page.locator("[data-needs-js]")
    expect(note).to_be_visible()
    expect(note).to_contain_text("Adding a new card or bank account needs JavaScript")
    page.go_back()
    expect(page.get_by_role("radio", name=re.compile("Visa •••• 1111"))).to_be_checked()
    page.get_by_role("button", name="Process Payment").click()
    # Validated on the server, then asked, naming the method; nothing charged before Confirm.
    expect(page.get_by_role("alertdialog")).to_contain_text("with Visa •••• 1111?")
    assert not Payment.objects.exists()
    confirm_button(page).click()
    expect(page.get_by_text("Payment has been processed")).to_be_visible()
    context.close()


@pytest.fixture
def manager_with_saved_card(paying, sandbox_gateway):
    """The demo manager with a Visa saved in the sandbox's vault, as a first payment leaves it."""
    from remit.accounts.models import User
    from remit.payments.models import MethodKind

    answer = sandbox_gateway.transact(
        customer_vault="add_customer", payment_token=sandbox_gateway.card_token("4111111111111111")
    )
    return PaymentMethod.objects.create(
        owner=User.objects.get(email="manager@northwind.example"),
        kind=MethodKind.CARD,
        vault_id=answer["customer_vault_id"],
        brand="Visa",
        last4="1111",
        exp_month=12,
        exp_year=datetime.date.today().year + 3,
        holder_name="Nancy Davolio",
    )


def test_a_user_without_the_permission_never_sees_process_payment(page, paying):
    sign_in(page, "user@northwind.example")
    invoice = Invoice.objects.get(number="NW-1001")
    for url in [f"/invoices/{invoice.pk}/", f"/invoices/{invoice.pk}/pay/"]:
        response = page.goto(url)
        assert response.status == 404
        expect(page.get_by_text("Process Payment")).to_have_count(0)
    page.console_errors.clear()  # the 404s we asked for


def test_no_card_or_account_number_reaches_remit(page, paying, sandbox_gateway):
    """Every request body that reaches Remit during a card and an eCheck payment (recorded by the
    test settings' middleware), and the database afterwards: no card number, CVV or account."""
    from remit.testing import recorder
    from tests.payments.test_no_card_data import database_dump

    card, cvv, account = "5431111111111111", "739", "98765432101"
    recorder.clear()
    sign_in(page, "manager@northwind.example")
    open_invoice(page, "NW-1001")
    dialog = open_window(page)
    fill_card(page, number=card, cvv=cvv)
    fill_address(dialog)
    dialog.get_by_label("Save payment information").check()
    process_and_confirm(dialog, "with Mastercard •••• 1111?")
    expect(page.get_by_text("Payment has been processed")).to_be_visible()

    open_invoice(page, "NW-1002")
    open_window(page)
    page.get_by_role("link", name="Add Bank Information (eCheck)").click()
    dialog = payment_window(page)
    wait_for_hosted_fields(page)
    hosted(page, "Name on Account").fill("Nancy Davolio")
    hosted(page, "Account Number").fill(account)
    hosted(page, "Routing Number").fill("490000018")
    fill_address(dialog)
    dialog.get_by_label("Save payment information").check()
    dialog.get_by_label(re.compile("I authorize Harbor Point IT")).check()
    process_and_confirm(dialog, "with Checking account •••• 2101?")
    expect(page.get_by_text("Payment submitted")).to_be_visible()

    requests = recorder.recorded()
    posts = [(path, body) for method, path, body in requests if method == "POST"]
    assert [p for p, _ in posts if "/pay/" in p] != []  # the payments went through Remit
    assert any(b"payment_token=" in body for _, body in posts)
    everything = "\n".join(
        f"{path}\n{body.decode('utf-8', 'replace')}" for _, path, body in requests
    )
    for secret in (card, account):
        assert secret not in everything
    assert not re.search(rf"(?<![0-9A-Za-z]){cvv}(?![0-9A-Za-z])", everything)
    dump = database_dump()
    assert card not in dump
    assert account not in dump
    saved = sorted(PaymentMethod.objects.values_list("last4", flat=True))
    assert saved == ["1111", "2101"]  # what Remit keeps: from the gateway, masked


@pytest.mark.parametrize("add", ["card", "bank"])
def test_the_gateway_fields_fit_a_phone(page, paying, screenshot, add):
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, "manager@northwind.example")
    invoice = Invoice.objects.get(number="NW-1001")
    page.goto(f"/invoices/{invoice.pk}/pay/?add={add}")
    wait_for_hosted_fields(page)
    frames = page.locator("iframe.CollectJSInlineIframe")
    expect(frames).to_have_count(3)
    for box in [frames.nth(i).bounding_box() for i in range(3)]:
        assert box["width"] >= 100  # room for MM / YY or a CVV, at least
        assert box["x"] + box["width"] <= 390
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scroll
    frames.first.scroll_into_view_if_needed()
    screenshot(f"phone-{add}", full_page=False)  # (full-page shots leave other-origin frames blank)
    assert_no_csp_violation(page)
