"""What waits for staff: a payment stuck processing or unknown past RECONCILE_ALERT_AFTER is alerted
once (audit event, email to staff, a badge and a tile in the back office), and failed emails are
listed with a resend that sends them."""

import datetime

import pytest
from django.core import mail
from django.utils import timezone

from remit.core.periodic import enqueue_due_jobs
from remit.payments.models import Payment, PaymentState
from tests.backoffice.conftest import audit, make_payment
from tests.conftest import closed_port
from tests.factories import make_invoice
from tests.payments.conftest import run_worker

pytestmark = pytest.mark.django_db


@pytest.fixture
def gateway_down(settings):
    settings.GATEWAY_URL = f"http://127.0.0.1:{closed_port()}/api/transact.php"
    settings.GATEWAY_SECURITY_KEY = "sandbox-key"


def periodic_run(now: datetime.datetime) -> None:
    assert "reconcile-payments" in enqueue_due_jobs(now.timestamp())
    run_worker()


def test_a_payment_stuck_past_the_threshold_is_alerted_once(
    as_staff, staff, manager, northwind, invoice, gateway_down, settings, time_machine
):
    settings.RECONCILE_ALERT_AFTER = 600
    time_machine.move_to(timezone.now(), tick=False)
    now = timezone.now()
    stuck = make_payment(invoice, manager, state=PaymentState.UNKNOWN, transaction_id="")
    Payment.objects.filter(pk=stuck.pk).update(created_at=now - datetime.timedelta(minutes=40))
    recent = make_payment(
        make_invoice(northwind, total="90.00"), manager, state="processing", transaction_id=""
    )
    Payment.objects.filter(pk=recent.pk).update(created_at=now - datetime.timedelta(minutes=5))

    for minute in range(3):  # three periodic runs, the gateway unreachable throughout
        periodic_run(now + datetime.timedelta(minutes=minute))

    events = audit("payment.stuck")
    assert [e.object_id for e in events] == [str(stuck.pk)]
    assert stuck.order_id in events[0].summary
    alerts = [m for m in mail.outbox if stuck.order_id in m.subject]
    assert len(alerts) == 1
    assert alerts[0].subject == f"Payment {stuck.order_id} is still being confirmed"
    assert staff.email in alerts[0].to
    assert invoice.number in alerts[0].body
    assert not [m for m in mail.outbox if recent.order_id in m.subject]

    home = as_staff.get("/backoffice/").content.decode()
    assert "payment stuck in flight" in home
    assert 'title="payments stuck in flight">1<' in home  # the header's badge
    listing = as_staff.get("/backoffice/payments/payment/?status=stuck").content.decode()
    assert invoice.number in listing
    assert "NW-" in listing

    Payment.objects.filter(pk=stuck.pk).update(state=PaymentState.FAILED)  # finished at last
    assert "stuck in flight" not in as_staff.get("/backoffice/").content.decode()


def test_the_threshold_is_configurable(manager, invoice, gateway_down, settings, time_machine):
    settings.RECONCILE_ALERT_AFTER = 3 * 3600
    time_machine.move_to(timezone.now(), tick=False)
    stuck = make_payment(invoice, manager, state=PaymentState.UNKNOWN, transaction_id="")
    Payment.objects.filter(pk=stuck.pk).update(
        created_at=timezone.now() - datetime.timedelta(hours=2)
    )
    periodic_run(timezone.now())
    assert not audit("payment.stuck").exists()
    time_machine.shift(datetime.timedelta(hours=1, minutes=1))
    periodic_run(timezone.now())
    assert audit("payment.stuck").count() == 1
