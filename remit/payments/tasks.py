"""Background jobs of payments. Each takes only ids: task payloads never carry card or account data."""

import logging

from django_tasks import task

logger = logging.getLogger(__name__)


@task()
def send_payment_receipt(payment_id: int) -> None:
    """Jobs queued before the outbox existed: the receipt goes through the outbox (retried)."""
    _via_outbox("receipt", payment_id)


@task()
def send_payment_returned_notice(payment_id: int) -> None:
    """As send_payment_receipt: kept so jobs already queued still run."""
    _via_outbox("returned_notice", payment_id)


@task()
def reconcile_payment_task(payment_id: int) -> str:
    from remit.payments.services import reconcile_payment

    return reconcile_payment(payment_id)


@task()
def reconcile_open_payments() -> dict:
    """Periodic: a batch of the payments the gateway knows more about, urgent ones first, then the
    alert for payments stuck in flight (remit/payments/reconcile.py)."""
    from remit.payments.reconcile import run_reconciliation

    return run_reconciliation()


def _via_outbox(kind: str, payment_id: int) -> None:
    from remit.outbox.services import email_queue
    from remit.payments.models import Payment

    email_queue(kind, payment=Payment.objects.get(pk=payment_id))
