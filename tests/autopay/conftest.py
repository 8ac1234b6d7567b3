"""Autopay against the real sandbox gateway, with a controlled clock (time-machine). The Northwind
manager saves a Visa by paying a first invoice (a real customer-initiated sale that stores it),
then enrols."""

import datetime
import uuid
import zoneinfo

import pytest
import time_machine
from django.core import mail

from remit.autopay.charge import run_autopay
from remit.autopay.services import enrol
from remit.outbox.models import OutgoingEmail
from remit.outbox.services import email_attempt
from remit.payments.models import MethodKind, PaymentMethod
from remit.payments.services import pay_invoice
from tests.api.conftest import api, make_key, psa_key  # noqa: F401  (the API's keys)
from tests.factories import make_invoice
from tests.payments.conftest import new_card

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
START = datetime.datetime(2026, 12, 1, 10, 0, tzinfo=NEW_YORK)  # the day of enrolment
DECLINED_CARD = "4000000000000002"


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=True) as traveller:
        yield traveller


def at(traveller, day: datetime.date, hour: int = 9) -> None:
    traveller.move_to(datetime.datetime.combine(day, datetime.time(hour), NEW_YORK))


@pytest.fixture
def autopay_provider(provider):
    provider.autopay_enabled = True
    provider.autopay_on_due_date = True
    provider.autopay_days_after_invoice = "7, 15"
    provider.support_email = "billing@harborpoint.example"
    provider.save()
    return provider


@pytest.fixture
def saved_visa(clock, gateway, manager, northwind, autopay_provider):
    """A Visa saved by paying a first invoice (its sale is the initial stored-credential one)."""
    first = make_invoice(northwind, total="10.00", number="NW-0001")
    payment = pay_invoice(
        user=manager,
        invoice=first,
        attempt_key=uuid.uuid4(),
        choice=new_card(),
        save_method=True,
        ip_address="203.0.113.7",
        gateway=gateway,
    )
    method = PaymentMethod.objects.get(owner=manager)
    assert method.initial_transaction_id == payment.transaction_id
    return method


@pytest.fixture
def declining_card(clock, gateway, manager, autopay_provider):
    """A card that the vault holds but every sale declines (added to the vault directly)."""
    from remit.gateway.base import Card

    year = datetime.date.today().year + 3
    result = gateway.vault_add(card=Card(DECLINED_CARD, 12, year, "123"))
    assert result.customer_vault_id
    return PaymentMethod.objects.create(
        owner=manager,
        kind=MethodKind.CARD,
        vault_id=result.customer_vault_id,
        brand="Visa",
        last4="0002",
        exp_month=12,
        exp_year=year,
        initial_transaction_id="3000000001",
    )


def enrol_manager(manager, method, *, trigger="due_date", cap=None):
    return enrol(user=manager, method=method, trigger=trigger, cap=cap, ip_address="203.0.113.7")


def due_on(organization, day: datetime.date, total="1234.00", number=None):
    return make_invoice(
        organization,
        total=total,
        number=number,
        invoice_date=day - datetime.timedelta(days=30),
        due_date=day,
    )


def charge(gateway, traveller, day):
    at(traveller, day)
    return run_autopay(gateway=gateway)


def send_emails() -> list:
    """Send every pending email now (as the worker would); the messages sent."""
    mail.outbox.clear()
    for email in OutgoingEmail.objects.filter(status="pending").order_by("id"):
        email_attempt(email.pk)
    return list(mail.outbox)
