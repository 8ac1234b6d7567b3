"""Payment reminders on the provider's schedule: N days before the due date, on it, every E days
overdue up to K times. Each slot of each invoice is sent once (the Reminder row's unique
constraint); an invoice on autopay gets the "we will charge …" notice instead; none once paid.

A run sends, per invoice, only the latest slot whose day has come: a worker that was down for a
while sends one reminder late rather than every one it missed."""

from __future__ import annotations

import datetime
import logging

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils.formats import date_format

from remit.autopay.models import Enrolment, Reminder
from remit.billing.models import Invoice
from remit.core.models import Provider
from remit.core.money import ZERO, format_money
from remit.payments.models import PaymentAllocation

logger = logging.getLogger(__name__)


def schedule(provider: Provider, due_date: datetime.date) -> list[tuple[str, datetime.date]]:
    """The slots of an invoice due on `due_date`, in date order."""
    slots = []
    if provider.reminder_days_before:
        slots.append(
            (
                f"before-{provider.reminder_days_before}",
                due_date - datetime.timedelta(days=provider.reminder_days_before),
            )
        )
    if provider.reminder_on_due_date:
        slots.append(("due", due_date))
    if provider.reminder_overdue_every:
        for k in range(1, provider.reminder_overdue_times + 1):
            slots.append(
                (
                    f"overdue-{k}",
                    due_date + datetime.timedelta(days=k * provider.reminder_overdue_every),
                )
            )
    return slots


def current_slot(provider: Provider, due_date, today) -> tuple[str, datetime.date] | None:
    passed = [(slot, day) for slot, day in schedule(provider, due_date) if day <= today]
    return passed[-1] if passed else None


def run_reminders(*, today: datetime.date | None = None) -> dict:
    from remit.autopay.charge import provider_today

    provider = Provider.load()
    if not provider.reminders_enabled:
        return {"enabled": False}
    today = today or provider_today(provider)
    first = today - datetime.timedelta(
        days=provider.reminder_overdue_every * provider.reminder_overdue_times
    )
    last = today + datetime.timedelta(days=provider.reminder_days_before)
    invoices = (
        Invoice.objects.filter(
            state=Invoice.State.ISSUED,
            amount_due__gt=ZERO,
            due_date__gte=first,
            due_date__lte=last,
        )
        .exclude(pk__in=PaymentAllocation.objects.filter(in_flight=True).values("invoice_id"))
        .values_list("id", "organization_id", "due_date")
    )
    candidates = []
    for pk, organization_id, due_date in invoices.iterator(chunk_size=2000):
        slot = current_slot(provider, due_date, today)
        if slot is not None:
            candidates.append((pk, organization_id, due_date, slot[0]))
    sent_before = set(
        Reminder.objects.filter(invoice_id__in=[c[0] for c in candidates]).values_list(
            "invoice_id", "slot"
        )
    )
    on_autopay = {
        e.organization_id: e for e in Enrolment.objects.charging().select_related("payment_method")
    }
    sent = {"reminder": 0, "autopay_notice": 0}
    for pk, organization_id, _due, slot in candidates:
        if (pk, slot) in sent_before:
            continue
        enrolment = on_autopay.get(organization_id)
        kind = Reminder.Kind.REMINDER
        if enrolment is not None and not slot.startswith("overdue"):
            kind = Reminder.Kind.AUTOPAY_NOTICE
        if _send(pk, slot, kind, today):
            sent[kind] += 1
    return sent


def _send(invoice_id: int, slot: str, kind: str, today) -> bool:
    from remit.outbox.models import EmailKind
    from remit.outbox.services import email_queue

    try:
        with transaction.atomic():
            reminder = Reminder.objects.create(
                invoice_id=invoice_id, slot=slot, kind=kind, sent_on=today
            )
            email_kind = (
                EmailKind.AUTOPAY_NOTICE
                if kind == Reminder.Kind.AUTOPAY_NOTICE
                else EmailKind.PAYMENT_REMINDER
            )
            reminder.email = email_queue(email_kind, about_id=reminder.pk)
            reminder.save(update_fields=["email"])
    except IntegrityError:  # another worker sent this slot
        return False
    return True


