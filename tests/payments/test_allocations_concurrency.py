"""Payments of several invoices at the same moment, on real database connections (one per thread),
against the sandbox gateway: overlapping selections never deadlock (every payment locks its
invoices by id), each invoice is paid at most once, and the loser is told which invoice is busy."""

import uuid
from decimal import Decimal

import pytest

from remit.billing.models import Invoice
from remit.payments.models import Payment, PaymentState
from remit.payments.services import PaymentRefused
from remit.payments.services.several import pay_invoices
from tests.factories import make_invoice, manager_of
from tests.payments.conftest import new_card, sales_at_gateway
from tests.payments.test_concurrency import THREADS, run_together

pytestmark = pytest.mark.django_db(transaction=True)


def _pay(user, ids, gateway):
    try:
        return pay_invoices(
            user=user,
            selection=[(i, None) for i in ids],
            attempt_key=uuid.uuid4(),
            choice=new_card(),
            gateway=gateway,
        ).state
    except PaymentRefused as refused:
        return refused


def test_overlapping_selections_at_once_pay_each_invoice_at_most_once(
    gateway, sandbox_gateway, northwind, settings
):
    settings.PAYMENT_LIMITS = {k: 10_000 for k in settings.PAYMENT_LIMITS}
    a, b, c, d = (make_invoice(northwind, total=t) for t in ("10.00", "20.00", "30.00", "40.00"))
    alice = manager_of(northwind, email="alice@northwind.example")
    bob = manager_of(northwind, email="bob@northwind.example")
    # Posted in opposite orders: without one lock order these two would deadlock.
    selections = [(alice, [c.pk, b.pk, a.pk]), (bob, [b.pk, c.pk, d.pk])] * 4
    outcomes = run_together(len(selections), lambda i: _pay(*selections[i], gateway))
    assert not [
        o for o in outcomes if isinstance(o, Exception) and not isinstance(o, PaymentRefused)
    ]
    approved = [o for o in outcomes if o == PaymentState.APPROVED]
    refused = [o for o in outcomes if isinstance(o, PaymentRefused)]
    assert len(approved) + len(refused) == len(selections)
    assert approved, outcomes
    assert {r.code for r in refused} <= {"in_flight", "not_payable"}, outcomes
    assert all("Nothing was charged" in r.message or "already paid" in r.message for r in refused)
    for invoice in Invoice.objects.filter(pk__in=[a.pk, b.pk, c.pk, d.pk]):
        assert invoice.amount_paid in (Decimal("0.00"), invoice.total)
    assert len(sales_at_gateway(sandbox_gateway)) == len(approved)
    # b and c are in both selections: whoever won, they were charged once.
    paid_b = Payment.objects.filter(allocations__invoice=b, state=PaymentState.APPROVED).count()
    assert paid_b == 1


def test_twenty_payers_paying_all_due_at_once_make_one_sale(
    gateway, sandbox_gateway, northwind, settings
):
    settings.PAYMENT_LIMITS = {k: 10_000 for k in settings.PAYMENT_LIMITS}
    invoices = [make_invoice(northwind, total=t) for t in ("100.00", "200.00", "300.00")]
    payers = [manager_of(northwind, email=f"p{i}@northwind.example") for i in range(THREADS)]
    ids = [i.pk for i in invoices]
    outcomes = run_together(THREADS, lambda i: _pay(payers[i], ids, gateway))
    assert outcomes.count(PaymentState.APPROVED) == 1, outcomes
    assert all(isinstance(o, PaymentRefused) for o in outcomes if o != PaymentState.APPROVED)
    assert len(sales_at_gateway(sandbox_gateway)) == 1
    assert Payment.objects.get(state=PaymentState.APPROVED).amount == Decimal("600.00")
    assert all(i.amount_due == 0 for i in Invoice.objects.filter(pk__in=ids))
