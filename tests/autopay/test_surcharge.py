"""Autopay under the card-surcharge rules: the consent says the surcharge, the notice names it, and
the charge adds it the way a portal payment does (credit cards only)."""

import datetime
from decimal import Decimal

import pytest

from remit.autopay.models import Attempt
from remit.payments.models import CardCategory
from remit.payments.surcharge_models import SurchargePolicy
from tests.autopay.conftest import charge, due_on, enrol_manager

pytestmark = pytest.mark.django_db
DUE = datetime.date(2026, 12, 15)


@pytest.fixture
def surcharging(db):
    policy = SurchargePolicy.load()
    policy.enabled = True
    policy.percent = Decimal("3.00")
    policy.cost_of_acceptance = Decimal("3.40")
    policy.acquirer_notified_on = datetime.date(2026, 10, 1)
    policy.save()
    return policy


def test_a_credit_card_on_autopay_is_told_and_charged_the_surcharge(
    clock, gateway, sandbox_gateway, manager, northwind, saved_visa, surcharging
):
    saved_visa.card_category = CardCategory.CREDIT
    saved_visa.save()
    enrolment = enrol_manager(manager, saved_visa)
    assert "Each charge adds a card surcharge of 3.00% of the balance" in enrolment.consent_text
    invoice = due_on(northwind, DUE, number="NW-1601")
    assert charge(gateway, clock, DUE)["charged"] == 1
    payment = Attempt.objects.get().payment
    assert (payment.amount, payment.surcharge_amount) == (Decimal("1234.00"), Decimal("37.02"))
    xml = sandbox_gateway.query_xml(transaction_id=payment.transaction_id)
    assert "<surcharge>37.02</surcharge>" in xml
    invoice.refresh_from_db()
    assert invoice.amount_due == Decimal("0.00")


def test_a_card_of_unknown_category_is_neither_told_nor_charged_one(
    clock, gateway, manager, northwind, saved_visa, surcharging
):
    assert saved_visa.card_category == CardCategory.UNKNOWN  # saved from typed numbers
    enrolment = enrol_manager(manager, saved_visa)
    assert "surcharge" not in enrolment.consent_text
    due_on(northwind, DUE, number="NW-1602")
    assert charge(gateway, clock, DUE)["charged"] == 1
    assert Attempt.objects.get().payment.surcharge_amount == Decimal("0.00")
