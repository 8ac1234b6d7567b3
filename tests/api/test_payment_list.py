"""GET /api/payments (changed since a cursor) and GET /api/payments/{id}."""

import datetime
import uuid
from decimal import Decimal

import pytest
from django.utils import timezone

from remit.api.selectors import decode_cursor, encode_cursor
from remit.audit.models import AuditEvent
from remit.payments.models import Payment, PaymentAllocation
from tests.api.conftest import assert_problem
from tests.factories import make_invoice
from tests.payments.conftest import VISA, new_card


@pytest.fixture(autouse=True)
def no_lag(settings):
    settings.API_PAYMENT_FEED_LAG_SECONDS = 0


def make_payment(invoice, *more, state="settled", amount="100.00", updated_at=None) -> Payment:
    """A payment row as the services leave it, of `amount` for each of the invoices."""
    invoices = [invoice, *more]
    applied = Decimal(amount) if state in ("approved", "settled") else Decimal("0")
    payment = Payment.objects.create(
        invoice=invoice,
        organization=invoice.organization,
        payer=None,
        attempt_key=uuid.uuid4(),
        request_fingerprint="-",
        state=state,
        amount=Decimal(amount) * len(invoices),
        applied_amount=applied * len(invoices),
        method_kind="card",
        method_brand="Visa",
        method_last4="1111",
    )
    PaymentAllocation.objects.bulk_create(
        PaymentAllocation(
            payment=payment,
            invoice=each,
            amount=Decimal(amount),
            applied_amount=applied,
            in_flight=state in ("processing", "unknown", "pending"),
        )
        for each in invoices
    )
    if updated_at is not None:
        Payment.objects.filter(pk=payment.pk).update(updated_at=updated_at)
        payment.refresh_from_db()
    return payment


def page_through(api, limit, cursor=None):
    seen, pages = [], []
    while True:
        params = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        body = api.get("/api/payments", params).json()
        pages.append(len(body["items"]))
        seen += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if not body["has_more"]:
            return seen, pages, cursor


def test_a_payment_as_the_api_shows_it(api, pay, invoice, manager):
    northwind = invoice.organization
    northwind.external_id = "CW-1"
    northwind.save()
    manager.external_id = "CT-1"
    manager.save()
    payment = pay(invoice, new_card())
    body = api.get("/api/payments").json()
    assert body["has_more"] is False
    [item] = body["items"]
    assert item["id"] == str(payment.public_id)
    assert item["invoice_number"] == "NW-1001"
    assert item["organization_external_id"] == "CW-1"
    assert item["payer"] == {"email": manager.email, "external_id": "CT-1"}
    assert item["state"] == "approved"
    assert (item["sale_amount"], item["applied_amount"], item["refunded_amount"]) == (
        "1234.00",
        "1234.00",
        "0.00",
    )
    assert item["method"] == {"kind": "card", "label": "Visa •••• 1111"}
    assert item["transaction_id"] == payment.transaction_id
    assert item["refunds"] == []
    assert VISA not in str(body)
    assert api.get(f"/api/payments/{payment.public_id}").json() == item


def test_pages_are_stable_and_complete_even_when_changes_share_a_time(api, northwind):
    same_moment = timezone.now() - datetime.timedelta(minutes=5)
    payments = [
        make_payment(make_invoice(northwind), updated_at=same_moment if i % 2 else None)
        for i in range(7)
    ]
    expected = [str(p.public_id) for p in sorted(payments, key=lambda p: (p.updated_at, p.pk))]
    seen, pages, cursor = page_through(api, limit=3)
    assert seen == expected
    assert pages == [3, 3, 1]
    # Nothing new: an empty page, and the cursor stays where it was.
    body = api.get("/api/payments", {"cursor": cursor}).json()
    assert (body["items"], body["next_cursor"], body["has_more"]) == ([], cursor, False)


def test_a_change_after_the_cursor_shows_up_again(api, northwind):
    first = make_payment(make_invoice(northwind), state="pending")
    second = make_payment(make_invoice(northwind))
    _, _, cursor = page_through(api, limit=10)
    first.state = "settled"
    first.save()  # updated_at moves on
    body = api.get("/api/payments", {"cursor": cursor}).json()
    assert [item["id"] for item in body["items"]] == [str(first.public_id)]
    assert body["items"][0]["state"] == "settled"
    assert second.public_id  # unchanged, not listed again


def test_changes_younger_than_the_lag_wait(api, northwind, settings, time_machine):
    settings.API_PAYMENT_FEED_LAG_SECONDS = 5
    time_machine.move_to(timezone.now(), tick=False)
    payment = make_payment(make_invoice(northwind))
    assert api.get("/api/payments").json()["items"] == []
    time_machine.shift(datetime.timedelta(seconds=6))
    assert [i["id"] for i in api.get("/api/payments").json()["items"]] == [str(payment.public_id)]


def test_the_cursor_is_opaque_but_checked(api, northwind):
    stamp = timezone.now()
    assert decode_cursor(encode_cursor(stamp, 42)) == (stamp, 42)
    for bad in ("garbage", "e30", encode_cursor(stamp, 1)[:-3]):
        problem = assert_problem(api.get("/api/payments", {"cursor": bad}), 422, "invalid-cursor")
        assert problem["errors"][0]["parameter"] == "cursor"


def test_an_unknown_payment_is_404(api, db):
    assert_problem(api.get(f"/api/payments/{uuid.uuid4()}"), 404)


def test_reads_write_no_audit_entries(api, northwind):
    make_payment(make_invoice(northwind))
    api.get("/api/payments")
    assert not AuditEvent.objects.exclude(action="api_key.created").exists()


def test_a_page_costs_the_same_few_queries_however_long(
    api, northwind, django_assert_max_num_queries
):
    for _ in range(20):
        make_payment(make_invoice(northwind))
    with django_assert_max_num_queries(8):  # provider, key, last used, page, refunds, …
        body = api.get("/api/payments", {"limit": 20}).json()
    assert len(body["items"]) == 20
