"""Card surcharges in a real browser: shown as soon as the method is known, repeated in the
confirmation, on the banner and the receipt; none for a debit card; gone when eCheck is chosen.
A new card's confirmation (asked by the server, which alone knows the card's category) shows the
card the token stands for in place of the gateway's fields, drawn anew empty; "Use a different
card" withdraws the question and shows the fields again."""

import datetime
import re
from decimal import Decimal

import pytest
from django.core import mail
from playwright.sync_api import expect

from e2e.conftest import assert_accessible, sign_in
from e2e.test_make_payment import (
    assert_no_csp_violation,
    confirm_button,
    fill_address,
    fill_card,
    hosted,
    open_invoice,
    open_window,
    paying,  # noqa: F401  (a fixture)
)
from remit.billing.models import Invoice
from remit.outbox.models import EmailKind, OutgoingEmail
from remit.outbox.services import email_attempt
from remit.payments.models import Payment, PaymentMethod
from remit.payments.surcharge import percent_of
from remit.payments.surcharge_models import SurchargePolicy


@pytest.fixture
def surcharging(request):
    request.getfixturevalue("paying")  # the demo data and a fresh sandbox, CSP watched
    policy = SurchargePolicy.load()
    policy.enabled = True
    policy.percent = Decimal("3.00")
    policy.cost_of_acceptance = Decimal("3.40")
    policy.acquirer_notified_on = datetime.date.today() - datetime.timedelta(days=45)
    policy.save()
    return policy


def money(value: Decimal) -> str:
    return f"${value:,.2f}"


def due(number: str) -> Decimal:
    invoice = Invoice.objects.get(number=number)
    return invoice.total - invoice.amount_paid


def test_a_credit_card_shows_the_surcharge_before_confirming_and_after(
    page, surcharging, sandbox_gateway, screenshot
):
    base = due("NW-1001")
    fee = percent_of(base, Decimal("3.00"))
    sign_in(page, "manager@northwind.example")
    open_invoice(page, "NW-1001")
    dialog = open_window(page)
    # Before anything is typed: what a credit card adds, and how to avoid it.
    note = dialog.locator("[data-adjustment-line]")
    expect(note).to_contain_text(f"Card surcharge (3.00%): {money(fee)} on a credit card")
    expect(note).to_contain_text("pay by eCheck to avoid it")
    fill_card(page)
    fill_address(dialog)
    dialog.get_by_role("button", name="Process Payment").click()
    # The card's category came with its token: the server asks, naming the surcharge.
    question = page.get_by_role("alertdialog")
    expect(question).to_contain_text(
        f"Pay {money(base + fee)} to Harbor Point IT with Visa •••• 1111, including a "
        f"{money(fee)} card surcharge?"
    )
    # Behind the question, the card it is about, not the gateway's fields drawn anew and empty.
    assert_shows_the_tokenized_card(dialog, "Visa •••• 1111")
    screenshot("confirm", full_page=False)
    assert_accessible(page, "surcharge_confirm-new-card")  # at desktop and phone widths
    assert not Payment.objects.exists()
    confirm_button(page).click()
    expect(page.get_by_text("Payment has been processed")).to_be_visible()
    expect(page.get_by_text("Card surcharge (3.00%)")).to_be_visible()
    expect(page.get_by_text(money(base + fee))).to_be_visible()  # Total charged
    screenshot("banner", full_page=False)
    assert_accessible(page)  # at desktop and phone widths
    assert_no_csp_violation(page)
    payment = Payment.objects.get()
    assert (payment.amount, payment.surcharge_amount) == (base, fee)
    xml = sandbox_gateway.query_xml(transaction_id=payment.transaction_id)
    assert f"<surcharge>{fee}</surcharge>" in xml
    mail.outbox.clear()
    email_attempt(OutgoingEmail.objects.get(kind=EmailKind.RECEIPT, payment=payment).pk)
    (receipt,) = mail.outbox
    assert f"Card surcharge (3.00%): {money(fee)}" in receipt.body


def new_card_asked(page, number="4111111111111111", cvv="123"):
    """Signed in, NW-1001's window, a new card and the address typed, Process Payment: the window
    and the server's question."""
    sign_in(page, "manager@northwind.example")
    open_invoice(page, "NW-1001")
    dialog = open_window(page)
    fill_card(page, number=number, cvv=cvv)
    fill_address(dialog)
    dialog.get_by_role("button", name="Process Payment").click()
    return dialog, page.get_by_role("alertdialog")


def assert_shows_the_tokenized_card(dialog, label):
    card = dialog.locator("[data-tokenized]")
    expect(card).to_be_visible()
    expect(card).to_have_text(re.compile(rf"^\s*Card\s+{label}\s+Use a different card\s*$"))
    expect(dialog.get_by_text("Credit Card Number", exact=True)).to_be_hidden()
    expect(dialog.locator("iframe[title='Credit Card Number']")).to_be_hidden()
    expect(dialog.locator("iframe[title='CVV']")).to_be_hidden()
    expect(dialog.get_by_label("First Name")).to_have_value("Nancy")  # the billing details stay


