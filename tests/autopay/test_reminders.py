"""Payment reminders on the provider's schedule: each slot once, none after payment, none for a user
who opted out, the autopay notice instead for invoices on autopay, and the link lands in the
invoice's Make a Payment window after sign-in."""

import datetime
import re
from urllib.parse import urlsplit

import pytest
from django.urls import reverse

from remit.autopay.models import Reminder, ReminderOptOut
from remit.autopay.reminders import run_reminders, schedule
from remit.outbox.messages import build_message
from remit.outbox.models import OutgoingEmail
from tests.autopay.conftest import due_on, enrol_manager, send_emails
from tests.factories import PASSWORD

DUE = datetime.date(2026, 12, 15)


@pytest.fixture
def reminding(provider):
    provider.reminders_enabled = True
    provider.reminder_days_before = 3
    provider.reminder_on_due_date = True
    provider.reminder_overdue_every = 7
    provider.reminder_overdue_times = 4
    provider.support_email = "billing@harborpoint.example"
    provider.brand_color = "#7a1f5c"
    provider.save()
    return provider


def days(first: datetime.date, last: datetime.date):
    while first <= last:
        yield first
        first += datetime.timedelta(days=1)


def test_the_schedule(reminding):
    assert schedule(reminding, DUE) == [
        ("before-3", datetime.date(2026, 12, 12)),
        ("due", DUE),
        ("overdue-1", datetime.date(2026, 12, 22)),
        ("overdue-2", datetime.date(2026, 12, 29)),
        ("overdue-3", datetime.date(2027, 1, 5)),
        ("overdue-4", datetime.date(2027, 1, 12)),
    ]


def test_each_slot_is_sent_once_on_its_day(reminding, manager, northwind):
    invoice = due_on(northwind, DUE, number="NW-1801")
    sent_on = {}
    for day in days(DUE - datetime.timedelta(days=10), DUE + datetime.timedelta(days=60)):
        run_reminders(today=day)
        run_reminders(today=day)  # a second worker, the same day: nothing more
        for reminder in Reminder.objects.filter(invoice=invoice):
            sent_on.setdefault(reminder.slot, reminder.sent_on)
    assert sent_on == dict(schedule(reminding, DUE))
    assert OutgoingEmail.objects.filter(kind="payment_reminder").count() == 6
    subjects = [m.subject for m in send_emails()]
    assert subjects.count("Invoice NW-1801 is overdue") == 4
    assert "Invoice NW-1801 is due on Dec 15, 2026" in subjects


def test_none_after_payment(reminding, manager, northwind):
    invoice = due_on(northwind, DUE, number="NW-1802")
    run_reminders(today=DUE - datetime.timedelta(days=3))
    invoice.amount_paid = invoice.total
    invoice.save()
    for day in days(DUE - datetime.timedelta(days=2), DUE + datetime.timedelta(days=40)):
        run_reminders(today=day)
    assert list(Reminder.objects.values_list("slot", flat=True)) == ["before-3"]
    assert send_emails() == []  # the queued one is not needed any more: skipped, not sent
    assert OutgoingEmail.objects.get().status == "skipped"


def test_none_for_a_user_who_opted_out(reminding, manager, northwind):
    from tests.factories import manager_of

    colleague = manager_of(northwind, email="colleague@northwind.example")
    ReminderOptOut.objects.create(user=manager)
    due_on(northwind, DUE, number="NW-1803")
    run_reminders(today=DUE)
    [message] = send_emails()
    assert "manager@northwind.example" not in message.to
    assert colleague.email in message.to
    assert "ap@northwind.example" in message.to


def test_opting_out_in_the_portal(reminding, as_manager, manager):
    response = as_manager.post(reverse("autopay_reminders"), {"reminders": "off"}, follow=True)
    assert "Payment reminders are off for you" in response.text
    assert ReminderOptOut.objects.filter(user=manager).exists()
    as_manager.post(reverse("autopay_reminders"), {"reminders": "on"})
    assert not ReminderOptOut.objects.filter(user=manager).exists()


def test_the_email_is_html_and_text_in_the_providers_name_and_colour(reminding, manager, northwind):
    due_on(northwind, DUE, total="1234.00", number="NW-1804")
    run_reminders(today=DUE - datetime.timedelta(days=3))
    [message] = send_emails()
    html = message.alternatives[0][0]
    assert "Harbor Point IT" in message.body
    assert "$1,234.00" in message.body
    assert "billing@harborpoint.example" in message.body
    assert "#7a1f5c" in html
    assert "Make a Payment" in html


def test_the_link_leads_through_sign_in_to_the_make_a_payment_window(
    reminding, client, manager, northwind
):
    invoice = due_on(northwind, DUE, number="NW-1805")
    run_reminders(today=DUE)
    message = build_message(OutgoingEmail.objects.get())
    link = re.search(r"https?://\S+/invoices/\d+/pay/", message.body).group(0)
    path = urlsplit(link).path
    assert path == reverse("make_payment", args=[invoice.pk])

    to_sign_in = client.get(path)
    assert to_sign_in.status_code == 302
    login_url = to_sign_in["Location"]
    assert login_url.startswith(reverse("login"))
    signed_in = client.post(
        login_url, {"username": manager.email, "password": PASSWORD}, follow=True
    )
    assert signed_in.redirect_chain[-1][0] == path
    assert "Make a Payment" in signed_in.text
    assert "Invoice NW-1805" in signed_in.text


def test_an_invoice_on_autopay_gets_the_autopay_notice_instead(
    reminding, clock, gateway, manager, northwind, saved_visa
):
    enrol_manager(manager, saved_visa)
    due_on(northwind, DUE, number="NW-1806")
    send_emails()  # the first payment's receipt, the enrolment's confirmation
    run_reminders(today=DUE - datetime.timedelta(days=3))
    assert list(Reminder.objects.values_list("kind", flat=True)) == ["autopay_notice"]
    ReminderOptOut.objects.create(user=manager)  # notices come all the same
    [message] = send_emails()
    assert "We will charge Visa •••• 1111 on Dec 15, 2026" in message.body
    assert "manager@northwind.example" in message.to
    assert "4111111111111111" not in message.body
