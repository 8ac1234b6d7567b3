"""Webhooks in the back office: endpoints with their secret, deliveries with their status, resend."""

import pytest

from remit.audit.models import AuditEvent
from remit.webhooks.models import WebhookDelivery, WebhookEndpoint
from tests.factories import sign_in_staff
from tests.payments.conftest import new_card, run_worker


@pytest.fixture
def as_staff(client, staff):
    sign_in_staff(client, staff)  # password and TOTP code
    return client


def test_staff_add_an_endpoint_and_see_its_secret(as_staff):
    response = as_staff.post(
        "/backoffice/webhooks/webhookendpoint/add/",
        {
            "url": "https://psa.example/hooks/remit",
            "description": "ConnectWise",
            "events": ["payment.succeeded", "payment.refunded"],
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.events == ["payment.succeeded", "payment.refunded"]
    assert endpoint.secret.startswith("whsec_")
    page = as_staff.get(f"/backoffice/webhooks/webhookendpoint/{endpoint.pk}/change/")
    assert endpoint.secret in page.content.decode()
    event = AuditEvent.objects.get(action="webhook_endpoint.created")
    assert endpoint.secret not in str(event.details)


def test_deliveries_show_their_status_and_can_be_resent(
    as_staff, staff, pay, invoice, endpoint, receiver
):
    receiver.script = [500]
    pay(invoice, new_card())
    run_worker()
    delivery = WebhookDelivery.objects.get()
    listing = as_staff.get("/backoffice/webhooks/webhookdelivery/")
    assert listing.status_code == 200
    text = listing.content.decode()
    assert "payment.succeeded" in text
    assert "Pending" in text
    detail = as_staff.get(f"/backoffice/webhooks/webhookdelivery/{delivery.pk}/change/")
    assert detail.status_code == 200
    assert "receiver says no" in detail.content.decode()
    assert 'name="_save"' not in detail.content.decode()  # read-only

    response = as_staff.post(
        "/backoffice/webhooks/webhookdelivery/",
        {"action": "resend", "_selected_action": [delivery.pk]},
    )
    assert response.status_code == 302
    again = WebhookDelivery.objects.exclude(pk=delivery.pk).get()
    assert (again.resent_from, again.event_id, again.status) == (
        delivery,
        delivery.event_id,
        "pending",
    )
    event = AuditEvent.objects.get(action="webhook.resent")
    assert event.actor == staff
    run_worker()
    again.refresh_from_db()
    assert again.status == "delivered"


def test_client_users_stay_out(client, manager, endpoint):
    client.force_login(manager)
    for url in (
        "/backoffice/webhooks/webhookendpoint/",
        f"/backoffice/webhooks/webhookendpoint/{endpoint.pk}/change/",
        "/backoffice/webhooks/webhookdelivery/",
    ):
        assert client.get(url).status_code != 200


def test_a_delivery_that_gave_up_is_flagged_until_sent_again(
    as_staff, staff, pay, invoice, endpoint, receiver, settings, time_machine
):
    import datetime

    from django.utils import timezone

    settings.WEBHOOK_MAX_ATTEMPTS = 2
    time_machine.move_to(timezone.now(), tick=True)
    receiver.script = [500, 503]
    pay(invoice, new_card())
    for _ in range(3):
        run_worker()
        time_machine.shift(datetime.timedelta(hours=1))
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "failed"
    assert AuditEvent.objects.filter(action="webhook.failed", object_id=str(delivery.pk)).exists()

    home = as_staff.get("/backoffice/").content.decode()
    assert "webhook delivery failed" in home
    assert 'title="failed deliveries">1<' in home
    listing = as_staff.get(
        "/backoffice/webhooks/webhookdelivery/?attention=failed"
    ).content.decode()
    assert "payment.succeeded" in listing
    assert "Failed" in listing

    as_staff.post(
        "/backoffice/webhooks/webhookdelivery/",
        {"action": "resend", "_selected_action": [delivery.pk]},
    )
    run_worker()
    again = WebhookDelivery.objects.exclude(pk=delivery.pk).get()
    assert again.status == "delivered"
    assert len(receiver.requests) == 3
    assert "webhook delivery failed" not in as_staff.get("/backoffice/").content.decode()