def test_a_different_card_instead_of_the_one_asked_about(
    page, surcharging, sandbox_gateway, screenshot
):
    base = due("NW-1001")
    fee = percent_of(base, Decimal("3.00"))
    posted = []
    page.on(
        "request",
        lambda request: (
            posted.append(request.post_data or "") if request.method == "POST" else None
        ),
    )
    dialog, question = new_card_asked(page, cvv="737")
    expect(question).to_contain_text("with Visa •••• 1111, including a")
    assert_shows_the_tokenized_card(dialog, "Visa •••• 1111")
    # The question has the focus, as the window opens on it.
    expect(confirm_button(page)).to_be_focused()
    screenshot("tokenized-card", full_page=True)
    # By keyboard: Tab goes from Confirm to Back; "Use a different card" is reached by Shift+Tab
    # walking back through the form, and Enter on it is the same as a click.
    page.keyboard.press("Tab")
    expect(dialog.get_by_role("button", name="Back")).to_be_focused()
    different = dialog.get_by_role("button", name="Use a different card")
    for _ in range(15):
        page.keyboard.press("Shift+Tab")
        if different.evaluate("node => node === document.activeElement"):
            break
    expect(different).to_be_focused()

    page.keyboard.press("Enter")
    # The question is withdrawn; the gateway's fields are there again, empty, the focus in them.
    expect(question).to_be_hidden()
    expect(dialog.locator("[data-tokenized]")).to_have_count(0)
    expect(dialog.get_by_text("Credit Card Number", exact=True)).to_be_visible()
    expect(dialog.locator("iframe[title='Credit Card Number']")).to_be_focused()
    expect(hosted(page, "Credit Card Number")).to_have_value("")
    expect(dialog.get_by_role("button", name="Process Payment")).to_be_visible()
    screenshot("different-card", full_page=True)
    assert_accessible(page, "surcharge_different-card")  # at desktop and phone widths

    # Another card (a debit card: no surcharge): the server asks about that one, and charges it.
    fill_card(page, number="4000056655665556")
    dialog.get_by_role("button", name="Process Payment").click()
    expect(question).to_contain_text(f"Pay {money(base)} to Harbor Point IT with Visa •••• 5556?")
    assert_shows_the_tokenized_card(dialog, "Visa •••• 5556")
    confirm_button(page).click()
    expect(page.get_by_text("Payment has been processed")).to_be_visible()
    payment = Payment.objects.get()
    assert (payment.amount, payment.surcharge_amount, payment.method_label) == (
        base,
        Decimal("0.00"),
        "Visa •••• 5556",
    )
    assert fee > 0
    # Remit's own pages got tokens, never a card number or CVV (those went to the gateway's
    # iframes only), and drew none back.
    ours = [body for body in posted if "payment_token" in body or "csrfmiddlewaretoken" in body]
    assert len(ours) >= 3  # sign-in, the first question, the second question, the confirmed post
    for body in ours:
        for number in ("4111111111111111", "4000056655665556"):
            assert number not in body
        assert "cvv" not in body.lower()
        assert not re.search(r"(^|&)[^=&]*=737(&|$)", body)  # the CVV typed, under any name
    assert "4000056655665556" not in page.content()


def test_paying_several_shows_the_tokenized_card_too(page, surcharging, sandbox_gateway):
    sign_in(page, "manager@northwind.example")
    page.get_by_role("link", name="Pay all due").click()
    expect(page.get_by_role("heading", name="Add Credit Card")).to_be_visible()
    fill_card(page)
    fill_address(page)
    page.get_by_role("button", name="Process Payment").click()
    question = page.get_by_role("alertdialog")
    expect(question).to_contain_text(
        re.compile(r"with Visa •••• 1111, including a \$[\d,.]+ card surcharge\?")
    )
    assert_shows_the_tokenized_card(page.locator("form[data-confirm]"), "Visa •••• 1111")
    assert_accessible(page, "surcharge_pay-several-confirm")  # at desktop and phone widths
    confirm_button(page).click()
    expect(page.get_by_text("Payment has been processed")).to_be_visible()
    payment = Payment.objects.get()
    assert payment.surcharge_amount == percent_of(payment.amount, Decimal("3.00"))


def test_a_debit_card_carries_none(page, surcharging, sandbox_gateway):
    base = due("NW-1001")
    _, question = new_card_asked(page, number="4000056655665556")
    expect(question).to_contain_text(f"Pay {money(base)} to Harbor Point IT with Visa •••• 5556?")
    expect(question).not_to_contain_text("surcharge")
    confirm_button(page).click()
    expect(page.get_by_text("Payment has been processed")).to_be_visible()
    expect(page.get_by_text("Card surcharge")).to_have_count(0)
    assert Payment.objects.get().surcharge_amount == Decimal("0.00")


def test_choosing_an_echeck_removes_it(page, surcharging, screenshot):
    from remit.accounts.models import User

    manager = User.objects.get(email="manager@northwind.example")
    year = datetime.date.today().year + 2
    PaymentMethod.objects.create(
        owner=manager,
        kind="echeck",
        vault_id="e2e-echeck",
        account_type="checking",
        account_holder_type="business",
        last4="6789",
        holder_name="Northwind Traders",
    )
    PaymentMethod.objects.create(
        owner=manager,
        kind="card",
        vault_id="e2e-credit",
        brand="Visa",
        last4="1111",
        exp_month=12,
        exp_year=year,
        card_category="credit",
        billing={"state": "WA"},
        last_used_at=datetime.datetime.now(datetime.UTC),
    )
    base = due("NW-1001")
    fee = percent_of(base, Decimal("3.00"))
    sign_in(page, "manager@northwind.example")
    open_invoice(page, "NW-1001")
    dialog = open_window(page)
    card = dialog.get_by_role("radio", name=re.compile("Visa •••• 1111"))
    echeck = dialog.get_by_role("radio", name=re.compile("Checking •••• 6789"))
    note = dialog.locator("[data-adjustment-line]")
    expect(card).to_be_checked()
    expect(note).to_have_text(
        f"Card surcharge (3.00%): {money(fee)} — pay by eCheck to avoid it. "
        f"Total {money(base + fee)}."
    )
    screenshot("credit-chosen", full_page=False)
    assert_accessible(page)  # at desktop and phone widths
    echeck.check()
    expect(note).to_be_hidden()
    card.check()
    expect(note).to_be_visible()
