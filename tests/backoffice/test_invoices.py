"""Invoices in the back office: drafts with line items (totals computed, never typed), issue, void
(refused while money is applied or in flight), read-only once issued."""

from decimal import Decimal

import pytest
from django.test import Client

from remit.billing.models import Invoice
from tests.backoffice.conftest import audit, make_payment
from tests.factories import make_invoice

ADD = "/backoffice/billing/invoice/add/"


def invoice_form(organization, lines, **fields):
    data = {
        "organization": organization.pk,
        "number": "NW-5001",
        "invoice_date": "2026-07-01",
        "due_date": "2026-07-31",
        "terms": "Net 30",
        "tax": "0.00",
        "memo": "",
        "_save": "Save",
        "lines-TOTAL_FORMS": str(len(lines)),
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "1000",
    }
    for i, line in enumerate(lines):
        for key, value in line.items():
            data[f"lines-{i}-{key}"] = value
    data.update(fields)
    return data


LINES = [
    {"description": "Managed IT services", "quantity": "24", "unit_price": "95.00"},
    {"description": "After-hours support (hours)", "quantity": "2.5", "unit_price": "165.00"},
]


@pytest.mark.django_db
class TestDrafts:
    def test_staff_create_a_draft_and_totals_are_computed(self, as_staff, northwind):
        response = as_staff.post(
            ADD, invoice_form(northwind, LINES, tax="12.34", subtotal="1.00", total="1.00")
        )
        assert response.status_code == 302
        invoice = Invoice.objects.get(number="NW-5001")
        assert invoice.state == Invoice.State.DRAFT
        assert invoice.subtotal == Decimal("2692.50")  # 24 × 95 + 2.5 × 165
        assert invoice.tax == Decimal("12.34")
        assert invoice.total == Decimal("2704.84")
        assert [line.amount for line in invoice.lines.all()] == [
            Decimal("2280.00"),
            Decimal("412.50"),
        ]
        assert audit("invoice.created", object_id=str(invoice.pk), organization=northwind).exists()

    def test_a_draft_is_edited_and_its_totals_follow(self, as_staff, northwind):
        as_staff.post(ADD, invoice_form(northwind, LINES))
        invoice = Invoice.objects.get(number="NW-5001")
        first, second = invoice.lines.all()
        data = invoice_form(
            northwind,
            [
                {
                    "id": first.pk,
                    "invoice": invoice.pk,
                    "description": "Managed IT services",
                    "quantity": "25",
                    "unit_price": "95.00",
                },
                {
                    "id": second.pk,
                    "invoice": invoice.pk,
                    "description": "x",
                    "quantity": "1",
                    "unit_price": "1",
                    "DELETE": "on",
                },
                {
                    "invoice": invoice.pk,
                    "description": "Firewall renewal",
                    "quantity": "1",
                    "unit_price": "849.00",
                },
            ],
            tax="53.06",
        )
        data["lines-INITIAL_FORMS"] = "2"
        response = as_staff.post(f"/backoffice/billing/invoice/{invoice.pk}/change/", data)
        assert response.status_code == 302
        invoice.refresh_from_db()
        assert invoice.subtotal == Decimal("3224.00")
        assert invoice.total == Decimal("3277.06")
        assert [line.description for line in invoice.lines.all()] == [
            "Managed IT services",
            "Firewall renewal",
        ]
        event = audit("invoice.changed", object_id=str(invoice.pk)).get()
        assert event.details["changes"]

    def test_bad_lines_are_refused(self, as_staff, northwind):
        response = as_staff.post(
            ADD,
            invoice_form(
                northwind,
                [{"description": "x", "quantity": "0", "unit_price": "-5"}],
                due_date="2026-06-01",
            ),
        )
        assert response.status_code == 200
        assert not Invoice.objects.filter(number="NW-5001").exists()
        text = response.text
        assert "The due date is before the invoice date." in text
        assert "More than 0." in text
        assert "Not negative." in text

    def test_drafts_are_not_shown_to_clients(self, as_manager, northwind):
        draft = make_invoice(northwind, state="draft", number="NW-DRAFT")
        assert as_manager.get(f"/invoices/{draft.pk}/").status_code == 404

    def test_a_draft_is_deleted_an_issued_invoice_is_not(self, as_staff, northwind, invoice):
        draft = make_invoice(northwind, state="draft", number="NW-DRAFT")
        response = as_staff.post(f"/backoffice/billing/invoice/{draft.pk}/delete/", {"post": "yes"})
        assert response.status_code == 302
        assert not Invoice.objects.filter(pk=draft.pk).exists()
        assert audit("invoice.deleted").count() == 1
        response = as_staff.post(
            f"/backoffice/billing/invoice/{invoice.pk}/delete/", {"post": "yes"}
        )
        assert response.status_code == 403


