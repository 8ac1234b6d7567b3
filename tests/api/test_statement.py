"""GET /api/organizations/{external_id}/statement: open items, the period's payments and the
aging, as of a date, for an organization the key manages — anything else is a 404."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from remit.audit.models import AuditEvent
from remit.payments.models import Payment
from tests.api.conftest import assert_problem, managed
from tests.api.test_payment_list import make_payment
from tests.factories import make_invoice

AS_OF = datetime.date(2025, 6, 30)


def days(n: int) -> datetime.date:
    return AS_OF - datetime.timedelta(days=n)


def statement(api, external_id="CW-1", **params):
    return api.get(f"/api/organizations/{external_id}/statement", params)


@pytest.fixture
def northwind_cw(api, northwind):
    northwind.external_id = "CW-1"
    northwind.save()
    return managed(api, northwind)


@pytest.fixture
def ledger(northwind_cw, contoso):
    """Northwind's invoices, one per bucket edge, and some that are not open."""

    def invoice(number, total, due, paid="0.00", state="issued", org=northwind_cw):
        return make_invoice(
            org,
            number=number,
            total=total,
            paid=paid,
            state=state,
            invoice_date=min(due, AS_OF) - datetime.timedelta(days=30),
            due_date=due,
        )

    invoice("NW-1", "100.00", AS_OF)  # due today: current
    invoice("NW-2", "200.00", days(-10))  # not yet due: current
    invoice("NW-3", "300.00", days(1), paid="120.50")  # partly paid, 1 day late
    invoice("NW-4", "400.00", days(30))  # 1–30
    invoice("NW-5", "500.00", days(31))  # 31–60
    invoice("NW-6", "600.00", days(61))  # 61–90
    invoice("NW-7", "700.00", days(91))  # 90+
    invoice("NW-8", "800.00", days(100), paid="800.00")  # paid: not open
    invoice("NW-9", "900.00", days(5), state="void")  # void: not open
    invoice("NW-10", "1000.00", days(5), state="draft")  # a draft: not the client's yet
    invoice("CO-1", "5000.00", days(5), org=contoso)  # another organization's


def test_the_statement_as_the_client_sees_it(api, ledger):
    response = statement(api, as_of="2025-06-30", start="2025-06-01")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["organization_external_id"], body["start"], body["as_of"]) == (
        "CW-1",
        "2025-06-01",
        "2025-06-30",
    )
    assert body["aging"] == [
        {"key": "current", "label": "Current", "amount": "300.00"},
        {"key": "d1_30", "label": "1–30 days", "amount": "579.50"},
        {"key": "d31_60", "label": "31–60 days", "amount": "500.00"},
        {"key": "d61_90", "label": "61–90 days", "amount": "600.00"},
        {"key": "d90", "label": "90+ days", "amount": "700.00"},
    ]
    assert body["total_open"] == "2679.50"
    items = {item["invoice_number"]: item for item in body["open_items"]}
    assert list(items) == ["NW-7", "NW-6", "NW-5", "NW-4", "NW-3", "NW-1", "NW-2"]  # oldest due
    assert items["NW-3"] == {
        "invoice_number": "NW-3",
        "invoice_date": "2025-05-30",
        "due_date": "2025-06-29",
        "days_past_due": 1,
        "currency": "USD",
        "total": "300.00",
        "amount_due": "179.50",
    }
    assert [items[n]["days_past_due"] for n in ("NW-7", "NW-1", "NW-2")] == [91, 0, 0]
    assert body["payments"] == []


def test_an_earlier_date_ages_the_same_open_items_less(api, ledger):
    body = statement(api, as_of="2025-05-31").json()
    assert body["start"] == "2025-05-01"  # 30 days before as_of, as on the portal
    # NW-4 (due that day) is current then, NW-7 only 61 days late.
    assert [b["amount"] for b in body["aging"]] == ["879.50", "500.00", "600.00", "700.00", "0.00"]
    assert body["total_open"] == "2679.50"


def test_the_periods_payments_with_their_invoices(api, northwind_cw):
    first, second = make_invoice(northwind_cw), make_invoice(northwind_cw)
    inside = make_payment(first, second, amount="40.00")
    before = make_payment(make_invoice(northwind_cw))
    Payment.objects.filter(pk=before.pk).update(
        created_at=datetime.datetime(2025, 5, 1, 12, tzinfo=datetime.UTC)
    )
    Payment.objects.filter(pk=inside.pk).update(
        created_at=datetime.datetime(2025, 6, 15, 12, tzinfo=datetime.UTC)
    )
    body = statement(api, as_of="2025-06-30").json()
    [payment] = body["payments"]
    assert payment["id"] == str(inside.public_id)
    assert payment["sale_amount"] == "80.00"
    assert [(a["invoice_number"], a["amount"]) for a in payment["allocations"]] == [
        (first.number, "40.00"),
        (second.number, "40.00"),
    ]
    assert payment == api.get(f"/api/payments/{inside.public_id}").json()


def test_another_organizations_statement_is_not_found(api, northwind_cw, contoso):
    contoso.external_id = "CO-1"
    contoso.save()
    make_invoice(contoso, total="5000.00")
    for external_id in ("CO-1", "NO-SUCH-ORG"):  # not the key's, and not at all: the same 404
        problem = assert_problem(statement(api, external_id), 404)
        assert external_id in problem["detail"]
        assert "5000" not in str(problem)
    managed(api, contoso)  # staff grant it to the key
    assert statement(api, "CO-1").json()["total_open"] == "5000.00"


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"as_of": "2025-02-30"}, "as_of"),
        ({"as_of": "30/06/2025"}, "as_of"),
        ({"as_of": "20250630"}, "as_of"),
        ({"as_of": ""}, "as_of"),
        ({"start": "yesterday"}, "start"),
        ({"as_of": "2025-06-30", "start": "2025-07-01"}, "start"),
        ({"asof": "2025-06-30"}, "asof"),
        ({"as_of": "0001-01-01"}, "as_of"),  # 90 days before it is not a date
        ({"start": "1899-12-31"}, "start"),
    ],
)
def test_a_bad_date_is_a_problem_naming_the_parameter(api, northwind_cw, params, parameter):
    problem = assert_problem(statement(api, **params), 422, "validation-error")
    assert [error["parameter"] for error in problem["errors"]] == [parameter]
    assert parameter in problem["detail"]


def test_reading_a_statement_writes_nothing(api, ledger):
    statement(api, as_of="2025-06-30")
    assert not AuditEvent.objects.exclude(action="api_key.created").exists()


def test_the_same_few_queries_however_many_invoices_and_payments(api, northwind_cw):
    def queries():
        with CaptureQueriesContext(connection) as captured:
            response = statement(api)
        assert response.status_code == 200
        return len(captured), response.json()

    make_payment(make_invoice(northwind_cw), make_invoice(northwind_cw), state="pending")
    queries()  # the key's first use is recorded once
    few, small = queries()
    for _ in range(15):
        make_invoice(northwind_cw)
        make_payment(make_invoice(northwind_cw), make_invoice(northwind_cw), state="pending")
    many, large = queries()
    assert (len(small["open_items"]), len(small["payments"])) == (2, 1)
    assert (len(large["open_items"]), len(large["payments"])) == (47, 16)
    assert many == few
