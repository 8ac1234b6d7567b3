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


@task()
def send_staff_invitation(user_id: int, base_url: str, created_by_id: int | None = None) -> None:
    """A staff member's two-step sign-in set-up link: issued here (only its hash is stored, so it
    cannot be queued) and emailed."""
    from remit.accounts.models import User
    from remit.backoffice.access import has_confirmed_device
    from remit.backoffice.invitations import email_staff_invitation
    from remit.core.models import Provider

    user = User.objects.filter(pk=user_id).first()
    if user is None or not (user.is_active and user.is_staff) or has_confirmed_device(user):
        return  # deactivated, or set up meanwhile: nothing to send
    created_by = User.objects.filter(pk=created_by_id).first() if created_by_id else None
    email_staff_invitation(
        user, base_url=base_url, provider_name=Provider.load().name, created_by=created_by
    )
