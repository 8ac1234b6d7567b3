"""Payments announced to the provider's endpoints: a delivery is written with the payment's change
(same transaction), sent by the worker, signed, retried with backoff, and never carries a card or
account number."""

import datetime
import json
import uuid

import pytest
from django.db import transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from remit.payments.models import Payment
from remit.payments.services import reconcile_payment, refund_payment, void_payment
from remit.payments.signals import payment_changed
from remit.webhooks.models import WebhookDelivery, WebhookEndpoint
from remit.webhooks.services import delivery_resend, retry_delay
from tests.payments.conftest import (
    ACCOUNT,
    DECLINED_CARD,
    RETURNED_R01_ACCOUNT,
    ROUTING,
    VISA,
    new_bank,
    new_card,
    run_worker,
)

SECRET_NUMBERS = [VISA, DECLINED_CARD, ACCOUNT, RETURNED_R01_ACCOUNT, ROUTING]


def assert_no_card_or_account_numbers(receiver):
    for request in receiver.requests:
        text = request["body"].decode()
        for number in SECRET_NUMBERS:
            assert number not in text
        assert "cvv" not in text.lower()


def webhook_jobs() -> int:
    return DBTaskResult.objects.filter(task_path__endswith="deliver_webhook").count()


def test_a_card_payment_is_signed_retried_after_a_500_and_masked(
    pay, invoice, endpoint, receiver, time_machine
):
    time_machine.move_to(timezone.now(), tick=True)
    receiver.script = [500, 200]
    payment = pay(invoice, new_card())

    # Written with the payment, before any worker ran.
    delivery = WebhookDelivery.objects.get()
    assert (delivery.event_type, delivery.payment, delivery.status) == (
        "payment.succeeded",
        payment,
        "pending",
    )
    assert webhook_jobs() == 1

    run_worker()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("pending", 1, 500)
    assert delivery.last_response == "receiver says no"
    assert delivery.next_attempt_at - delivery.last_attempt_at == datetime.timedelta(seconds=30)
    run_worker()  # the retry is not due yet
    assert len(receiver.requests) == 1

    time_machine.shift(datetime.timedelta(seconds=31))
    run_worker()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 2, 200)
    assert delivery.delivered_at is not None

    first, second = receiver.requests
    assert first["signed"]
    assert second["signed"]
    assert first["body"] == second["body"]  # the same event, re-signed
    assert (
        first["headers"]["Webhook-Id"] == second["headers"]["Webhook-Id"] == str(delivery.event_id)
    )
    assert first["headers"]["Webhook-Signature"] != second["headers"]["Webhook-Signature"]
    event = first["json"]
    assert set(event) == {"id", "type", "created", "data"}
    assert (event["id"], event["type"]) == (str(delivery.event_id), "payment.succeeded")
    data = event["data"]
    assert data["id"] == str(payment.public_id)
    assert data["invoice_number"] == "NW-1001"
    assert data["method"] == {"kind": "card", "label": "Visa •••• 1111"}
    assert (data["state"], data["sale_amount"], data["applied_amount"]) == (
        "approved",
        "1234.00",
        "1234.00",
    )
    assert data["refund"] is None
    assert_no_card_or_account_numbers(receiver)


def test_the_data_is_the_payment_as_the_api_shows_it(pay, invoice, endpoint, receiver, client):
    from remit.api.keys import api_key_create

    payment = pay(invoice, new_card())
    run_worker()
    _, key = api_key_create(name="Reader", scopes=["payments:read"])
    shown = client.get(
        f"/api/payments/{payment.public_id}", headers={"Authorization": f"Bearer {key}"}
    ).json()
    data = receiver.requests[0]["json"]["data"]
    assert data.pop("refund") is None
    assert data == shown


def test_every_event_of_a_payments_life(
    pay,
    invoice,
    contoso_invoice,
    endpoint,
    receiver,
    sandbox_gateway,
    gateway,
    manager,
    other_manager,
):
    pay(contoso_invoice, new_card(DECLINED_CARD), user=other_manager)  # payment.failed
    echeck = pay(invoice, new_bank())  # payment.pending
    sandbox_gateway.settle()
    reconcile_payment(echeck.pk)  # payment.succeeded (settled)
    echeck.refresh_from_db()
    refund = refund_payment(echeck, acting_user=None, reason="Duplicate", gateway=gateway)
    run_worker()
    assert receiver.events == [
        "payment.failed",
        "payment.pending",
        "payment.succeeded",
        "payment.refunded",
    ]
    assert all(request["signed"] for request in receiver.requests)
    refunded = receiver.requests[-1]["json"]["data"]
    assert refunded["refund"]["id"] == refund.order_id
    assert (refunded["refund"]["amount"], refunded["refunded_amount"]) == ("1234.00", "1234.00")
    assert refunded["method"]["label"] == "eCheck · Checking •••• 3815"
    assert_no_card_or_account_numbers(receiver)


