"""Card surcharges on real payments through the sandbox gateway: the server decides, the gateway is
sent amount = invoices + surcharge and surcharge=x.xx, the invoices are paid exactly their amounts,
the window says so before the payer confirms."""

import datetime
import re
from decimal import Decimal

import pytest
from django.urls import reverse

from remit.payments.models import Payment, PaymentMethod, PaymentState
from remit.payments.services import SavedMethod
from remit.payments.surcharge_models import SurchargePolicy
from tests.factories import make_invoice
from tests.payments.conftest import sales_at_gateway
from tests.payments.test_card_category import DEBIT, looked_up, relayed
from tests.payments.test_make_payment_view import bank_post, card_post, post, window

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def surcharging(db):
    policy = SurchargePolicy.load()
    policy.enabled = True
    policy.percent = D("3.00")
    policy.cost_of_acceptance = D("3.40")
    policy.acquirer_notified_on = datetime.date.today() - datetime.timedelta(days=40)
    policy.save()
    return policy


def saved(manager, *, category: str, vault_id: str, state="WA") -> PaymentMethod:
    """A card kept in the sandbox's vault (saved through a first payment) with its category."""
    return PaymentMethod.objects.create(
        owner=manager,
        kind="card",
        vault_id=vault_id,
        brand="Visa",
        last4="1111",
        exp_month=12,
        exp_year=datetime.date.today().year + 2,
        card_category=category,
        billing={"state": state},
    )


def pay_new_card(client, invoice, sandbox_gateway, number, **extra):
    response = looked_up(sandbox_gateway, number)
    data = card_post(window(client, invoice), invoice, response["token"], **relayed(response))
    data.update(extra)
    return post(client, invoice, data)


def test_a_credit_card_is_charged_the_surcharge_as_its_own_field(
    as_manager, due_invoice, gateway, sandbox_gateway, surcharging
):
    page = pay_new_card(as_manager, due_invoice, sandbox_gateway, "4111111111111111")
    assert "Payment has been processed" in page.text
    payment = Payment.objects.get()
    assert payment.state == PaymentState.APPROVED
    assert (payment.amount, payment.surcharge_amount) == (D("1234.00"), D("37.02"))
    assert payment.surcharge_percent == D("3.00")
    (sale,) = sales_at_gateway(sandbox_gateway)
    assert sale.last_action("sale").amount == D("1271.02")
    xml = sandbox_gateway.query_xml(transaction_id=payment.transaction_id)
    assert "<surcharge>37.02</surcharge>" in xml
    # The invoice is paid exactly its amount: the surcharge is the payment's, not the invoice's.
    due_invoice.refresh_from_db()
    assert due_invoice.amount_paid == D("1234.00")
    assert payment.allocations.get().applied_amount == D("1234.00")


@pytest.mark.parametrize("number", [DEBIT, "4035874000000009"], ids=["debit", "prepaid"])
def test_debit_and_prepaid_cards_are_not_surcharged(
    as_manager, due_invoice, gateway, sandbox_gateway, surcharging, number
):
    pay_new_card(as_manager, due_invoice, sandbox_gateway, number)
    payment = Payment.objects.get()
    assert payment.state == PaymentState.APPROVED
    assert payment.surcharge_amount == D("0.00")
    (sale,) = sales_at_gateway(sandbox_gateway)
    assert sale.last_action("sale").amount == D("1234.00")
    assert "<surcharge></surcharge>" in sandbox_gateway.query_xml(
        transaction_id=payment.transaction_id
    )


def test_a_posted_surcharge_or_category_is_ignored(
    as_manager, due_invoice, gateway, sandbox_gateway, surcharging
):
    # A debit card's token with a page that claims nothing of it, and fields nobody reads.
    response = looked_up(sandbox_gateway, DEBIT)
    data = card_post(window(as_manager, due_invoice), due_invoice, response["token"])
    data.update(surcharge="0.00", surcharge_amount="0.00", card_category="debit", category="debit")
    post(as_manager, due_invoice, data)
    payment = Payment.objects.get()
    assert payment.surcharge_amount == D("0.00")  # unknown: never surcharged
    # A credit card's look-up: surcharged whatever is posted about the surcharge.
    second = make_invoice(due_invoice.organization, total="100.00", number="NW-2002")
    pay_new_card(
        as_manager, second, sandbox_gateway, "4111111111111111", surcharge="0.00", category="debit"
    )
    assert Payment.objects.get(allocations__invoice=second).surcharge_amount == D("3.00")


