"""Exactly once whatever happens: three workers running the job at once (real PostgreSQL
connections, one per thread), a crash between the sale and its record, a crash before the sale,
an answer lost on the way back. The gateway shows one sale each time; the unknown outcome is
reconciled by the existing reconciliation, never sent again."""

import datetime

import pytest

from remit.autopay.charge import run_autopay
from remit.autopay.models import Attempt, AttemptState
from remit.payments.models import Payment, PaymentState
from remit.payments.reconcile import run_reconciliation
from tests.autopay.conftest import at, due_on, enrol_manager
from tests.autopay.test_charge import autopay_sales
from tests.payments.test_concurrency import run_together

DUE = datetime.date(2026, 12, 15)


@pytest.mark.django_db(transaction=True)
def test_three_workers_at_once_make_one_sale_per_invoice(
    clock, gateway, sandbox_gateway, manager, northwind, saved_visa
):
    enrol_manager(manager, saved_visa)
    invoices = [
        due_on(northwind, DUE, number=f"NW-16{i:02d}", total=f"{100 + i}.00") for i in range(5)
    ]
    at(clock, DUE)

    results = run_together(3, lambda i: run_autopay(gateway=gateway))

    assert not [r for r in results if isinstance(r, Exception)], results
    assert sum(r.get("charged", 0) for r in results) == 5
    for invoice in invoices:
        assert len(autopay_sales(sandbox_gateway, invoice)) == 1
        assert Attempt.objects.get(invoice=invoice).state == AttemptState.CHARGED
        invoice.refresh_from_db()
        assert invoice.amount_due == 0


@pytest.mark.django_db(transaction=True)
def test_a_crash_between_the_sale_and_its_record_is_reconciled_not_resent(
    clock, gateway, sandbox_gateway, manager, northwind, saved_visa, monkeypatch
):
    import remit.payments.services.start as start

    enrol_manager(manager, saved_visa)
    invoice = due_on(northwind, DUE, number="NW-1701")
    at(clock, DUE)

    def crash(*args, **kwargs):
        raise SystemExit("the worker died after the sale")

    with monkeypatch.context() as patch:
        patch.setattr(start, "record_gateway_outcome", crash)
        with pytest.raises(SystemExit):
            run_autopay(gateway=gateway)
    assert len(autopay_sales(sandbox_gateway, invoice)) == 1
    assert Payment.objects.get(invoice=invoice).state == PaymentState.PROCESSING

    run_autopay(gateway=gateway)  # another run at once: the try is claimed, its payment open
    at(clock, DUE, hour=10)  # the claim is stale: taken over, it finds its payment by key
    run_autopay(gateway=gateway)
    assert len(autopay_sales(sandbox_gateway, invoice)) == 1
    run_reconciliation()  # the existing reconciliation finishes the payment
    run_autopay(gateway=gateway)

    attempt = Attempt.objects.get(invoice=invoice)
    assert attempt.state == AttemptState.CHARGED
    assert attempt.payment.state == PaymentState.APPROVED
    assert Payment.objects.filter(invoice=invoice).count() == 1
    assert len(autopay_sales(sandbox_gateway, invoice)) == 1
    invoice.refresh_from_db()
    assert invoice.amount_due == 0


@pytest.mark.django_db(transaction=True)
def test_a_crash_before_the_sale_charges_once_when_taken_over(
    clock, gateway, sandbox_gateway, manager, northwind, saved_visa, monkeypatch
):
    import remit.autopay.charge as charge

    enrol_manager(manager, saved_visa)
    invoice = due_on(northwind, DUE, number="NW-1702")
    at(clock, DUE)
    with monkeypatch.context() as patch:
        patch.setattr(charge, "autopay_charge", lambda **kw: (_ for _ in ()).throw(SystemExit()))
        with pytest.raises(SystemExit):
            run_autopay(gateway=gateway)
    assert Attempt.objects.get(invoice=invoice).state == AttemptState.CHARGING
    assert autopay_sales(sandbox_gateway, invoice) == []

    at(clock, DUE, hour=10)
    run_autopay(gateway=gateway)
    assert Attempt.objects.get(invoice=invoice).state == AttemptState.CHARGED
    assert len(autopay_sales(sandbox_gateway, invoice)) == 1


@pytest.mark.django_db(transaction=True)
def test_an_answer_lost_after_approval_is_looked_up_never_sent_again(
    clock, gateway, sandbox_gateway, manager, northwind, saved_visa
):
    enrol_manager(manager, saved_visa)
    invoice = due_on(northwind, DUE, number="NW-1703")
    at(clock, DUE)
    sandbox_gateway.set_fault("drop_after_approve")
    run_autopay(gateway=gateway)
    attempt = Attempt.objects.get(invoice=invoice)
    assert attempt.state == AttemptState.CHARGING
    assert attempt.payment.state == PaymentState.UNKNOWN

    at(clock, DUE, hour=12)
    run_reconciliation()
    run_autopay(gateway=gateway)
    attempt.refresh_from_db()
    assert attempt.state == AttemptState.CHARGED
    assert len(autopay_sales(sandbox_gateway, invoice)) == 1
