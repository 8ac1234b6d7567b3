"""The gateway misbehaves (the sandbox's fault modes): a payment is charged once or not at all, and
the payer is never told "declined" when the truth is "we do not know yet"."""

import uuid
from decimal import Decimal

import pytest
from django.core.management import call_command

from remit.core.models import Provider
from remit.payments.models import Payment, PaymentState
from remit.payments.services import PaymentRefused, reconcile_payment
from tests.payments.conftest import new_card, sales_at_gateway

pytestmark = pytest.mark.django_db


def amount_due(invoice):
    invoice.refresh_from_db()
    return invoice.total - invoice.amount_paid


class TestApprovedThenDropped:
    def test_unknown_then_reconciled_without_a_second_sale(
        self, pay, due_invoice, sandbox_gateway, capsys
    ):
        sandbox_gateway.set_fault("drop_after_approve")
        key = uuid.uuid4()
        payment = pay(due_invoice, new_card(), attempt_key=key)
        assert payment.state == PaymentState.UNKNOWN
        assert amount_due(due_invoice) == Decimal("1234.00")  # not claimed as paid yet
        # The payer clicks again (same window): the first outcome, no second sale.
        assert pay(due_invoice, new_card(), attempt_key=key).pk == payment.pk
        # A new window cannot pay it again while it is being confirmed.
        with pytest.raises(PaymentRefused, match="already being processed"):
            pay(due_invoice, new_card())
        assert len(sales_at_gateway(sandbox_gateway)) == 1
        call_command("reconcile")
        assert "unknown -> approved" in capsys.readouterr().out
        payment.refresh_from_db()
        assert payment.state == PaymentState.APPROVED
        assert payment.transaction_id
        assert amount_due(due_invoice) == Decimal("0.00")
        assert len(sales_at_gateway(sandbox_gateway)) == 1


class TestTimeout:
    def test_timeout_is_unknown_never_declined(self, pay, due_invoice, sandbox_gateway):
        sandbox_gateway.set_fault("timeout", delay=7)  # past the tests' 5 s read timeout
        payment = pay(due_invoice, new_card())
        assert payment.state == PaymentState.UNKNOWN
        assert reconcile_payment(payment.pk) == PaymentState.APPROVED
        assert amount_due(due_invoice) == Decimal("0.00")
        assert len(sales_at_gateway(sandbox_gateway)) == 1


@pytest.mark.parametrize("mode", ["http_500", "garbage"])
class TestUnreadableAnswers:
    def test_not_recorded_as_paid_and_never_charged_twice(
        self, pay, due_invoice, sandbox_gateway, settings, mode
    ):
        sandbox_gateway.set_fault(mode)
        payment = pay(due_invoice, new_card())
        assert payment.state == PaymentState.UNKNOWN  # "go and look", not "paid", not "declined"
        assert amount_due(due_invoice) == Decimal("1234.00")
        with pytest.raises(PaymentRefused, match="already being processed"):
            pay(due_invoice, new_card())
        settings.RECONCILE_NOT_FOUND_AFTER = 0
        final = reconcile_payment(payment.pk)
        sales = [s for s in sales_at_gateway(sandbox_gateway) if s.sale_approved]
        if sales:  # the gateway did charge before its answer broke: the record now says so
            assert final == PaymentState.APPROVED
            assert amount_due(due_invoice) == Decimal("0.00")
        else:  # nothing was charged: the payment failed and the invoice can be paid again
            assert final == PaymentState.FAILED
            assert pay(due_invoice, new_card()).state == PaymentState.APPROVED
        assert len([s for s in sales_at_gateway(sandbox_gateway) if s.sale_approved]) == 1


def test_a_payment_left_processing_by_a_crash_is_finished_by_reconcile(
    pay, due_invoice, sandbox_gateway, settings
):
    """The process died after the gateway approved but before phase three."""
    payment = pay(due_invoice, new_card())
    Payment.objects.filter(pk=payment.pk).update(
        state=PaymentState.PROCESSING, applied_amount=0, created_at=payment.created_at - _minutes(5)
    )
    type(due_invoice).objects.filter(pk=due_invoice.pk).update(amount_paid=0)
    assert reconcile_payment(payment.pk) == PaymentState.APPROVED
    assert amount_due(due_invoice) == Decimal("0.00")


def test_a_crash_before_the_gateway_call_fails_cleanly(manager, due_invoice, gateway, settings):
    """Phase one committed, then the process died before calling the gateway: nothing charged."""
    from remit.payments.services import _start_payment

    payment, created = _start_payment(
        user=manager,
        invoice=due_invoice,
        attempt_key=uuid.uuid4(),
        choice=new_card(),
        save_method=False,
        ip_address=None,
        provider=Provider.load(),
    )
    assert created
    Payment.objects.filter(pk=payment.pk).update(created_at=payment.created_at - _minutes(10))
    settings.RECONCILE_NOT_FOUND_AFTER = 300
    assert reconcile_payment(payment.pk) == PaymentState.FAILED
    assert amount_due(due_invoice) == Decimal("1234.00")


def _minutes(n):
    import datetime

    return datetime.timedelta(minutes=n)
