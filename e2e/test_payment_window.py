"""Issue 11: the payment window validates before it asks, keeps what was typed, is a real modal
(native <dialog>), tells pauses and results plainly, and passes axe at every step, at 1280 and
390 px. Each test here failed on the window as it was before."""

import datetime
import re

from django.utils import timezone
from playwright.sync_api import expect

from e2e import test_make_payment as seed_walk
from e2e.conftest import assert_accessible, sign_in
from e2e.test_make_payment import (
    confirm_button,
    fill_address,
    fill_card,
    hosted,
    open_invoice,
    open_window,
    wait_for_hosted_fields,
)
from remit.billing.models import Invoice
from remit.payments.models import Payment, PaymentBlock, PaymentMethod

paying = seed_walk.paying  # the same fixtures as the seed's walk
manager_with_saved_card = seed_walk.manager_with_saved_card


def no_native_dialogs(page):
    """window.confirm()/alert() would open a browser dialog: fail if one ever does."""
    opened = []
    page.on("dialog", lambda d: (opened.append(d.message), d.dismiss()))
    return opened


def test_missing_address_is_told_before_any_confirmation(page, paying):
    sign_in(page, "manager@northwind.example")
    open_invoice(page, "NW-1001")
    window = open_window(page)
    fill_card(page)
    window.get_by_label("First Name").fill("")
    window.get_by_role("button", name="Process Payment").click()
    expect(window.get_by_label("First Name")).to_have_attribute("aria-invalid", "true")
    expect(window.get_by_role("alert")).to_contain_text("Please correct the 5 fields")
    # first name, street, city, state, ZIP: all at once, before any question
    expect(window.get_by_text("This field is required.")).to_have_count(5)
    expect(window.get_by_role("alertdialog")).to_be_hidden()
    expect(window.get_by_label("First Name")).to_be_focused()
    assert_accessible(page)  # the errors, at both widths
    # The card is still typed: fixing the address is all it takes.
    fill_address(window)
    window.get_by_role("button", name="Process Payment").click()
    expect(window.get_by_role("alertdialog")).to_contain_text("with Visa •••• 1111?")
    assert_accessible(page)  # the confirmation
    confirm_button(window).click()
    expect(page.get_by_text("Payment has been processed")).to_be_visible()
    assert_accessible(page)  # the banner


def test_missing_authorization_keeps_the_account_number(page, paying):
    sign_in(page, "manager@northwind.example")
    invoice = Invoice.objects.get(number="NW-1003")
    page.goto(f"/invoices/{invoice.pk}/pay/?add=bank")
    wait_for_hosted_fields(page)
    window = page.get_by_role("region", name="Make a Payment")
    hosted(page, "Name on Account").fill("Nancy Davolio")
    hosted(page, "Account Number").fill("24413815")
    hosted(page, "Routing Number").fill("490000018")
    fill_address(window)
    window.get_by_role("button", name="Process Payment").click()
    authorize = window.get_by_label(re.compile("I authorize Harbor Point IT"))
    expect(authorize).to_have_attribute("aria-invalid", "true")
    expect(window.get_by_text("Please authorize the debit from your bank account.")).to_be_visible()
    expect(window.get_by_role("alertdialog")).to_be_hidden()
    expect(hosted(page, "Account Number")).to_have_value("24413815")  # nothing retyped
    expect(window.get_by_label("Street address")).to_have_value("507 20th Ave E")
    assert_accessible(page)
    authorize.check()
    window.get_by_role("button", name="Process Payment").click()
    expect(window.get_by_role("alertdialog")).to_contain_text("with Checking account •••• 3815?")
    confirm_button(window).click()
    expect(page.get_by_role("alert")).to_have_text(
        "Payment submitted — pending until your bank settles it (usually 1–3 business days)"
    )
    assert_accessible(page)
    page.get_by_role("link", name="Done").click()
    expect(page.locator(".page-head .badge")).to_have_text("Payment pending")


def test_a_card_number_with_spaces_is_accepted(page, paying):
    sign_in(page, "manager@northwind.example")
    open_invoice(page, "NW-1002")
    window = open_window(page)
    fill_card(page, number="4111 1111 1111 1111")
    fill_address(window)
    window.get_by_role("button", name="Process Payment").click()
    expect(window.get_by_role("alertdialog")).to_contain_text("with Visa •••• 1111?")
    confirm_button(window).click()
    expect(page.get_by_text("Payment has been processed")).to_be_visible()


