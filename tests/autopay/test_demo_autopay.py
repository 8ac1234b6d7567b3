"""`make demo`'s autopay (remit/autopay/demo.py, run by `remit demo` once the sandbox gateway
answers, before the worker starts): against the real sandbox process, then the worker's periodic
jobs once each — Contoso's invoice due today is charged with its saved Visa, and Northwind's gets a
"due today" reminder email. Running the set-up again changes nothing."""

import pytest
from django.core.management import call_command

from remit.autopay.charge import run_autopay
from remit.autopay.demo import prepare_autopay_demo
from remit.autopay.models import Attempt, AttemptState, Enrolment, Reminder
from remit.autopay.reminders import run_reminders
from remit.payments.models import PaymentMethod, PaymentState
from tests.autopay.conftest import send_emails


@pytest.fixture
def seeded(db, monkeypatch):
    monkeypatch.delenv("AUTOTASK_SANDBOX_URL", raising=False)
    call_command("seed_demo", verbosity=0)


def test_the_demo_enrols_contoso_whose_invoice_the_worker_charges_and_reminds_northwind(
    seeded, gateway, sandbox_gateway
):
    done = prepare_autopay_demo(gateway=gateway)
    enrolment = done["enrolment"]
    assert enrolment.organization.name == "Contoso Ltd"
    assert enrolment.payment_method.label == "Visa •••• 1111"
    assert enrolment.payment_method.initial_transaction_id  # the portal sale that saved it
    invoice = done["charged_invoice"]

    reminded = run_reminders()  # the worker's first runs: reminders, then autopay
    result = run_autopay(gateway=gateway)
    assert result["charged"] == 1, result

    attempt = Attempt.objects.get(invoice=invoice)
    assert attempt.state == AttemptState.CHARGED
    assert attempt.payment.state == PaymentState.APPROVED
    invoice.refresh_from_db()
    assert invoice.amount_due == 0
    assert reminded
    slots = set(Reminder.objects.values_list("invoice__number", "kind"))
    assert (done["reminded_invoice"].number, Reminder.Kind.REMINDER) in slots
    emails = send_emails()
    reminder = [m for m in emails if done["reminded_invoice"].number in m.body]
    assert reminder
    assert "ap@northwind.example" in reminder[0].to

    # Safe to run twice: the same enrolment, card and invoices; nothing charged again.
    again = prepare_autopay_demo(gateway=gateway)
    assert again["enrolment"].pk == enrolment.pk
    assert again["charged_invoice"].pk == invoice.pk
    assert PaymentMethod.objects.filter(owner=enrolment.user).count() == 1
    assert Enrolment.objects.count() == 1
    assert run_autopay(gateway=gateway).get("charged", 0) == 0
