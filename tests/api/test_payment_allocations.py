"""A payment's invoices in the API: `allocations` on every payment (the feed, the detail, a
refund's answer), `invoices` on every refund — and the old fields as they were."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from remit.payments.models import Refund
from remit.payments.services import reconcile_payment
from tests.api.conftest import assert_problem
from tests.api.test_payment_list import make_payment
from tests.factories import make_invoice
from tests.payments.conftest import new_bank
from tests.payments.test_allocations import three  # 100.00, 250.50, 19.99: NW-50, -51, -52

# Every field a payment had before allocations: clients written then keep working.
FIELDS_BEFORE = {
    "id",
    "order_id",
    "invoice_number",
    "organization_external_id",
    "payer",
    "state",
    "sale_amount",
    "applied_amount",
    "refunded_amount",
    "currency",
    "method",
    "transaction_id",
    "return_code",
    "created_at",
    "updated_at",
    "completed_at",
    "settled_at",
    "returned_at",
    "refunds",
}


@pytest.fixture(autouse=True)
def no_lag(settings):
    settings.API_PAYMENT_FEED_LAG_SECONDS = 0


def sums(item, field):
    return sum((Decimal(a[field]) for a in item["allocations"]), Decimal("0"))


def test_a_payment_of_three_invoices_lists_each_with_its_share(api, pay_several, northwind):
    invoices = three(northwind)
    payment = pay_several(invoices)
    item = api.get(f"/api/payments/{payment.public_id}").json()
    assert item["allocations"] == [
        {
            "invoice_number": "NW-50",
            "amount": "100.00",
            "applied_amount": "100.00",
            "refunded_amount": "0.00",
        },
        {
            "invoice_number": "NW-51",
            "amount": "250.50",
            "applied_amount": "250.50",
            "refunded_amount": "0.00",
        },
        {
            "invoice_number": "NW-52",
            "amount": "19.99",
            "applied_amount": "19.99",
            "refunded_amount": "0.00",
        },
    ]
    # The old single-invoice field stays: the first invoice.
    assert set(item) >= FIELDS_BEFORE
    assert item["invoice_number"] == "NW-50"
    assert (item["sale_amount"], item["applied_amount"]) == ("370.49", "370.49")
    assert sums(item, "amount") == Decimal(item["sale_amount"])
    [listed] = api.get("/api/payments").json()["items"]
    assert listed == item


def test_a_payment_of_one_invoice_has_one_allocation(api, pay, invoice):
    payment = pay(invoice, new_bank())  # an eCheck: pending, nothing applied yet
    item = api.get(f"/api/payments/{payment.public_id}").json()
    assert item["state"] == "pending"
    assert item["allocations"] == [
        {
            "invoice_number": invoice.number,
            "amount": "1234.00",
            "applied_amount": "0.00",
            "refunded_amount": "0.00",
        }
    ]


def test_a_partial_refund_says_which_invoices_it_reduced(
    api, pay_several, northwind, sandbox_gateway
):
    payment = pay_several(three(northwind), new_bank())
    sandbox_gateway.settle()
    assert reconcile_payment(payment.pk) == "settled"
    response = api.post(
        f"/api/payments/{payment.public_id}/refunds",
        {"amount": "30.00", "reason": "Credit memo"},
        headers={"Idempotency-Key": "cm-1"},
    )
    assert response.status_code == 201, response.content
    body = response.json()
    # Newest invoice first: all of NW-52's 19.99, then 10.01 of NW-51.
    assert body["invoices"] == [
        {"invoice_number": "NW-51", "amount": "10.01"},
        {"invoice_number": "NW-52", "amount": "19.99"},
    ]
    shares = {a["invoice_number"]: a for a in body["payment"]["allocations"]}
    assert (shares["NW-51"]["applied_amount"], shares["NW-51"]["refunded_amount"]) == (
        "240.49",
        "10.01",
    )
    assert (shares["NW-52"]["applied_amount"], shares["NW-52"]["refunded_amount"]) == (
        "0.00",
        "19.99",
    )
    assert shares["NW-50"]["refunded_amount"] == "0.00"
    item = api.get(f"/api/payments/{payment.public_id}").json()
    assert item["refunds"][0]["invoices"] == body["invoices"]
    assert sums(item, "refunded_amount") == Decimal(item["refunded_amount"]) == Decimal("30.00")
    assert sums(item, "applied_amount") == Decimal(item["applied_amount"]) == Decimal("340.49")


def test_a_return_unapplies_every_invoice(api, pay_several, northwind, sandbox_gateway):
    from tests.payments.conftest import RETURNED_R01_ACCOUNT

    payment = pay_several(three(northwind), new_bank(RETURNED_R01_ACCOUNT))
    sandbox_gateway.settle()
    assert reconcile_payment(payment.pk) == "returned"
    item = api.get(f"/api/payments/{payment.public_id}").json()
    assert item["state"] == "returned"
    assert [a["applied_amount"] for a in item["allocations"]] == ["0.00", "0.00", "0.00"]
    assert [a["amount"] for a in item["allocations"]] == ["100.00", "250.50", "19.99"]


def test_the_feed_costs_the_same_queries_for_any_page_size(api, northwind):
    """Payments, refunds, allocations with their invoices: one query each, whatever the page."""
    for _ in range(6):
        make_payment(*[make_invoice(northwind) for _ in range(3)])

    def queries(limit):
        with CaptureQueriesContext(connection) as captured:
            body = api.get("/api/payments", {"limit": limit}).json()
        assert len(body["items"]) == limit
        assert all(len(item["allocations"]) == 3 for item in body["items"])
        return len(captured)

    queries(2)  # the key's first use is recorded once; what follows is the same for every page
    assert queries(1) == queries(6)


def test_a_partial_refund_reduces_the_invoices_named_first(
    api, pay_several, northwind, sandbox_gateway
):
    payment = pay_several(three(northwind), new_bank())
    sandbox_gateway.settle()
    assert reconcile_payment(payment.pk) == "settled"
    refunds = f"/api/payments/{payment.public_id}/refunds"
    bad = api.post(
        refunds,
        {"amount": "130.00", "invoices": ["NW-99", "NW-50", "NW-50"]},
        headers={"Idempotency-Key": "cm-2"},
    )
    problem = assert_problem(bad, 422, "validation-error")
    assert [(e["pointer"], e["detail"]) for e in problem["errors"]] == [
        ("#/invoices/0", "This payment does not pay invoice NW-99."),
        ("#/invoices/2", "Invoice NW-50 is named twice."),
    ]
    assert not Refund.objects.exists()  # nothing written
    response = api.post(
        refunds, {"amount": "130.00", "invoices": ["NW-50"]}, headers={"Idempotency-Key": "cm-2"}
    )
    assert response.status_code == 201, response.content
    # All of NW-50's 100.00 first, then the newest: NW-52's 19.99, then 10.01 of NW-51.
    assert response.json()["invoices"] == [
        {"invoice_number": "NW-50", "amount": "100.00"},
        {"invoice_number": "NW-51", "amount": "10.01"},
        {"invoice_number": "NW-52", "amount": "19.99"},
    ]
    assert paid(northwind, "NW-50") == Decimal("0.00")
    assert paid(northwind, "NW-51") == Decimal("240.49")


def paid(organization, number) -> Decimal:
    return organization.invoices.get(number=number).amount_paid