@pytest.mark.django_db
class TestIssue:
    def test_staff_issue_a_draft(self, as_staff, northwind, manager):
        draft = make_invoice(northwind, state="draft", number="NW-DRAFT", total="300.00")
        response = as_staff.post(f"/backoffice/billing/invoice/{draft.pk}/issue/")
        assert response.status_code == 302
        draft.refresh_from_db()
        assert draft.state == Invoice.State.ISSUED
        assert draft.issued_at is not None
        assert audit("invoice.issued", object_id=str(draft.pk)).count() == 1
        person = Client()
        person.force_login(manager)
        assert person.get(f"/invoices/{draft.pk}/").status_code == 200

    def test_an_empty_draft_is_not_issued(self, as_staff, northwind):
        as_staff.post(ADD, invoice_form(northwind, []))
        draft = Invoice.objects.get(number="NW-5001")
        response = as_staff.post(f"/backoffice/billing/invoice/{draft.pk}/issue/", follow=True)
        assert "Add at least one line" in response.text
        draft.refresh_from_db()
        assert draft.state == Invoice.State.DRAFT

    def test_an_issued_invoice_is_read_only(self, as_staff, invoice):
        page = as_staff.get(f"/backoffice/billing/invoice/{invoice.pk}/change/")
        assert page.status_code == 200
        assert 'name="number"' not in page.text
        assert "Void invoice" in page.text
        response = as_staff.post(
            f"/backoffice/billing/invoice/{invoice.pk}/change/", {"number": "CHANGED"}
        )
        assert response.status_code == 403
        invoice.refresh_from_db()
        assert invoice.number == "NW-1001"

    def test_the_bulk_action(self, as_staff, northwind):
        drafts = [make_invoice(northwind, state="draft") for _ in range(2)]
        as_staff.post(
            "/backoffice/billing/invoice/",
            {"action": "issue_drafts", "_selected_action": [d.pk for d in drafts]},
        )
        assert Invoice.objects.filter(state="issued", pk__in=[d.pk for d in drafts]).count() == 2


@pytest.mark.django_db
class TestVoid:
    def url(self, invoice):
        return f"/backoffice/billing/invoice/{invoice.pk}/void/"

    def test_staff_void_an_unpaid_invoice_after_confirming(self, as_staff, invoice):
        page = as_staff.get(self.url(invoice))
        assert "Void invoice NW-1001?" in page.text
        response = as_staff.post(self.url(invoice), {"reason": "Billed twice"})
        assert response.status_code == 302
        invoice.refresh_from_db()
        assert (invoice.state, invoice.void_reason) == ("void", "Billed twice")
        event = audit("invoice.voided", object_id=str(invoice.pk)).get()
        assert event.details["reason"] == "Billed twice"

    def test_a_reason_is_required(self, as_staff, invoice):
        assert as_staff.post(self.url(invoice), {"reason": ""}).status_code == 200
        invoice.refresh_from_db()
        assert invoice.state == "issued"

    def test_refused_while_money_is_applied(self, as_staff, invoice, manager):
        make_payment(invoice, manager, state="settled")
        response = as_staff.post(self.url(invoice), {"reason": "x"}, follow=True)
        assert "Refund or void the payment first" in response.text
        invoice.refresh_from_db()
        assert invoice.state == "issued"

    def test_refused_while_a_payment_is_in_flight(self, as_staff, invoice, manager):
        make_payment(invoice, manager, state="pending", kind="echeck")
        response = as_staff.post(self.url(invoice), {"reason": "x"}, follow=True)
        assert "A payment for this invoice is still in progress" in response.text
        invoice.refresh_from_db()
        assert invoice.state == "issued"