# -- the emails --


def _reminder(email) -> Reminder | None:
    reminder = (
        Reminder.objects.select_related("invoice__organization").filter(pk=email.about_id).first()
    )
    if reminder is None:
        return None
    invoice = reminder.invoice
    if invoice.state != Invoice.State.ISSUED or invoice.balance <= ZERO:
        return None  # paid or voided since: nothing to remind of
    return reminder


def _rows(invoice):
    return [
        ("Invoice", invoice.number),
        ("Amount due", format_money(invoice.balance, invoice.currency)),
        ("Due date", date_format(invoice.due_date, "M j, Y")),
    ]


def reminder_email(email):
    from remit.autopay.emails import _message, client_recipients, portal_link

    reminder = _reminder(email)
    if reminder is None:
        return None
    invoice = reminder.invoice
    provider = Provider.load()
    overdue = reminder.slot.startswith("overdue")
    if overdue:
        subject, title = f"Invoice {invoice.number} is overdue", "Invoice overdue"
        line = f"Invoice {invoice.number} was due on {date_format(invoice.due_date, 'M j, Y')}."
    else:
        subject = f"Invoice {invoice.number} is due on {date_format(invoice.due_date, 'M j, Y')}"
        title, line = "Payment reminder", f"A friendly reminder from {provider.name}."
    message = _message(
        subject,
        client_recipients(invoice.organization, reminders=True),
        title=title,
        lines=[line, "You can pay it online by card or eCheck."],
        rows=_rows(invoice),
        link=(portal_link(reverse("make_payment", args=[invoice.pk])), "Make a Payment"),
        unsubscribe="Don't want these reminders? Turn them off under Payment methods → "
        "Autopay and reminders in the portal.",
    )
    return message


def notice_email(email):
    from remit.autopay.charge import provider_today
    from remit.autopay.emails import _message, client_recipients, portal_link

    reminder = _reminder(email)
    if reminder is None:
        return None
    invoice = reminder.invoice
    enrolment = (
        Enrolment.objects.charging()
        .select_related("payment_method", "user")
        .filter(organization_id=invoice.organization_id)
        .first()
    )
    if enrolment is None:
        return None
    provider = Provider.load()
    when = max(enrolment.charge_date(invoice), provider_today(provider))
    method = enrolment.payment_method.label
    lines = [f"We will charge {method} on {date_format(when, 'M j, Y')} for this invoice."]
    fee = _surcharge(enrolment, invoice)
    if fee:
        lines = [
            f"We will charge {method} on {date_format(when, 'M j, Y')} for this invoice: "
            f"{format_money(invoice.balance)} plus a {format_money(fee)} card surcharge."
        ]
    if enrolment.cap is not None and invoice.balance > enrolment.cap:
        lines = [
            f"This invoice is above your autopay cap of {format_money(enrolment.cap)}, so it "
            "will not be charged automatically. Please pay it in the portal."
        ]
    return _message(
        f"Autopay: invoice {invoice.number} will be charged on {date_format(when, 'M j, Y')}",
        client_recipients(invoice.organization, user=enrolment.user),
        title="Upcoming autopay charge",
        lines=lines,
        rows=_rows(invoice),
        link=(portal_link(reverse("autopay")), "See autopay"),
    )


def _surcharge(enrolment, invoice):
    """The card surcharge the charge will add (the payment code's own rules), or 0."""
    from remit.payments.services import SavedMethod
    from remit.payments.surcharge import quote

    choice = SavedMethod(method=enrolment.payment_method)
    return quote(choice, organization=invoice.organization, base=invoice.balance).surcharge