def test_saved_method_window_is_a_true_modal(page, paying, manager_with_saved_card):
    opened = no_native_dialogs(page)
    sign_in(page, "manager@northwind.example")
    open_invoice(page, "NW-1005")
    due = Invoice.objects.get(number="NW-1005").amount_due
    opener = page.get_by_role("link", name="Process Payment")
    opener.focus()
    page.keyboard.press("Enter")
    dialog = page.locator("dialog[open]")
    expect(dialog).to_have_count(1)
    expect(page.get_by_role("dialog", name="Make a Payment")).to_be_visible()
    expect(page.get_by_role("radio", name=re.compile("Visa •••• 1111"))).to_be_focused()
    expect(page.get_by_role("button", name=f"Process Payment · ${due:,}")).to_be_visible()
    assert page.evaluate("getComputedStyle(document.documentElement).overflow") == "hidden"
    assert_accessible(page)  # the window open, over the invoice
    # Tab and Shift+Tab never leave the dialog (the page behind is inert).
    for key in ["Tab"] * 12 + ["Shift+Tab"] * 12:
        page.keyboard.press(key)
        assert page.evaluate(
            "!!document.activeElement.closest('dialog[open]')"
            " || document.activeElement === document.body"
        ), key
    assert page.evaluate("!document.activeElement.closest('#main')")
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    expect(opener).to_be_focused()  # back where it was opened

    page.keyboard.press("Enter")
    expect(page.get_by_role("radio", name=re.compile("Visa •••• 1111"))).to_be_focused()
    page.get_by_role("button", name="Process Payment").click()
    question = page.get_by_role("alertdialog")
    expect(question).to_have_text(
        re.compile(r"Pay \$[\d,.]+ to Harbor Point IT with Visa •••• 1111\?")
    )
    expect(confirm_button(page)).to_be_focused()
    assert not Payment.objects.exists()  # asked by the server after validating; nothing charged
    page.keyboard.press("Escape")  # from the question: back to the form, not out of the window
    expect(question).to_be_hidden()
    expect(page.get_by_role("button", name="Process Payment")).to_be_focused()
    page.keyboard.press("Enter")
    expect(confirm_button(page)).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_text("Payment has been processed")).to_be_visible()
    expect(page.locator(".page-head .badge")).to_have_text("Paid")  # the invoice behind refreshed
    page.get_by_role("link", name="Done").click()
    expect(dialog).to_have_count(0)
    expect(page.get_by_role("heading", name=re.compile("Invoice NW-1005"))).to_be_focused()
    assert opened == []


def test_escape_on_the_reports_menu_keeps_the_focus(page, demo_data):
    sign_in(page, "manager@northwind.example")
    summary = page.locator("details.menu summary")
    summary.focus()
    page.keyboard.press("Enter")  # open the menu from the keyboard
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Invoices", exact=True)).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.locator("details.menu[open]")).to_have_count(0)
    expect(summary).to_be_focused()


def test_removing_a_method_asks_in_our_own_dialog(page, paying, manager_with_saved_card):
    opened = no_native_dialogs(page)
    sign_in(page, "manager@northwind.example")
    page.goto("/payment-methods/")
    remove = page.get_by_role("button", name="Remove Visa •••• 1111")
    remove.click()
    ask = page.get_by_role("dialog")
    expect(ask).to_contain_text(
        "Remove Visa •••• 1111? It will be deleted from the gateway's vault"
    )
    expect(ask.get_by_role("button", name="Keep it")).to_be_focused()
    assert_accessible(page)
    page.keyboard.press("Escape")
    expect(ask).to_be_hidden()
    expect(remove).to_be_focused()
    assert PaymentMethod.objects.filter(removed_at=None).count() == 1
    remove.click()
    ask.get_by_role("button", name="Remove Visa •••• 1111").click()
    expect(page.get_by_text("Visa •••• 1111 was removed")).to_be_visible()
    assert PaymentMethod.objects.filter(removed_at=None).count() == 0
    assert opened == []


