"""CSV import: checked row by row, all or nothing, run by the background worker with its progress
in the database, polled by the page."""

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from remit.backoffice.imports import check_rows
from remit.backoffice.models import InvoiceImport
from remit.billing.models import Invoice
from tests.backoffice.conftest import audit
from tests.factories import OrganizationFactory
from tests.payments.conftest import run_worker

URL = "/backoffice/billing/invoice/import/"
HEADER = "invoice_number,organization,invoice_date,due_date,description,quantity,unit_price,tax\n"
GOOD = HEADER + (
    "NW-7001,Northwind Traders,2026-07-01,2026-07-31,Managed IT services,24,95.00,0\n"
    "NW-7001,,,,Microsoft 365 licenses,24,22.00,\n"
    "CT-7001,CONTOSO-01,07/01/2026,07/31/2026,Backup and disaster recovery,1,149.00,9.31\n"
)


def upload(client, text: str, name: str = "invoices.csv"):
    return client.post(URL, {"file": SimpleUploadedFile(name, text.encode(), "text/csv")})


@pytest.fixture
def contoso_with_id(contoso):
    contoso.external_id = "CONTOSO-01"
    contoso.save()
    return contoso


@pytest.mark.django_db
class TestImport:
    def test_a_good_file_creates_every_invoice(self, as_staff, northwind, contoso_with_id):
        response = upload(as_staff, GOOD)
        job = InvoiceImport.objects.get()
        assert response.status_code == 302
        assert response["Location"] == f"{URL}{job.pk}/"
        assert job.state == InvoiceImport.State.QUEUED
        assert not Invoice.objects.exists()  # the worker does it

        assert run_worker() == 1
        job.refresh_from_db()
        assert job.state == InvoiceImport.State.SUCCEEDED
        assert (job.rows_done, job.rows_total, job.invoices_created) == (3, 3, 2)
        northwind_invoice = Invoice.objects.get(number="NW-7001")
        assert northwind_invoice.organization == northwind
        assert northwind_invoice.state == "issued"
        assert northwind_invoice.total == Decimal("2808.00")  # 24 × 95 + 24 × 22
        assert northwind_invoice.lines.count() == 2
        contoso_invoice = Invoice.objects.get(number="CT-7001")
        assert contoso_invoice.organization == contoso_with_id
        assert contoso_invoice.total == Decimal("158.31")
        assert str(contoso_invoice.invoice_date) == "2026-07-01"
        assert audit("invoice_import.started").count() == 1
        assert audit("invoice_import.succeeded").get().details["invoices"] == 2

        page = as_staff.get(f"{URL}{job.pk}/")
        assert "Imported 2 invoice(s) from 3 row(s)." in page.text
        assert "hx-trigger" not in page.text  # no more polling

    def test_one_bad_row_imports_nothing_and_reports_every_problem(
        self, as_staff, northwind, contoso_with_id
    ):
        text = GOOD + (
            "NW-7002,Nowhere Inc,2026-07-01,2026-06-01,Support,abc,-1,\n"
            "NW-7001,Contoso Ltd,,,Extra line,1,10.00,\n"
            ",Northwind Traders,2026-07-01,2026-07-31,x,1,1,\n"
            "NW-7003,Northwind Traders,2026-13-01,2026-07-31,,1,1.005,\n"
        )
        upload(as_staff, text)
        run_worker()
        job = InvoiceImport.objects.get()
        assert job.state == InvoiceImport.State.FAILED
        assert not Invoice.objects.exists()
        problems = {(e["row"], e["column"]) for e in job.errors}
        assert problems == {
            (5, "organization"),
            (5, "due_date"),
            (5, "quantity"),
            (5, "unit_price"),
            (6, "organization"),
            (7, "invoice_number"),
            (8, "invoice_date"),
            (8, "description"),
            (8, "unit_price"),
        }
        assert job.error_count == 9
        page = as_staff.get(f"{URL}{job.pk}/").text
        assert "9 problems found; nothing was imported." in page
        assert "No organization has the external id or name &#x27;Nowhere Inc&#x27;." in page
        assert audit("invoice_import.failed", outcome="refused").count() == 1

    def test_an_existing_invoice_number_rejects_the_file(self, as_staff, northwind, invoice):
        upload(
            as_staff,
            HEADER
            + "NW-7009,Northwind Traders,2026-07-01,2026-07-31,x,1,1,\n"
            + "NW-1001,Northwind Traders,2026-07-01,2026-07-31,x,1,1,\n",
        )
        run_worker()
        job = InvoiceImport.objects.get()
        assert job.errors == [
            {"row": 3, "column": "invoice_number", "message": "Invoice NW-1001 already exists."}
        ]
        assert not Invoice.objects.filter(number="NW-7009").exists()

    def test_columns_are_checked_first(self, as_staff, northwind):
        upload(as_staff, "invoice_number,organisation,amount\nX,Y,1\n")
        run_worker()
        job = InvoiceImport.objects.get()
        assert [(e["row"], e["column"]) for e in job.errors] == [
            (1, "organisation"),
            (1, "amount"),
            (1, "organization"),
            (1, "invoice_date"),
            (1, "due_date"),
            (1, "description"),
            (1, "unit_price"),
        ]

    def test_a_file_that_is_not_utf8_is_refused_at_once(self, as_staff):
        response = as_staff.post(
            URL, {"file": SimpleUploadedFile("x.csv", "Café".encode("latin-1"), "text/csv")}
        )
        assert response.status_code == 200
        assert "The file is not UTF-8 text." in response.text
        assert not InvoiceImport.objects.exists()

    def test_the_page_polls_while_the_import_runs(self, as_staff, staff):
        job = InvoiceImport.objects.create(
            created_by=staff,
            filename="big.csv",
            content=GOOD,
            state=InvoiceImport.State.VALIDATING,
            rows_total=400,
            rows_done=100,
        )
        page = as_staff.get(f"{URL}{job.pk}/")
        assert 'hx-trigger="every 1s"' in page.text
        assert 'value="25"' in page.text
        fragment = as_staff.get(f"{URL}{job.pk}/", headers={"HX-Request": "true"})
        assert fragment.text.lstrip().startswith('<section id="import-status"')
        assert "100 of 400 rows checked." in fragment.text

    def test_running_the_task_twice_imports_once(self, as_staff, northwind, contoso_with_id):
        from remit.backoffice.imports import process_import

        upload(as_staff, GOOD)
        job = InvoiceImport.objects.get()
        assert process_import(job.pk) == "succeeded"
        assert process_import(job.pk) == "succeeded"
        assert Invoice.objects.count() == 2


@pytest.mark.django_db
class TestRows:
    def test_rows_of_one_invoice_must_agree(self, northwind):
        _, errors, _ = check_rows(
            HEADER
            + "A-1,Northwind Traders,2026-07-01,2026-07-31,x,1,1,5\n"
            + "A-1,Northwind Traders,2026-07-01,2026-07-31,y,1,1,6\n"
        )
        assert [(e.row, e.column) for e in errors] == [(3, "tax")]

    def test_an_ambiguous_name_asks_for_the_external_id(self, provider):
        OrganizationFactory(name="Twin Co")
        OrganizationFactory(name="twin co")
        _, errors, _ = check_rows(HEADER + "A-1,Twin Co,2026-07-01,2026-07-31,x,1,1,\n")
        assert "use its external id" in errors[0].message

    def test_progress_is_reported(self, northwind):
        rows = "".join(
            f"A-{n},Northwind Traders,2026-07-01,2026-07-31,x,1,1,\n" for n in range(250)
        )
        seen = []
        _drafts, errors, total = check_rows(HEADER + rows, lambda done, t: seen.append((done, t)))
        assert not errors
        assert total == 250
        assert seen == [(100, 250), (200, 250), (250, 250)]
