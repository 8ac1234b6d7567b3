"""Autopay over the integration API and webhooks: autopay.enrolled / autopay.cancelled (with why),
payment events and the API's payments marked `initiated_by: autopay`, and GET
/api/organizations/{external_id}/autopay for an organization the key manages."""

import datetime
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from remit.autopay.services import EnrolmentRefused, cancel, enrol
from remit.payments.services import payment_method_remove
from remit.webhooks.models import WebhookDelivery, WebhookEndpoint
from tests.api.conftest import ApiClient, assert_problem, managed
from tests.autopay.conftest import charge, due_on, enrol_manager

DUE = datetime.date(2026, 12, 15)


@pytest.fixture
def hooks(db):
    """An endpoint that wants every event (created before the fixtures that pay)."""
    return WebhookEndpoint.objects.create(url="https://erp.example/hooks")


def bodies(event_type):
    return [
        json.loads(d.body)
        for d in WebhookDelivery.objects.filter(event_type=event_type).order_by("id")
    ]


def test_enrolling_sends_autopay_enrolled_with_the_public_fields_and_never_the_ip(
    hooks, clock, manager, northwind, saved_visa
):
    northwind.external_id = "CW-1"
    northwind.save()
    enrol_manager(manager, saved_visa, cap="2000.00")
    [body] = bodies("autopay.enrolled")
    data = body["data"]
    assert data["organization_external_id"] == "CW-1"
    assert data["payment_method"] == {"kind": "card", "label": "Visa •••• 1111"}
    assert (data["trigger"], data["cap"], data["state"]) == ("due_date", "2000.00", "active")
    assert data["consent_version"]
    assert data["consented_at"]
    assert data["enrolled_on_behalf"] is False
    delivery = WebhookDelivery.objects.get(event_type="autopay.enrolled")
    assert "203.0.113.7" not in delivery.body
    assert "consent_ip" not in delivery.body
    assert "4111" not in delivery.body.replace("•••• 1111", "")


def test_a_refused_enrolment_sends_nothing(hooks, clock, manager, saved_visa):
    with pytest.raises(EnrolmentRefused):
        enrol(user=manager, method=saved_visa, trigger="after:3", cap=None, ip_address=None)
    assert not WebhookDelivery.objects.filter(event_type__startswith="autopay.").exists()


def test_cancelling_and_replacing_send_autopay_cancelled_with_the_reason(
    hooks, clock, manager, saved_visa
):
    first = enrol_manager(manager, saved_visa)
    second = enrol_manager(manager, saved_visa, trigger="after:7")
    cancel(second, user=manager)
    replaced, cancelled = bodies("autopay.cancelled")
    assert (replaced["data"]["id"], replaced["data"]["reason"]) == (first.pk, "replaced")
    assert (cancelled["data"]["id"], cancelled["data"]["reason"]) == (second.pk, "cancelled")
    assert cancelled["data"]["state"] == "ended"
    assert cancelled["data"]["end_reason"] == "Cancelled by manager@northwind.example"
    assert len(bodies("autopay.enrolled")) == 2


def test_removing_the_method_or_deactivating_the_user_says_why(
    hooks, clock, gateway, manager, saved_visa
):
    enrol_manager(manager, saved_visa)
    payment_method_remove(saved_visa, user=manager, gateway=gateway)
    [removed] = bodies("autopay.cancelled")
    assert removed["data"]["reason"] == "method_removed"
    assert removed["data"]["end_reason"] == "Visa •••• 1111 was removed"


def test_deactivating_the_user_sends_user_deactivated(hooks, clock, manager, saved_visa):
    enrol_manager(manager, saved_visa)
    manager.is_active = False
    manager.save(update_fields=["is_active"])
    [ended] = bodies("autopay.cancelled")
    assert ended["data"]["reason"] == "user_deactivated"


def test_payment_events_and_the_api_mark_autopay_charges(
    hooks, api, settings, clock, gateway, manager, northwind, saved_visa
):
    settings.API_PAYMENT_FEED_LAG_SECONDS = 0  # list what was just paid
    managed(api, northwind)
    enrol_manager(manager, saved_visa)
    invoice = due_on(northwind, DUE, number="NW-1501")
    assert charge(gateway, clock, DUE)["charged"] == 1
    portal, autopay = bodies("payment.succeeded")
    assert portal["data"]["initiated_by"] == "payer"  # the sale that saved the card
    assert autopay["data"]["initiated_by"] == "autopay"
    assert autopay["data"]["invoice_number"] == invoice.number
    listed = api.get("/api/payments", {"limit": 10}).json()["items"]
    assert sorted(p["initiated_by"] for p in listed) == ["autopay", "payer"]
    one = api.get(f"/api/payments/{autopay['data']['id']}").json()
    assert one["initiated_by"] == "autopay"


def autopay_of(api, external_id="CW-1"):
    return api.get(f"/api/organizations/{external_id}/autopay")


def test_the_api_reads_an_organizations_enrolments(api, clock, manager, northwind, saved_visa):
    northwind.external_id = "CW-1"
    northwind.save()
    managed(api, northwind)
    assert autopay_of(api).json() == {
        "organization_external_id": "CW-1",
        "active": None,
        "enrolments": [],
    }
    old = enrol_manager(manager, saved_visa)
    current = enrol_manager(manager, saved_visa, trigger="after:15", cap="99.50")
    body = autopay_of(api).json()
    assert body["active"]["id"] == current.pk
    assert (body["active"]["trigger"], body["active"]["days_after"]) == ("after_invoice", 15)
    assert body["active"]["cap"] == "99.50"
    assert [e["id"] for e in body["enrolments"]] == [current.pk, old.pk]
    assert body["enrolments"][1]["state"] == "ended"
    assert "consent_ip" not in body["active"]


def test_another_organizations_autopay_is_a_404(api, clock, manager, northwind, saved_visa):
    northwind.external_id = "CW-1"
    northwind.save()
    enrol_manager(manager, saved_visa)  # not granted to the key
    assert_problem(autopay_of(api), 404)
    assert_problem(autopay_of(api, "NOPE"), 404)


def test_the_api_needs_payments_read(client, make_key, clock, northwind):
    api_key, key = make_key("invoices:write")
    northwind.external_id = "CW-1"
    northwind.save()
    api_key.organizations.add(northwind)
    assert_problem(autopay_of(ApiClient(client, key, api_key)), 403)


def test_the_enrolment_list_costs_the_same_queries_however_long(
    api, clock, manager, northwind, saved_visa
):
    northwind.external_id = "CW-1"
    northwind.save()
    managed(api, northwind)
    enrol_manager(manager, saved_visa)

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert autopay_of(api).status_code == 200
        return len(captured)

    queries()  # the key's first use is recorded once
    one = queries()
    for days in ("after:7", "after:15", "due_date"):
        enrol_manager(manager, saved_visa, trigger=days)
    assert len(autopay_of(api).json()["enrolments"]) == 4
    assert queries() == one