def test_a_pause_is_shown_when_the_window_opens(page, paying):
    from remit.accounts.models import User

    user = User.objects.get(email="manager@northwind.example")
    PaymentBlock.objects.create(
        scope=PaymentBlock.Scope.USER,
        key=str(user.pk),
        reason="5 declined attempts in an hour",
        expires_at=timezone.now() + datetime.timedelta(hours=1),
    )
    sign_in(page, "manager@northwind.example")
    open_invoice(page, "NW-1001")
    page.get_by_role("link", name="Process Payment").click()
    window = page.get_by_role("dialog", name="Make a Payment")
    expect(window).to_contain_text("online payment is paused after several unsuccessful attempts")
    expect(window).to_contain_text(re.compile(r"until \w{3} \d+, \d{4}, \d+:\d\d [AP]M"))
    expect(window).to_contain_text("contact Harbor Point IT (billing@harborpoint.example")
    expect(window.get_by_role("button", name="Process Payment")).to_have_count(0)
    expect(page.locator("iframe")).to_have_count(0)
    assert_accessible(page)


def test_a_decline_names_the_kind_of_method_and_links_the_provider(page, paying):
    sign_in(page, "manager@northwind.example")
    open_invoice(page, "NW-1004")
    window = open_window(page)
    fill_card(page, number="4000000000000002")
    fill_address(window)
    window.get_by_role("button", name="Process Payment").click()
    confirm_button(window).click()
    error = page.get_by_role("alert").filter(has_text="declined")
    expect(error).to_contain_text("The card payment (Visa •••• 0002) was declined.")
    expect(error.get_by_role("link", name="Contact Harbor Point IT")).to_have_attribute(
        "href", "mailto:billing@harborpoint.example"
    )
    assert_accessible(page)


def test_without_javascript_a_card_shows_no_bank_authorization(
    browser, live_server, paying, manager_with_saved_card
):
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    page = context.new_page()
    sign_in(page, "manager@northwind.example")
    invoice = Invoice.objects.get(number="NW-1005")
    page.goto(f"/invoices/{invoice.pk}/pay/")
    expect(page.get_by_role("radio", name=re.compile("Visa •••• 1111"))).to_be_checked()
    expect(page.get_by_text("For eCheck payments:")).to_be_hidden()
    assert "debit my bank account ending in 1111" not in page.content()
    context.close()


TEXT_FITS = """(select) => {
    const probe = document.createElement("span");
    probe.style.font = getComputedStyle(select).font;
    probe.style.position = "absolute";
    probe.style.whiteSpace = "nowrap";
    probe.textContent = select.options[select.selectedIndex].text;
    document.body.append(probe);
    const needed = probe.getBoundingClientRect().width;
    probe.remove();
    // The select's own padding and its arrow take about 2.5em.
    const em = parseFloat(getComputedStyle(select).fontSize);
    return select.getBoundingClientRect().width - needed >= 2.5 * em;
}"""


def test_the_country_reads_in_full_at_both_widths(page, paying):
    sign_in(page, "manager@northwind.example")
    open_invoice(page, "NW-1001")
    window = open_window(page)
    wait_for_hosted_fields(page)
    country = window.get_by_label("Country")
    expect(country).to_have_value("US")
    for width, height in ((1280, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        assert country.evaluate(TEXT_FITS), f"'United States' is cut off at {width}px"


def test_the_card_fields_are_named_while_they_load(page, paying):
    """A field Collect.js has put in but not yet loaded (its iframe's page held back here) is
    already named for screen readers; axe checked pages right after a decline, when the new
    fields were still loading, and found them nameless."""
    page.route("**/token/inline.php*", lambda route: None)  # never answered: the frames stay blank
    sign_in(page, "manager@northwind.example")
    open_invoice(page, "NW-1001")
    open_window(page)
    number = page.locator("iframe#CollectJSccnumber")
    expect(number).to_have_attribute("title", re.compile("card number", re.IGNORECASE))
    expect(number).to_have_attribute("aria-labelledby", "label-ccnumber")
    for field in ("ccexp", "cvv"):
        expect(page.locator(f"iframe#CollectJS{field}")).to_have_attribute(
            "aria-labelledby", f"label-{field}"
        )
    expect(page.locator("form[data-hosted-ready]")).to_have_count(0)  # still loading
