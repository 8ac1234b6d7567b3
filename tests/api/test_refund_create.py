"""POST /api/payments/{id}/refunds: refunds a settled payment through the real (sandbox) gateway,
once per Idempotency-Key."""

from decimal import Decimal

import pytest

from remit.audit.models import AuditEvent
from remit.billing.models import Invoice
from remit.gateway.nmi import parse_query_xml
from remit.payments.models import Refund
from remit.payments.services import reconcile_payment
from tests.api.conftest import ApiClient, assert_problem
from tests.payments.conftest import new_card


@pytest.fixture
def settled(pay, invoice, sandbox_gateway):
    payment = pay(invoice, new_card())
    sandbox_gateway.settle()
    assert reconcile_payment(payment.pk) == "settled"
    payment.refresh_from_db()
    return payment


def url(payment) -> str:
    return f"/api/payments/{payment.public_id}/refunds"


def refunds_at_gateway(sandbox) -> int:
    return sum(
        1
        for tx in parse_query_xml(sandbox.query_xml())
        for action in tx.actions
        if action.action_type == "refund"
    )


def test_it_refunds_part_and_restores_the_amount_due(api, settled, sandbox_gateway):
    response = api.post(
        url(settled),
        {"amount": "234.00", "reason": "Overbilled"},
        headers={"Idempotency-Key": "cw-credit-77"},
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["kind"], body["state"], body["amount"]) == ("refund", "succeeded", "234.00")
    assert body["requested_via"] == "api"
    assert body["payment"]["applied_amount"] == "1000.00"
    assert body["payment"]["refunded_amount"] == "234.00"
    assert body["payment"]["refunds"][0]["id"] == body["id"]
    assert Invoice.objects.get(pk=settled.invoice_id).amount_due == Decimal("234.00")
    refund = Refund.objects.get()
    assert (refund.requested_via, refund.reason) == ("api", "Overbilled")
    assert refunds_at_gateway(sandbox_gateway) == 1
    event = AuditEvent.objects.get(action="refund.requested")
    assert event.actor_label == "ConnectWise PSA sync"
    assert event.outcome == "success"
    assert event.details["refund_order_id"] == refund.order_id
    assert event.organization == settled.organization
    # The payment service's own entries are there too.
    assert AuditEvent.objects.filter(action="payment.refund", outcome="success").exists()


def test_the_same_key_again_returns_the_first_refund_and_moves_no_money(
    api, settled, sandbox_gateway
):
    first = api.post(url(settled), {"amount": "100.00"}, headers={"Idempotency-Key": "k-1"})
    again = api.post(url(settled), {"amount": "100.00"}, headers={"Idempotency-Key": "k-1"})
    without_amount = api.post(url(settled), {}, headers={"Idempotency-Key": "k-1"})
    assert first.status_code == 201
    assert again.status_code == without_amount.status_code == 200
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"] == without_amount.json()["id"]
    assert Refund.objects.count() == 1
    assert refunds_at_gateway(sandbox_gateway) == 1
    settled.refresh_from_db()
    assert settled.refunded_amount == Decimal("100.00")


def test_a_key_reused_for_something_else_is_refused(api, settled, pay, contoso_invoice):
    api.post(url(settled), {"amount": "100.00"}, headers={"Idempotency-Key": "k-1"})
    problem = assert_problem(
        api.post(url(settled), {"amount": "50.00"}, headers={"Idempotency-Key": "k-1"}),
        422,
        "idempotency-key-reused",
    )
    assert "different" in problem["detail"]
    other = pay(contoso_invoice, new_card())
    assert_problem(
        api.post(url(other), {}, headers={"Idempotency-Key": "k-1"}), 422, "idempotency-key-reused"
    )
    assert Refund.objects.count() == 1


def test_keys_belong_to_their_integration(api, client, make_key, settled):
    accounting = ApiClient(client, make_key("refunds:write", name="Accounting")[1])
    first = api.post(url(settled), {"amount": "10.00"}, headers={"Idempotency-Key": "same"})
    second = accounting.post(url(settled), {"amount": "20.00"}, headers={"Idempotency-Key": "same"})
    assert (first.status_code, second.status_code) == (201, 201)
    assert Refund.objects.count() == 2


def test_all_that_is_applied_when_no_amount_is_given(api, settled):
    response = api.post(url(settled), {}, headers={"Idempotency-Key": "full"})
    assert response.json()["amount"] == "1234.00"
    assert Invoice.objects.get(pk=settled.invoice_id).amount_due == Decimal("1234.00")


def test_more_than_is_applied_is_refused(api, settled):
    problem = assert_problem(
        api.post(url(settled), {"amount": "1234.01"}, headers={"Idempotency-Key": "k"}),
        422,
        "refund-amount-invalid",
    )
    assert "$1,234.00" in problem["detail"]
    assert not Refund.objects.exists()
    event = AuditEvent.objects.get(action="refund.requested")
    assert (event.outcome, event.details["code"]) == ("refused", "too_much")


def test_zero_is_refused(api, settled):
    assert_problem(
        api.post(url(settled), {"amount": "0"}, headers={"Idempotency-Key": "k"}),
        422,
        "refund-amount-invalid",
    )


def test_a_payment_that_has_not_settled_is_refused(api, pay, invoice):
    approved = pay(invoice, new_card())
    problem = assert_problem(
        api.post(url(approved), {}, headers={"Idempotency-Key": "k"}), 409, "payment-not-refundable"
    )
    assert "settled" in problem["detail"]
    assert not Refund.objects.exists()


def test_no_gateway_no_refund(api, settled, settings):
    settings.GATEWAY_URL = ""
    assert_problem(
        api.post(url(settled), {}, headers={"Idempotency-Key": "k"}), 503, "gateway-unavailable"
    )
    assert not Refund.objects.exists()
