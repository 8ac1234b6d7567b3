"""Refunds (after settlement, full or partial) and voids (before), as child transactions that
restore the invoice's amount due."""

from decimal import Decimal

import pytest

from remit.payments.models import PaymentState, Refund, RefundState
from remit.payments.services import RefundRefused, reconcile_payment, refund_payment, void_payment
from tests.payments.conftest import new_bank, new_card

pytestmark = pytest.mark.django_db


def due(invoice):
    invoice.refresh_from_db()
    return invoice.total - invoice.amount_paid


def settled_card_payment(pay, invoice, sandbox):
    payment = pay(invoice, new_card())
    sandbox.settle()
    assert reconcile_payment(payment.pk) == PaymentState.SETTLED
    payment.refresh_from_db()
    return payment


def test_void_before_settlement_restores_the_amount_due(pay, due_invoice, staff, gateway):
    payment = pay(due_invoice, new_card())
    assert due(due_invoice) == Decimal("0.00")
    refund = void_payment(
        payment, acting_user=staff, reason="Paid twice by mistake", gateway=gateway
    )
    assert (refund.kind, refund.state) == ("void", RefundState.SUCCEEDED)
    payment.refresh_from_db()
    assert payment.state == PaymentState.VOIDED
    assert due(due_invoice) == Decimal("1234.00")


def test_void_of_a_pending_echeck(pay, due_invoice, staff, gateway):
    payment = pay(due_invoice, new_bank())
    void_payment(payment, acting_user=staff, gateway=gateway)
    payment.refresh_from_db()
    assert payment.state == PaymentState.VOIDED
    assert due(due_invoice) == Decimal("1234.00")


def test_partial_then_full_refund(pay, due_invoice, staff, gateway, sandbox_gateway):
    payment = settled_card_payment(pay, due_invoice, sandbox_gateway)
    first = refund_payment(payment, Decimal("234.00"), acting_user=staff, gateway=gateway)
    assert first.state == RefundState.SUCCEEDED
    payment.refresh_from_db()
    assert (payment.refunded_amount, payment.applied_amount) == (
        Decimal("234.00"),
        Decimal("1000.00"),
    )
    assert payment.display_status.label == "Partially refunded"
    assert due(due_invoice) == Decimal("234.00")
    with pytest.raises(RefundRefused, match=r"At most \$1,000\.00"):
        refund_payment(payment, Decimal("1000.01"), acting_user=staff, gateway=gateway)
    refund_payment(payment, None, acting_user=staff, gateway=gateway)
    payment.refresh_from_db()
    assert payment.display_status.label == "Refunded"
    assert due(due_invoice) == Decimal("1234.00")
    assert Refund.objects.filter(payment=payment, state="succeeded").count() == 2


def test_an_unsettled_payment_is_voided_not_refunded(pay, due_invoice, staff, gateway):
    payment = pay(due_invoice, new_card())
    with pytest.raises(RefundRefused, match="void it instead"):
        refund_payment(payment, None, acting_user=staff, gateway=gateway)


def test_a_settled_payment_cannot_be_voided(pay, due_invoice, staff, gateway, sandbox_gateway):
    payment = settled_card_payment(pay, due_invoice, sandbox_gateway)
    with pytest.raises(RefundRefused, match="not settled yet"):
        void_payment(payment, acting_user=staff, gateway=gateway)


def test_refund_idempotency_key(pay, due_invoice, staff, gateway, sandbox_gateway):
    payment = settled_card_payment(pay, due_invoice, sandbox_gateway)
    first = refund_payment(
        payment, Decimal("10.00"), acting_user=staff, idempotency_key="k-1", gateway=gateway
    )
    again = refund_payment(
        payment, Decimal("10.00"), acting_user=staff, idempotency_key="k-1", gateway=gateway
    )
    assert first.pk == again.pk
    payment.refresh_from_db()
    assert payment.refunded_amount == Decimal("10.00")


def test_no_gateway_refuses_before_anything_is_written(
    pay, due_invoice, staff, sandbox_gateway, settings
):
    payment = settled_card_payment(pay, due_invoice, sandbox_gateway)
    settings.GATEWAY_URL = ""
    with pytest.raises(RefundRefused, match="No payment gateway"):
        refund_payment(payment, None, acting_user=staff)
    assert not Refund.objects.exists()