def test_returns_and_voids(pay, due_invoice, invoice, endpoint, receiver, sandbox_gateway, gateway):
    returned = pay(due_invoice, new_bank(RETURNED_R01_ACCOUNT))
    sandbox_gateway.settle()
    assert reconcile_payment(returned.pk) == "returned"
    card = pay(invoice, new_card())
    void_payment(card, acting_user=None, gateway=gateway)
    run_worker()
    assert receiver.events == [
        "payment.pending",
        "payment.returned",
        "payment.succeeded",
        "payment.refunded",
    ]
    returned_data = receiver.requests[1]["json"]["data"]
    assert (returned_data["state"], returned_data["return_code"]) == ("returned", "R01")
    voided = receiver.requests[3]["json"]["data"]
    assert (voided["state"], voided["refund"]["kind"]) == ("voided", "void")
    assert_no_card_or_account_numbers(receiver)


def test_endpoints_get_what_they_subscribed_to(pay, invoice, receiver, db):
    WebhookEndpoint.objects.create(url=receiver.url, events=["payment.refunded"])
    WebhookEndpoint.objects.create(url=receiver.url, is_active=False)
    pay(invoice, new_card())
    assert not WebhookDelivery.objects.exists()
    assert webhook_jobs() == 0


def test_no_change_no_delivery(invoice, endpoint, provider):
    """The listener writes in the payment's transaction: when that rolls back, nothing is left."""

    @transaction.atomic
    def change_then_fail():
        payment = Payment.objects.create(
            invoice=invoice,
            organization=invoice.organization,
            attempt_key=uuid.uuid4(),
            request_fingerprint="-",
            amount=invoice.total,
            method_kind="card",
            method_brand="Visa",
            method_last4="1111",
        )
        payment_changed.send(sender=Payment, payment=payment, event="payment.succeeded")
        assert WebhookDelivery.objects.count() == 1
        assert webhook_jobs() == 1
        raise RuntimeError("the payment's transaction fails")

    with pytest.raises(RuntimeError):
        change_then_fail()
    assert not WebhookDelivery.objects.exists()
    assert webhook_jobs() == 0


def test_it_gives_up_after_the_last_attempt(
    pay, invoice, endpoint, receiver, settings, time_machine
):
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    time_machine.move_to(timezone.now(), tick=True)
    receiver.script = [500, 503, 502, 200]
    pay(invoice, new_card())
    for _ in range(4):
        run_worker()
        time_machine.shift(datetime.timedelta(hours=1))
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("failed", 3, 502)
    assert delivery.next_attempt_at is None
    assert len(receiver.requests) == 3


def test_timeouts_refusals_and_redirects_are_retried(
    pay, invoice, endpoint, receiver, settings, time_machine
):
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.3
    time_machine.move_to(timezone.now(), tick=True)
    receiver.script = [(200, 1.0), 302]
    pay(invoice, new_card())
    run_worker()
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.last_status_code) == ("pending", None)
    assert "No answer within" in delivery.last_error
    time_machine.shift(datetime.timedelta(minutes=5))
    run_worker()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.last_status_code) == ("pending", 302)  # not followed
    endpoint.url = "http://127.0.0.1:9/nothing-listens-here"
    endpoint.save()
    time_machine.shift(datetime.timedelta(minutes=5))
    run_worker()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("pending", 3)
    assert delivery.last_error.startswith("ConnectError")


def test_a_deactivated_endpoint_stops_receiving(pay, invoice, endpoint, receiver):
    pay(invoice, new_card())
    endpoint.is_active = False
    endpoint.save()
    run_worker()
    assert receiver.requests == []
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.last_error) == ("failed", "The endpoint was deactivated.")


def test_resend_sends_the_same_event_again(pay, invoice, endpoint, receiver, staff):
    pay(invoice, new_card())
    run_worker()
    original = WebhookDelivery.objects.get()
    again = delivery_resend(original, acting_user=staff)
    run_worker()
    again.refresh_from_db()
    assert (again.status, again.resent_from, again.event_id) == (
        "delivered",
        original,
        original.event_id,
    )
    first, second = receiver.requests
    assert first["body"] == second["body"]
    assert first["headers"]["Webhook-Id"] == second["headers"]["Webhook-Id"]
    assert second["signed"]


def test_the_backoff_doubles_up_to_a_ceiling():
    delays = [retry_delay(n).total_seconds() for n in range(1, 13)]
    assert delays[:4] == [30, 60, 120, 240]
    assert max(delays) == 6 * 3600
    assert sum(delays) < 24 * 3600


def test_bodies_are_json_as_sent(pay, invoice, endpoint, receiver):
    pay(invoice, new_card())
    run_worker()
    delivery = WebhookDelivery.objects.get()
    assert json.loads(delivery.body) == receiver.requests[0]["json"]
    assert receiver.requests[0]["headers"]["Content-Type"] == "application/json"


def test_a_failing_webhook_never_costs_a_payment(pay, invoice, endpoint, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise ValueError("a bug in building the body")

    monkeypatch.setattr("remit.webhooks.services.event_body", broken)
    payment = pay(invoice, new_card())
    assert payment.state == "approved"
    invoice.refresh_from_db()
    assert invoice.amount_paid == invoice.total
    assert not WebhookDelivery.objects.exists()
    assert "webhook deliveries for payment" in caplog.text