def test_the_window_asks_with_the_surcharge_before_charging(
    as_manager, due_invoice, gateway, sandbox_gateway, surcharging
):
    response = looked_up(sandbox_gateway, "4111111111111111")
    data = card_post(
        window(as_manager, due_invoice), due_invoice, response["token"], **relayed(response)
    )
    data.update(confirmed="", method_label="Visa •••• 1111")
    page = post(as_manager, due_invoice, data)
    assert (
        "Pay $1,271.02 to Harbor Point IT with Visa •••• 1111, including a $37.02 card surcharge?"
        in page.text
    )
    assert "Confirm: pay $1,271.02" in page.text
    assert not Payment.objects.exists()
    # The page that follows posts the same token with confirmed=yes.
    assert re.search(rf'name="payment_token" value="{response["token"]}"', page.text)


@pytest.mark.parametrize(
    ("posted", "shown", "named"),
    [
        ("Visa •••• 1111", "Visa •••• 1111", "Visa •••• 1111"),
        ("<b>Visa</b> paid", "The card you entered", "a new card"),
        ("Checking account •••• 6789", "The card you entered", "a new card"),
    ],
    ids=["masked", "not-a-label", "another-kind"],
)
def test_the_question_shows_the_tokenized_card_in_place_of_the_empty_fields(
    as_manager, due_invoice, gateway, sandbox_gateway, surcharging, posted, shown, named
):
    response = looked_up(sandbox_gateway, "4111111111111111")
    data = card_post(
        window(as_manager, due_invoice), due_invoice, response["token"], **relayed(response)
    )
    data.update(confirmed="", method_label=posted)
    page = post(as_manager, due_invoice, data)
    assert f"with {named}, including a $37.02 card surcharge?" in page.text
    tokenized = re.search(r'<div class="tokenized" data-tokenized>(.*?)</div>', page.text, re.S)
    assert tokenized
    assert f"<strong>{shown}</strong>" in tokenized[1]
    assert "Use a different card" in tokenized[1]
    # The gateway's fields are on the page (to enter another card), but set aside.
    assert 'class="hosted-entry hosted-entry--aside" data-hosted-entry' in page.text
    assert "4111111111111111" not in page.text
    assert "<b>Visa</b>" not in page.text
    # Back to the form ("edit"): the fields as usual, no card shown.
    data.update(edit="1")
    again = post(as_manager, due_invoice, data)
    assert "data-tokenized" not in again.text
    assert 'class="hosted-entry" data-hosted-entry' in again.text


def test_a_new_bank_account_asked_about_is_shown_in_place_of_its_fields(
    as_manager, due_invoice, gateway, sandbox_gateway, surcharging
):
    token = sandbox_gateway.check_token("24413815", "490000018")
    data = bank_post(
        window(as_manager, due_invoice, add="bank"),
        due_invoice,
        token,
        confirmed="",
        method_label="Checking account •••• 3815",
        authorize="on",
        **{"bank-account_holder_type": "personal"},
    )
    page = post(as_manager, due_invoice, data)
    assert "Pay $1,234.00 to Harbor Point IT with Checking account •••• 3815?" in page.text
    tokenized = re.search(r'<div class="tokenized" data-tokenized>(.*?)</div>', page.text, re.S)
    assert tokenized
    assert "Bank account" in tokenized[1]
    assert "<strong>Checking account •••• 3815</strong>" in tokenized[1]
    assert "Use a different account" in tokenized[1]
    assert "24413815" not in page.text


