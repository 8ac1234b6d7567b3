"""Status at its edges: due today, due yesterday, paid to the cent, void — in the provider's zone."""

import datetime
import zoneinfo
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from remit.billing.models import Invoice, InvoiceStatus, invoice_status
from tests.factories import make_invoice

TODAY = datetime.date(2026, 3, 10)


def status(**overrides):
    fields = {
        "state": Invoice.State.ISSUED,
        "amount_due": Decimal("10.00"),
        "due_date": TODAY,
        "today": TODAY,
    }
    fields.update(overrides)
    return invoice_status(**fields)


def test_due_today_is_due():
    assert status() == InvoiceStatus.DUE


def test_due_yesterday_is_overdue():
    assert status(due_date=TODAY - datetime.timedelta(days=1)) == InvoiceStatus.OVERDUE


def test_due_tomorrow_is_due():
    assert status(due_date=TODAY + datetime.timedelta(days=1)) == InvoiceStatus.DUE


def test_paid_to_the_cent_is_paid():
    assert status(amount_due=Decimal("0.00")) == InvoiceStatus.PAID


def test_one_cent_short_is_still_due_or_overdue():
    assert status(amount_due=Decimal("0.01")) == InvoiceStatus.DUE
    assert (
        status(amount_due=Decimal("0.01"), due_date=TODAY.replace(day=1)) == InvoiceStatus.OVERDUE
    )


def test_void_beats_everything():
    assert status(state=Invoice.State.VOID) == InvoiceStatus.VOID
    assert status(state=Invoice.State.VOID, amount_due=Decimal("0")) == InvoiceStatus.VOID
    assert status(state=Invoice.State.VOID, due_date=TODAY.replace(day=1)) == InvoiceStatus.VOID


def test_payment_pending_shows_while_money_is_in_flight():
    overdue = TODAY.replace(day=1)
    assert status(payment_pending=True, due_date=overdue) == InvoiceStatus.PAYMENT_PENDING
    assert status(payment_pending=True, amount_due=Decimal("0")) == InvoiceStatus.PAID


@pytest.mark.django_db
def test_overdue_follows_the_providers_time_zone(as_manager, northwind, provider):
    """At 01:00 UTC on Mar 11 it is still Mar 10 in New York: an invoice due Mar 10 is Due there,
    and Overdue for a provider in Tokyo, where Mar 11 has begun."""
    invoice = make_invoice(
        northwind, invoice_date=datetime.date(2026, 2, 8), due_date=datetime.date(2026, 3, 10)
    )
    moment = datetime.datetime(2026, 3, 11, 1, 0, tzinfo=zoneinfo.ZoneInfo("UTC"))
    url = reverse("invoice_detail", args=[invoice.pk])
    with time_machine.travel(moment, tick=False):
        assert "badge--due" in as_manager.get(url).text
        provider.time_zone = "Asia/Tokyo"
        provider.save()
        assert "badge--overdue" in as_manager.get(url).text


@pytest.mark.django_db
def test_amount_due_is_total_minus_paid_in_the_database(northwind):
    invoice = make_invoice(northwind, total="100.10", paid="33.37")
    assert invoice.amount_due == Decimal("66.73")
    assert Invoice.objects.filter(amount_due=Decimal("66.73")).count() == 1
