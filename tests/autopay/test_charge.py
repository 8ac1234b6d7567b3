"""The autopay charge: exactly once per invoice and charge date, a merchant-initiated
stored-credential sale (asserted at the sandbox), declines retried twice on later days then
paused, the cap, cancelling, and the skipped reasons shown to both sides."""

import datetime

import pytest

from remit.autopay.models import Attempt, AttemptState, Enrolment
from remit.autopay.services import cancel
from remit.payments.models import Payment, PaymentState
from remit.payments.services import payment_method_remove
from tests.autopay.conftest import at, charge, due_on, enrol_manager, send_emails
from tests.payments.conftest import sales_at_gateway

DUE = datetime.date(2026, 12, 15)


def autopay_sales(sandbox, invoice) -> list[str]:
    """The sales the sandbox holds for this invoice (its number is sent as the PO number)."""
    from xml.etree import ElementTree as ET

    root = ET.fromstring(sandbox.query_xml(action_type="sale"))  # noqa: S314  (our own sandbox)
    return [
        t.findtext("transaction_id")
        for t in root.iter("transaction")
        if t.findtext("ponumber") == invoice.number
    ]


def test_charged_on_its_due_date_exactly_once_with_merchant_initiated_fields(
    clock, gateway, sandbox_gateway, manager, northwind, saved_visa
):
    enrol_manager(manager, saved_visa)
    invoice = due_on(northwind, DUE, number="NW-1501")

    charge(gateway, clock, DUE - datetime.timedelta(days=1))
    assert not Attempt.objects.exists()  # not before its due date

    result = charge(gateway, clock, DUE)
    assert result["charged"] == 1
    again = charge(gateway, clock, DUE + datetime.timedelta(days=1))
    assert again.get("charged", 0) == 0

    invoice.refresh_from_db()
    assert invoice.amount_due == 0
    attempt = Attempt.objects.get()
    assert attempt.state == AttemptState.CHARGED
    assert attempt.payment.state == PaymentState.APPROVED
    assert len(autopay_sales(sandbox_gateway, invoice)) == 1
    [sent] = sandbox_gateway.credentials(order_id=attempt.payment.order_id)
    assert sent["initiated_by"] == "merchant"
    assert sent["stored_credential_indicator"] == "used"
    assert sent["billing_method"] == "recurring"
    assert sent["initial_transaction_id"] == saved_visa.initial_transaction_id


def test_the_portal_sale_that_saved_the_card_is_customer_initiated(
    clock, gateway, sandbox_gateway, saved_visa
):
    [first] = sandbox_gateway.credentials()
    assert first["initiated_by"] == "customer"
    assert first["stored_credential_indicator"] == "stored"
    assert first["billing_method"] == ""


def test_sandbox_refuses_a_merchant_initiated_sale_without_its_initial_transaction(
    gateway, sandbox_gateway, saved_visa
):
    answer = sandbox_gateway.transact(
        type="sale",
        amount="5.00",
        customer_vault_id=saved_visa.vault_id,
        initiated_by="merchant",
        stored_credential_indicator="used",
        billing_method="recurring",
    )
    assert answer["response"] == "3"
    assert "Initial transaction ID" in answer["responsetext"]


def test_a_business_bank_account_is_debited_as_ccd(
    clock, gateway, sandbox_gateway, manager, northwind, autopay_provider
):
    import uuid

    from remit.gateway.base import AccountHolderType
    from remit.payments.models import PaymentMethod
    from remit.payments.services import pay_invoice
    from tests.factories import make_invoice
    from tests.payments.conftest import new_bank

    first = make_invoice(northwind, total="10.00", number="NW-0002")
    pay_invoice(
        user=manager,
        invoice=first,
        attempt_key=uuid.uuid4(),
        choice=new_bank(holder=AccountHolderType.BUSINESS),
        save_method=True,
        ip_address="203.0.113.7",
        gateway=gateway,
    )
    account = PaymentMethod.objects.get(owner=manager)
    enrol_manager(manager, account)
    invoice = due_on(northwind, DUE, number="NW-1502")
    charge(gateway, clock, DUE)
    attempt = Attempt.objects.get(invoice=invoice)
    assert attempt.state == AttemptState.CHARGED  # pending settlement counts as charged
    [sent] = sandbox_gateway.credentials(order_id=attempt.payment.order_id)
    assert sent["kind"] == "ck"
    assert sent["sec_code"] == "CCD"


def test_a_decline_is_tried_twice_more_on_later_days_then_autopay_pauses_and_both_sides_are_told(
    clock, gateway, sandbox_gateway, manager, northwind, declining_card
):
    enrolment = enrol_manager(manager, declining_card)
    invoice = due_on(northwind, DUE, number="NW-1503")
    send_emails()

    assert charge(gateway, clock, DUE)["declined"] == 1
    assert charge(gateway, clock, DUE).get("declined", 0) == 0  # not again the same day
    declined = send_emails()
    assert [m.subject for m in declined] == ["Autopay charge of invoice NW-1503 was declined"]
    assert set(declined[0].to) >= {"manager@northwind.example", "billing@harborpoint.example"}

    assert charge(gateway, clock, DUE + datetime.timedelta(days=1))["declined"] == 1
    assert charge(gateway, clock, DUE + datetime.timedelta(days=2))["failed"] == 1
    assert charge(gateway, clock, DUE + datetime.timedelta(days=3)).get("failed", 0) == 0

    assert len(autopay_sales(sandbox_gateway, invoice)) == 3
    assert Payment.objects.filter(invoice=invoice, state=PaymentState.DECLINED).count() == 3
    enrolment.refresh_from_db()
    assert enrolment.paused_at is not None
    assert "declined 3 times" in enrolment.pause_reason
    subjects = {m.subject: m for m in send_emails()}
    paused = subjects["Autopay is paused for Northwind Traders"]
    assert {"manager@northwind.example", "billing@harborpoint.example"} <= set(paused.to)
    assert "0002" in paused.body
    assert "4000000000000002" not in paused.body