def test_the_chosen_saved_cards_line_is_shown_when_the_window_opens(
    as_manager, manager, due_invoice, gateway, surcharging
):
    saved(manager, category="credit", vault_id="vault-credit")
    page = window(as_manager, due_invoice)
    assert "Card surcharge (3.00%): $37.02 — pay by eCheck to avoid it. Total $1,271.02." in (
        page.text
    )


def test_an_excluded_state_is_not_surcharged(
    as_manager, due_invoice, gateway, sandbox_gateway, surcharging
):
    organization = due_invoice.organization
    organization.billing_state = "CT"
    organization.save()
    pay_new_card(as_manager, due_invoice, sandbox_gateway, "4111111111111111")
    assert Payment.objects.get().surcharge_amount == D("0.00")


def test_an_echeck_discount_is_taken_off_what_the_bank_is_debited(
    as_manager, manager, due_invoice, gateway, pay, surcharging
):
    from tests.payments.conftest import new_bank

    surcharging.echeck_discount_percent = D("1.00")
    surcharging.save()
    payment = pay(due_invoice, new_bank())
    assert payment.state == PaymentState.PENDING
    assert (payment.surcharge_amount, payment.discount_amount) == (D("0.00"), D("12.34"))
    assert payment.charged_amount == D("1221.66")
    assert payment.authorization.text.count("$1,221.66") == 1


def test_surcharge_off_leaves_payments_as_they_were(
    as_manager, due_invoice, gateway, sandbox_gateway
):
    pay_new_card(as_manager, due_invoice, sandbox_gateway, "4111111111111111")
    payment = Payment.objects.get()
    assert (payment.surcharge_amount, payment.charged_amount) == (D("0.00"), D("1234.00"))
    page = as_manager.get(reverse("make_payment", args=[due_invoice.pk]))
    assert "Card surcharge" not in page.text


def test_a_saved_credit_card_in_a_capped_state_pays_the_lower_rate(
    manager, due_invoice, gateway, surcharging, sandbox_gateway
):
    from remit.payments.surcharge import quote

    method = saved(manager, category="credit", vault_id="v1", state="CO")
    adjustment = quote(
        SavedMethod(method=method), organization=due_invoice.organization, base=D("1234.00")
    )
    assert (adjustment.surcharge_percent, adjustment.surcharge) == (D("2.00"), D("24.68"))


def credit_token(sandbox_gateway):
    from remit.gateway.base import PaymentKind, PaymentToken
    from remit.payments.hosted import NewToken, ReportedCard
    from tests.payments.conftest import BILLING

    response = looked_up(sandbox_gateway, "4111111111111111")
    return NewToken(
        token=PaymentToken(token=response["token"], kind=PaymentKind.CARD),
        billing=BILLING,
        reported=ReportedCard.from_post(response["card"]["bin"], response["card"]["category"]),
    )


def test_partial_refunds_give_back_the_surcharge_pro_rata_and_sum_to_it(
    pay, due_invoice, staff, gateway, sandbox_gateway, surcharging
):
    from remit.payments.services import reconcile_payment, refund_payment

    payment = pay(due_invoice, credit_token(sandbox_gateway))
    assert payment.surcharge_amount == D("37.02")
    sandbox_gateway.settle()
    reconcile_payment(payment.pk)
    refunds = []
    for amount in (D("100.00"), D("333.33"), None):  # None: the rest
        payment.refresh_from_db()
        refunds.append(refund_payment(payment, amount=amount, acting_user=staff, gateway=gateway))
    assert [r.adjustment for r in refunds] == [D("3.00"), D("10.00"), D("24.02")]
    assert sum(r.adjustment for r in refunds) == payment.surcharge_amount
    payment.refresh_from_db()
    assert payment.refunded_amount == D("1234.00")
    assert payment.adjustment_refunded == D("37.02")
    # The gateway was asked for each refund's invoice part plus its surcharge share.
    xml = sandbox_gateway.query_xml(action_type="refund")
    for refund in refunds:
        assert f"<amount>{refund.amount + refund.adjustment}</amount>" in xml
    assert "of the card surcharge, pro rata" in payment.events.order_by("-id").first().message


