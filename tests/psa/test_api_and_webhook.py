"""The sync history over the API (scope syncs:read) and the signed `sync.finished` webhook."""

import pytest

from remit.api.keys import api_key_create
from remit.api.models import Scope
from remit.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from remit.webhooks.services import delivery_attempt
from tests.webhooks.conftest import SECRET, Receiver

pytestmark = pytest.mark.django_db


@pytest.fixture
def key(staff):
    return api_key_create(name="Reporting", scopes=[Scope.SYNCS_READ], created_by=staff)[1]


def test_the_sync_history_is_readable_over_the_api(client, key, sync, sandbox):
    sandbox.set_fault("bad_zone", on=True)
    failed = sync()
    sandbox.set_fault("bad_zone", on=False)
    done = sync()
    answer = client.get("/api/syncs", headers={"Authorization": f"Bearer {key}"})
    assert answer.status_code == 200
    items = answer.json()["items"]
    assert [item["id"] for item in items] == [done.pk, failed.pk]
    assert items[0]["status"] == "succeeded"
    assert items[0]["counts"]["invoices"]["created"] == 24
    assert items[1]["status"] == "failed"
    assert "cannot reach" in items[1]["error"]
    one = client.get(f"/api/syncs/{done.pk}", headers={"Authorization": f"Bearer {key}"})
    assert one.json()["counts"]["contacts"]["created"] == 12
    missing = client.get("/api/syncs/999999", headers={"Authorization": f"Bearer {key}"})
    assert missing.status_code == 404
    assert missing["Content-Type"] == "application/problem+json"


def test_a_key_without_the_scope_is_refused(client, staff, provider):
    other = api_key_create(name="Payments", scopes=[Scope.PAYMENTS_READ], created_by=staff)[1]
    answer = client.get("/api/syncs", headers={"Authorization": f"Bearer {other}"})
    assert answer.status_code == 403


def test_sync_finished_is_delivered_signed_to_endpoints_that_want_it(sync):
    receiver = Receiver().start()
    try:
        WebhookEndpoint.objects.create(url=receiver.url, secret=SECRET, events=["sync.finished"])
        WebhookEndpoint.objects.create(url=receiver.url, secret=SECRET, events=["payment.failed"])
        run = sync()
        delivery = WebhookDelivery.objects.get()
        assert delivery.event_type == "sync.finished"
        assert delivery_attempt(delivery.pk) == DeliveryStatus.DELIVERED
    finally:
        receiver.stop()
    (request,) = receiver.requests
    assert request["json"]["type"] == "sync.finished"
    assert request["json"]["data"]["id"] == run.pk
    assert request["json"]["data"]["counts"]["invoices"]["created"] == 24
