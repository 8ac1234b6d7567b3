"""A card surcharge in the API and in webhooks: its own fields on the payment (never inside an
allocation) and each refund's share of it."""

from decimal import Decimal

import pytest

from remit.payments.services import reconcile_payment, refund_payment
from tests.payments.test_surcharge_payments import credit_token, surcharging  # noqa: F401

pytestmark = pytest.mark.django_db


def test_a_surcharged_payment_shows_it_apart_from_the_invoices(
    api,
    pay,
    invoice,
    staff,
    gateway,
    sandbox_gateway,
    surcharging,  # noqa: F811
):
    payment = pay(invoice, credit_token(sandbox_gateway))
    item = api.get(f"/api/payments/{payment.public_id}").json()
    assert (item["sale_amount"], item["surcharge_amount"]) == ("1234.00", "37.02")
    assert (item["discount_amount"], item["charged_amount"]) == ("0.00", "1271.02")
    assert [a["amount"] for a in item["allocations"]] == ["1234.00"]  # the invoice, exactly
    sandbox_gateway.settle()
    reconcile_payment(payment.pk)
    payment.refresh_from_db()
    refund_payment(payment, amount=Decimal("617.00"), acting_user=staff, gateway=gateway)
    item = api.get(f"/api/payments/{payment.public_id}").json()
    (refund,) = item["refunds"]
    assert (refund["amount"], refund["adjustment"]) == ("617.00", "18.51")


def test_a_payment_without_one_shows_zeros(api, pay, invoice):
    from tests.payments.conftest import new_bank

    payment = pay(invoice, new_bank())
    item = api.get(f"/api/payments/{payment.public_id}").json()
    assert (item["surcharge_amount"], item["discount_amount"]) == ("0.00", "0.00")
    assert item["charged_amount"] == item["sale_amount"] == "1234.00"