def test_a_void_gives_back_the_whole_surcharge(
    pay, due_invoice, staff, gateway, sandbox_gateway, surcharging
):
    from remit.payments.services import void_payment

    payment = pay(due_invoice, credit_token(sandbox_gateway))
    refund = void_payment(payment, acting_user=staff, gateway=gateway)
    assert refund.adjustment == D("37.02")
    payment.refresh_from_db()
    assert (payment.state, payment.adjustment_refunded) == (PaymentState.VOIDED, D("37.02"))


def test_the_receipt_itemizes_the_surcharge_the_gateway_recorded(
    as_manager, due_invoice, gateway, sandbox_gateway, surcharging
):
    from django.core import mail

    from tests.payments.conftest import run_worker
    from tests.payments.test_payments_page import pdf_text

    pay_new_card(as_manager, due_invoice, sandbox_gateway, "4111111111111111")
    payment = Payment.objects.get()
    xml = sandbox_gateway.query_xml(transaction_id=payment.transaction_id)
    recorded = re.search(r"<surcharge>([^<]*)</surcharge>", xml).group(1)
    assert recorded == "37.02"
    mail.outbox.clear()
    run_worker()
    (receipt,) = [m for m in mail.outbox if m.subject.startswith("Payment received")]
    assert "Amount:         $1,234.00" in receipt.body
    assert f"Card surcharge (3.00%): ${recorded}" in receipt.body
    assert "Total charged:  $1,271.02" in receipt.body
    html = receipt.alternatives[0][0] if receipt.alternatives else ""
    assert "Card surcharge (3.00%)" in html
    pdf = as_manager.get(reverse("payment_receipt_pdf", args=[payment.public_id]))
    text = pdf_text(pdf.content)
    assert rb"Card surcharge \(3.00%\)" in text  # PDF strings escape parentheses
    assert f"${recorded}".encode() in text
    assert b"Total charged" in text
    # The Payments page and the invoice's payment history show it as its own line.
    page = as_manager.get(reverse("payment_list"))
    assert "Card surcharge (3.00%) $37.02" in page.text


def test_home_and_the_invoice_list_say_card_payments_carry_a_surcharge(
    as_manager, due_invoice, gateway, surcharging
):
    note = "Credit card payments carry a card surcharge of up to 3.00%"
    assert note in as_manager.get(reverse("home")).text
    assert note in as_manager.get(reverse("invoice_list")).text
    surcharging.enabled = False
    surcharging.save()  # the note is cached for pages: saving drops it
    assert note not in as_manager.get(reverse("home")).text


def test_several_invoices_carry_one_surcharge_on_their_total(
    as_manager, northwind, gateway, sandbox_gateway, surcharging
):
    from tests.payments.test_pay_several_view import URL, post_for

    invoices = [
        make_invoice(northwind, total="100.00", number="NW-7101"),
        make_invoice(northwind, total="250.00", number="NW-7102"),
        make_invoice(northwind, total="75.25", number="NW-7103"),
    ]
    page = as_manager.get(URL, {"all": "due", "add": "card"})
    assert "on a credit card (none on debit or prepaid cards)" in page.text
    response = looked_up(sandbox_gateway, "4111111111111111")
    asked = as_manager.post(
        URL,
        post_for(page, invoices, response["token"], confirmed="", **relayed(response)),
    )
    fee = "$12.76"  # 3.00% of $425.25 = 12.7575, half up once for the payment
    assert f"Pay $438.01 to Harbor Point IT with a new card, including a {fee} card surcharge?" in (
        asked.text
    )
    done = as_manager.post(URL, post_for(page, invoices, response["token"], **relayed(response)))
    assert "Payment has been processed" in done.text
    payment = Payment.objects.get()
    assert (payment.amount, payment.surcharge_amount) == (D("425.25"), D("12.76"))
    assert sorted(a.applied_amount for a in payment.allocations.all()) == [
        D("75.25"),
        D("100.00"),
        D("250.00"),
    ]
    (sale,) = sales_at_gateway(sandbox_gateway)
    assert sale.last_action("sale").amount == D("438.01")
