"""Background jobs of the back office. Each takes only ids."""

from django_tasks import task


@task()
def run_invoice_import(import_id: int) -> str:
    """Check every row of an uploaded CSV, then create all its invoices in one transaction, or none."""
    from remit.backoffice.imports import process_import

    return process_import(import_id)


@task()
def send_invitation(user_id: int, base_url: str) -> None:
    """Jobs queued before the outbox existed: the invitation goes through the outbox (retried)."""
    from remit.accounts.models import User
    from remit.outbox.models import EmailKind
    from remit.outbox.services import email_queue

    email_queue(EmailKind.INVITATION, user=User.objects.get(pk=user_id), base_url=base_url)
