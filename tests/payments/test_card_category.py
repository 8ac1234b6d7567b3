"""A new card's category (credit / debit / prepaid / unknown): it comes from the gateway's BIN
look-up in the hosted fields, which the page relays with the token; Remit keeps it only when the
gateway's record of the card (query.php's cc_bin) has the BIN it was looked up for."""

import datetime

import pytest

from remit.audit.models import AuditEvent
from remit.payments.models import CardCategory, Payment, PaymentMethod, PaymentState
from tests.factories import make_invoice
from tests.payments.conftest import VISA
from tests.payments.test_make_payment_view import attempt_key, card_post, post, window

pytestmark = pytest.mark.django_db

EXP = f"12{(datetime.date.today().year + 1) % 100:02d}"
DEBIT = "4000056655665556"
PREPAID = "4035874000000009"


def looked_up(sandbox_gateway, number: str) -> dict:
    """What Collect.js's callback hands the page for this card: the token and the look-up."""
    response = sandbox_gateway.tokenize({"ccnumber": number, "ccexp": EXP, "cvv": "123"})
    assert response["token"]
    return response


def relayed(response: dict) -> dict:
    """The fields payment-fields.js adds to the form from the callback's response."""
    return {"hosted_bin": response["card"]["bin"], "hosted_category": response["card"]["category"]}


def pay(client, invoice, response, **overrides):
    data = card_post(window(client, invoice), invoice, response["token"], **overrides)
    return post(client, invoice, data)


@pytest.mark.parametrize(
    ("number", "category"),
    [(VISA, CardCategory.CREDIT), (DEBIT, CardCategory.DEBIT), (PREPAID, CardCategory.PREPAID)],
)
def test_a_new_card_keeps_the_category_of_the_gateways_look_up(
    as_manager, due_invoice, gateway, sandbox_gateway, number, category
):
    response = looked_up(sandbox_gateway, number)
    assert response["card"]["category"] == category  # the sandbox's BIN table
    page = pay(as_manager, due_invoice, response, **relayed(response), **{"card-save": "on"})
    assert "Payment has been processed" in page.text
    payment = Payment.objects.get()
    assert payment.state == PaymentState.APPROVED
    assert payment.card_category == category
    assert PaymentMethod.objects.get().card_category == category
    # The gateway's record of the card carries the same BIN (that is what confirmed it).
    (sale,) = sandbox_gateway.query(transaction_id=payment.transaction_id)
    assert sale.card_bin == number[:6]


def test_a_look_up_relayed_for_another_card_is_kept_as_unknown_and_audited(
    as_manager, due_invoice, gateway, sandbox_gateway
):
    debit = looked_up(sandbox_gateway, DEBIT)
    credit = looked_up(sandbox_gateway, VISA)
    # A page that claims the debit card's token is the credit card (or the other way round).
    pay(as_manager, due_invoice, debit, **relayed(credit), **{"card-save": "on"})
    payment = Payment.objects.get()
    assert payment.state == PaymentState.APPROVED
    assert payment.card_category == CardCategory.UNKNOWN
    assert PaymentMethod.objects.get().card_category == CardCategory.UNKNOWN
    event = AuditEvent.objects.get(action="payment.card_category_unconfirmed")
    assert "kept as unknown" in event.summary


@pytest.mark.parametrize(
    "fields",
    [
        {},  # an older Collect.js build without a look-up, or no script at all
        {"hosted_bin": "411111", "hosted_category": "platinum"},  # not a category
        {"hosted_bin": "41x111", "hosted_category": "credit"},  # not a BIN
    ],
)
def test_without_a_usable_look_up_the_card_is_unknown(
    as_manager, due_invoice, gateway, sandbox_gateway, fields
):
    response = looked_up(sandbox_gateway, VISA)
    pay(as_manager, due_invoice, response, **fields, **{"card-save": "on"})
    assert Payment.objects.get().card_category == CardCategory.UNKNOWN
    assert PaymentMethod.objects.get().card_category == CardCategory.UNKNOWN


def test_a_saved_card_pays_with_the_category_kept_with_it(
    as_manager, due_invoice, gateway, sandbox_gateway
):
    response = looked_up(sandbox_gateway, DEBIT)
    pay(as_manager, due_invoice, response, **relayed(response), **{"card-save": "on"})
    method = PaymentMethod.objects.get()
    assert method.card_category == CardCategory.DEBIT
    second = make_invoice(due_invoice.organization, total="99.00", number="NW-2002")
    first = window(as_manager, second)
    # Whatever a page posts about the category, a saved card is what was kept with it.
    post(
        as_manager,
        second,
        {
            "attempt_key": attempt_key(first),
            "amount": str(second.amount_due),
            "method": method.choice_value,
            "confirmed": "yes",
            "hosted_bin": "411111",
            "hosted_category": "credit",
        },
    )
    paid = Payment.objects.get(allocations__invoice=second)
    assert paid.state == PaymentState.APPROVED
    assert paid.card_category == CardCategory.DEBIT