def test_an_invoice_above_the_cap_is_skipped_and_both_sides_are_told(
    clock, gateway, sandbox_gateway, manager, northwind, saved_visa
):
    enrol_manager(manager, saved_visa, cap="1000.00")
    invoice = due_on(northwind, DUE, total="1234.00", number="NW-1504")
    send_emails()
    assert charge(gateway, clock, DUE)["skipped"] == 1
    attempt = Attempt.objects.get(invoice=invoice)
    assert attempt.state == AttemptState.SKIPPED
    assert "above the autopay cap of $1,000.00" in attempt.reason
    assert autopay_sales(sandbox_gateway, invoice) == []
    [told] = send_emails()
    assert told.subject == "Autopay did not charge invoice NW-1504"
    assert {"manager@northwind.example", "billing@harborpoint.example"} <= set(told.to)
    assert "above the autopay cap" in told.body
    assert "above the autopay cap" in told.alternatives[0][0]


def test_after_cancelling_nothing_is_charged(
    clock, gateway, sandbox_gateway, manager, northwind, saved_visa
):
    enrolment = enrol_manager(manager, saved_visa)
    invoice = due_on(northwind, DUE, number="NW-1505")
    cancel(enrolment, user=manager)
    charge(gateway, clock, DUE)
    assert not Attempt.objects.exists()
    assert autopay_sales(sandbox_gateway, invoice) == []
    subjects = [m.subject for m in send_emails()]
    assert "Autopay has ended for Northwind Traders" in subjects


def test_a_paid_or_void_invoice_is_not_charged(
    clock, gateway, sandbox_gateway, manager, northwind, saved_visa
):
    from tests.factories import make_invoice

    enrol_manager(manager, saved_visa)
    make_invoice(
        northwind,
        total="50.00",
        paid="50.00",
        invoice_date=DUE - datetime.timedelta(days=30),
        due_date=DUE,
    )
    make_invoice(
        northwind,
        total="60.00",
        state="void",
        invoice_date=DUE - datetime.timedelta(days=30),
        due_date=DUE,
    )
    charge(gateway, clock, DUE)
    assert not Attempt.objects.exists()
    assert len(sales_at_gateway(sandbox_gateway)) == 1  # the sale that saved the card


def test_removing_the_method_ends_the_enrolment_and_says_so(
    clock, gateway, manager, northwind, saved_visa
):
    enrolment = enrol_manager(manager, saved_visa)
    send_emails()
    payment_method_remove(saved_visa, user=manager, gateway=gateway)
    enrolment.refresh_from_db()
    assert enrolment.ended_at is not None
    assert enrolment.end_reason == "Visa •••• 1111 was removed"
    [told] = send_emails()
    assert "Autopay with Visa •••• 1111 has ended: Visa •••• 1111 was removed" in told.body


def test_deactivating_the_user_ends_the_enrolment(clock, gateway, manager, northwind, saved_visa):
    enrolment = enrol_manager(manager, saved_visa)
    manager.is_active = False
    manager.save(update_fields=["is_active"])
    enrolment.refresh_from_db()
    assert enrolment.end_reason == "manager@northwind.example was deactivated"
    assert not Enrolment.objects.active().exists()


def test_the_charge_date_n_days_after_the_invoice_date(
    clock, gateway, sandbox_gateway, manager, northwind, saved_visa
):
    from tests.factories import make_invoice

    enrol_manager(manager, saved_visa, trigger="after:7")
    invoice = make_invoice(
        northwind,
        total="99.00",
        invoice_date=datetime.date(2026, 12, 2),
        due_date=datetime.date(2027, 1, 1),
    )
    charge(gateway, clock, datetime.date(2026, 12, 8))
    assert not Attempt.objects.exists()
    charge(gateway, clock, datetime.date(2026, 12, 9))
    attempt = Attempt.objects.get(invoice=invoice)
    assert attempt.charge_date == datetime.date(2026, 12, 9)
    assert attempt.state == AttemptState.CHARGED


@pytest.mark.parametrize("hours", [-3, 3])
def test_worker_clock_skew_cannot_make_a_second_attempt(
    clock, gateway, sandbox_gateway, manager, northwind, saved_visa, hours
):
    enrol_manager(manager, saved_visa)
    invoice = due_on(northwind, DUE, number="NW-1506")
    charge(gateway, clock, DUE)
    at(clock, DUE, hour=12 + hours)  # another worker, its clock hours off
    from remit.autopay.charge import run_autopay

    run_autopay(gateway=gateway)
    assert Attempt.objects.filter(invoice=invoice).count() == 1
    assert len(autopay_sales(sandbox_gateway, invoice)) == 1
