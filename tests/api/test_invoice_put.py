"""PUT /api/invoices/{number}: create or update by invoice number; Remit computes the amounts;
changes that would break an invoice with payments are refused."""

import datetime
from decimal import Decimal

import pytest

from remit.audit.models import AuditEvent
from remit.billing.models import Invoice
from tests.api.conftest import assert_problem
from tests.factories import OrganizationFactory
from tests.payments.conftest import new_bank, new_card

URL = "/api/invoices/INV-5001"


@pytest.fixture
def fabrikam(provider):
    return OrganizationFactory(name="Fabrikam Inc", external_id="CW-100")


def invoice_body(**changes):
    body = {
        "organization": "CW-100",
        "invoice_date": "2025-03-01",
        "due_date": "2025-03-31",
        "terms": "Net 30",
        "lines": [
            {"description": "Managed services", "quantity": "2", "unit_price": "150.00"},
            {"description": "Loyalty discount", "quantity": "1", "unit_price": "-25.00"},
        ],
        "tax": "10.00",
        "memo": "Thank you.",
    }
    body.update(changes)
    return body


def test_it_creates_with_amounts_computed_by_remit(api, fabrikam):
    response = api.put(URL, invoice_body())
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["subtotal"], body["tax"], body["total"]) == ("275.00", "10.00", "285.00")
    assert (body["amount_paid"], body["amount_due"]) == ("0.00", "285.00")
    assert body["lines"][0] == {
        "description": "Managed services",
        "quantity": "2.00",
        "unit_price": "150.00",
        "amount": "300.00",
    }
    assert (body["state"], body["status"], body["organization"]) == ("issued", "overdue", "CW-100")
    invoice = Invoice.objects.get(number="INV-5001")
    assert invoice.organization == fabrikam
    assert invoice.total == Decimal("285.00")
    assert invoice.issued_at is not None
    event = AuditEvent.objects.get(action="invoice.created")
    assert event.actor_label == "ConnectWise PSA sync"
    assert (event.organization, event.object_id) == (fabrikam, str(invoice.pk))


def test_the_same_put_twice_changes_nothing(api, fabrikam):
    api.put(URL, invoice_body())
    before = Invoice.objects.get(number="INV-5001")
    # the same values written differently ("2.00" for "2") are the same invoice
    same = invoice_body(
        tax="10",
        lines=[
            {"description": "Managed services", "quantity": "2.00", "unit_price": "150"},
            {"description": "Loyalty discount", "quantity": "1", "unit_price": "-25"},
        ],
    )
    response = api.put(URL, same)
    assert response.status_code == 200
    after = Invoice.objects.get(number="INV-5001")
    assert after.updated_at == before.updated_at
    assert after.lines.count() == 2
    assert AuditEvent.objects.filter(action__startswith="invoice.").count() == 1


def test_it_updates_lines_and_recomputes(api, fabrikam):
    api.put(URL, invoice_body())
    response = api.put(
        URL,
        invoice_body(
            lines=[{"description": "Project work", "quantity": "3.5", "unit_price": "99.99"}],
            tax="0",
            due_date="2025-04-15",
        ),
    )
    assert response.status_code == 200
    body = response.json()
    assert body["total"] == "349.97"  # 3.5 × 99.99 = 349.965, half up
    assert [line["description"] for line in body["lines"]] == ["Project work"]
    event = AuditEvent.objects.get(action="invoice.updated")
    assert set(event.details["changes"]) == {"lines", "subtotal", "tax", "total", "due_date"}


def test_draft_issue_void(api, fabrikam):
    api.put(URL, invoice_body(state="draft"))
    invoice = Invoice.objects.get(number="INV-5001")
    assert (invoice.state, invoice.issued_at) == ("draft", None)
    api.put(URL, invoice_body(state="issued"))
    invoice.refresh_from_db()
    assert invoice.state == "issued"
    assert invoice.issued_at is not None
    response = api.put(URL, invoice_body(state="void", void_reason="Billed twice"))
    assert response.json()["status"] == "void"
    invoice.refresh_from_db()
    assert (invoice.void_reason, invoice.voided_at is not None) == ("Billed twice", True)


