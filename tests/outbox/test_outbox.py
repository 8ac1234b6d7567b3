"""The worker's emails survive a mail server that is down: a receipt is tried again with backoff and
sent once the server answers; after the last attempt (or a permanent refusal) it is marked failed,
shown in the back office, and staff can send it again."""

import datetime

import pytest
from django.core import mail
from django.utils import timezone

from remit.accounts.models import User
from tests.backoffice.conftest import audit
from tests.factories import sign_in_staff
from tests.outbox.conftest import run_ready_jobs, smtp_back_up
from tests.payments.conftest import new_card

pytestmark = pytest.mark.django_db


def receipts_for(invoice) -> list:
    return [m for m in mail.outbox if m.subject == f"Payment received: invoice {invoice.number}"]


def test_a_receipt_is_retried_while_smtp_is_down_then_sent(
    pay, invoice, manager, smtp_down, time_machine
):
    time_machine.move_to(timezone.now(), tick=True)
    pay(invoice, new_card())
    run_ready_jobs()  # SMTP down: the first attempt fails
    assert not mail.outbox

    smtp_back_up(smtp_down)
    time_machine.shift(datetime.timedelta(minutes=3))
    run_ready_jobs()

    (receipt,) = receipts_for(invoice)
    assert receipt.to == [manager.email, "ap@northwind.example"]
    assert "Visa •••• 1111" in receipt.body

    from remit.outbox.models import OutgoingEmail

    email = OutgoingEmail.objects.get()
    assert (email.kind, email.status, email.attempts) == ("receipt", "sent", 2)
    assert email.recipients == [manager.email, "ap@northwind.example"]
    assert email.subject == receipt.subject
    assert email.next_attempt_at is None


def test_the_backoff_spaces_attempts_and_records_the_error(
    pay, invoice, smtp_down, time_machine, settings
):
    from remit.outbox.models import OutgoingEmail

    settings.EMAIL_RETRY_BASE_SECONDS = 60
    time_machine.move_to(timezone.now(), tick=False)
    pay(invoice, new_card())
    run_ready_jobs()
    email = OutgoingEmail.objects.get()
    assert (email.status, email.attempts) == ("pending", 1)
    assert email.last_error.startswith("ConnectionRefusedError")
    assert email.next_attempt_at == timezone.now() + datetime.timedelta(seconds=60)
    run_ready_jobs()  # not due yet
    assert OutgoingEmail.objects.get().attempts == 1
    time_machine.shift(datetime.timedelta(seconds=61))
    run_ready_jobs()
    email.refresh_from_db()
    assert (email.attempts, email.next_attempt_at) == (
        2,
        timezone.now() + datetime.timedelta(seconds=120),
    )


def test_after_the_last_attempt_staff_see_it_and_send_it_again(
    client, staff, pay, invoice, manager, smtp_down, settings, time_machine
):
    from remit.outbox.models import OutgoingEmail

    settings.EMAIL_MAX_ATTEMPTS = 3
    sign_in_staff(client, staff)
    time_machine.move_to(timezone.now(), tick=True)
    pay(invoice, new_card())
    for _ in range(4):
        run_ready_jobs()
        time_machine.shift(datetime.timedelta(hours=1))
    email = OutgoingEmail.objects.get()
    assert (email.status, email.attempts, email.next_attempt_at) == ("failed", 3, None)
    assert audit("email.failed", object_id=str(email.pk)).count() == 1

    home = client.get("/backoffice/").text
    assert "email failed" in home
    assert 'title="failed emails">1<' in home
    listing = client.get("/backoffice/outbox/outgoingemail/?attention=failed").text
    assert f"Payment received: invoice {invoice.number}" in listing
    assert "ConnectionRefusedError" in listing
    detail = client.get(f"/backoffice/outbox/outgoingemail/{email.pk}/change/")
    assert detail.status_code == 200
    assert 'name="_save"' not in detail.text  # read-only

    smtp_back_up(settings)
    response = client.post(
        "/backoffice/outbox/outgoingemail/", {"action": "resend", "_selected_action": [email.pk]}
    )
    assert response.status_code == 302
    assert audit("email.resent", actor=staff).count() == 1
    run_ready_jobs()
    assert len(receipts_for(invoice)) == 1
    again = OutgoingEmail.objects.exclude(pk=email.pk).get()
    assert (again.status, again.resent_from) == ("sent", email)
    assert "email failed" not in client.get("/backoffice/").text


def test_a_permanent_refusal_fails_at_once(pay, invoice, smtp_refusing):
    from remit.outbox.models import OutgoingEmail

    pay(invoice, new_card())
    run_ready_jobs()
    email = OutgoingEmail.objects.get()
    assert (email.status, email.attempts) == ("failed", 1)
    assert "No such user" in email.last_error


def test_an_invitation_is_retried_and_skipped_once_accepted(
    northwind, manager, smtp_down, time_machine
):
    from remit.outbox.models import EmailKind, OutgoingEmail
    from remit.outbox.services import email_queue

    time_machine.move_to(timezone.now(), tick=True)
    invited = User.objects.create_user(
        "invited@northwind.example",
        None,
        organization=northwind,
        security_level=manager.security_level,
    )
    email = email_queue(EmailKind.INVITATION, user=invited, base_url="http://testserver/")
    run_ready_jobs()
    email.refresh_from_db()
    assert (email.status, email.attempts) == ("pending", 1)
    invited.set_password("chosen meanwhile via a reset 2026")
    invited.save()
    time_machine.shift(datetime.timedelta(minutes=3))
    run_ready_jobs()
    email.refresh_from_db()
    assert email.status == "skipped"
    assert not OutgoingEmail.objects.filter(status="pending").exists()


def test_receipt_jobs_queued_before_the_outbox_still_send(pay, invoice, manager):
    """A deploy finds receipt jobs of the old kind (send_payment_receipt(payment_id)) in the queue."""
    from remit.outbox.models import OutgoingEmail
    from remit.payments.tasks import send_payment_receipt

    payment = pay(invoice, new_card())
    run_ready_jobs()
    mail.outbox.clear()
    send_payment_receipt.enqueue(payment.pk)
    assert run_ready_jobs() == []
    (receipt,) = receipts_for(invoice)
    assert receipt.to == [manager.email, "ap@northwind.example"]
    assert OutgoingEmail.objects.filter(kind="receipt", status="sent").count() == 2
