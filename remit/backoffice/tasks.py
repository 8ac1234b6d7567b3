"""Background jobs of the back office. Each takes only ids."""

from django_tasks import task


@task()
def run_invoice_import(import_id: int) -> str:
    """Check every row of an uploaded CSV, then create all its invoices in one transaction, or none."""
    from remit.backoffice.imports import process_import

    return process_import(import_id)