@pytest.mark.parametrize(
    ("changes", "pointer"),
    [
        ({"due_date": "2025-02-01"}, "#/due_date"),
        ({"lines": []}, "#/lines"),
        (
            {"lines": [{"description": "Credit", "quantity": "1", "unit_price": "-5.00"}]},
            "#/lines",
        ),
        (
            {"lines": [{"description": "Free", "quantity": "0", "unit_price": "5.00"}]},
            "#/lines/0/quantity",
        ),
        (
            {
                "lines": [
                    {"description": "Huge", "quantity": "99999999", "unit_price": "9999999999"}
                ]
            },
            "#/lines/0",
        ),
        ({"invoice_date": "2025-02-30"}, "#/invoice_date"),
        ({"state": "paid"}, "#/state"),
    ],
)
def test_impossible_invoices_are_refused(api, fabrikam, changes, pointer):
    problem = assert_problem(api.put(URL, invoice_body(**changes)), 422, "validation-error")
    assert pointer in [error.get("pointer") for error in problem["errors"]]
    assert not Invoice.objects.filter(number="INV-5001").exists()


def test_an_unknown_organization_is_named(api, fabrikam):
    problem = assert_problem(
        api.put(URL, invoice_body(organization="CW-404")), 422, "unknown-reference"
    )
    assert "CW-404" in problem["detail"]


class TestWithPayments:
    """The invoice has money applied (a card payment) or in flight (an eCheck pending)."""

    @pytest.fixture
    def paid(self, api, fabrikam, pay, manager):
        manager.organization = fabrikam
        manager.save()
        assert api.put(URL, self.body()).status_code == 201
        invoice = Invoice.objects.get(number="INV-5001")
        assert pay(invoice, new_card()).state == "approved"
        invoice.refresh_from_db()
        assert invoice.amount_paid == Decimal("285.00")
        return invoice

    def body(self, **changes):
        return invoice_body(
            invoice_date=str(datetime.date.today()), due_date="2099-01-01", **changes
        )

    def test_a_total_below_what_is_paid_is_refused(self, api, paid):
        lines = [{"description": "Managed services", "quantity": "1", "unit_price": "150.00"}]
        problem = assert_problem(api.put(URL, self.body(lines=lines)), 409, "invoice-has-payments")
        assert "$285.00" in problem["detail"]
        paid.refresh_from_db()
        assert paid.total == Decimal("285.00")
        assert paid.lines.count() == 2

    @pytest.mark.parametrize("state", ["void", "draft"])
    def test_voiding_or_redrafting_with_money_applied_is_refused(self, api, paid, state):
        assert_problem(api.put(URL, self.body(state=state)), 409, "invoice-has-payments")
        paid.refresh_from_db()
        assert paid.state == "issued"

    def test_moving_it_to_another_organization_is_refused(self, api, paid):
        OrganizationFactory(external_id="CW-200")
        assert_problem(api.put(URL, self.body(organization="CW-200")), 409, "invoice-has-payments")

    def test_raising_the_total_and_other_edits_are_fine(self, api, paid):
        lines = [{"description": "Managed services", "quantity": "3", "unit_price": "150.00"}]
        response = api.put(URL, self.body(lines=lines, memo="Added a seat."))
        assert response.status_code == 200, response.content
        assert (response.json()["total"], response.json()["amount_due"]) == ("460.00", "175.00")
        assert AuditEvent.objects.filter(action="invoice.updated").exists()

    def test_nothing_about_money_changes_while_a_payment_is_in_flight(
        self, api, fabrikam, pay, manager
    ):
        manager.organization = fabrikam
        manager.save()
        api.put(URL, self.body())
        invoice = Invoice.objects.get(number="INV-5001")
        assert pay(invoice, new_bank()).state == "pending"
        lines = [{"description": "Managed services", "quantity": "9", "unit_price": "150.00"}]
        assert_problem(api.put(URL, self.body(lines=lines)), 409, "invoice-has-payments")
        assert_problem(api.put(URL, self.body(state="void")), 409, "invoice-has-payments")
        assert api.put(URL, self.body(memo="Paid by eCheck")).status_code == 200


def test_omitted_fields_are_left_as_they_are(api, fabrikam):
    api.put(URL, invoice_body(terms="Net 15", memo="Thanks!", tax="10.00", state="draft"))
    body = {k: v for k, v in invoice_body().items() if k not in ("terms", "memo", "tax", "state")}
    response = api.put(URL, body)
    assert response.status_code == 200
    assert (response.json()["terms"], response.json()["memo"]) == ("Net 15", "Thanks!")
    assert (response.json()["tax"], response.json()["state"]) == ("10.00", "draft")
    assert AuditEvent.objects.filter(action="invoice.updated").count() == 0
