"""Background jobs of payments. Each takes only ids: task payloads never carry card or account data."""

import logging

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import timezone
from django_tasks import task

from remit.core.models import Provider

logger = logging.getLogger(__name__)


@task()
def send_payment_receipt(payment_id: int) -> None:
    """The receipt, to the payer and the organization's billing contact."""
    from remit.payments.models import Payment

    payment = Payment.objects.select_related("invoice", "organization", "payer").get(pk=payment_id)
    recipients = [payment.payer.email] if payment.payer else []
    if payment.organization.billing_email and payment.organization.billing_email not in recipients:
        recipients.append(payment.organization.billing_email)
    pending = payment.method_kind == "echeck"
    subject = (
        f"eCheck payment received, pending: invoice {payment.invoice.number}"
        if pending
        else f"Payment received: invoice {payment.invoice.number}"
    )
    _send(subject, "emails/payment_receipt", {"payment": payment, "pending": pending}, recipients)


@task()
def send_payment_returned_notice(payment_id: int) -> None:
    """An eCheck came back: tell the payer and the provider."""
    from remit.payments.models import Payment

    payment = Payment.objects.select_related("invoice", "organization", "payer").get(pk=payment_id)
    provider = Provider.load()
    recipients = [payment.payer.email] if payment.payer else []
    if provider.support_email:
        recipients.append(provider.support_email)
    if payment.organization.billing_email and payment.organization.billing_email not in recipients:
        recipients.append(payment.organization.billing_email)
    subject = f"eCheck payment returned: invoice {payment.invoice.number} is due again"
    _send(subject, "emails/payment_returned", {"payment": payment}, recipients)


@task()
def reconcile_payment_task(payment_id: int) -> str:
    from remit.payments.services import reconcile_payment

    return reconcile_payment(payment_id)


@task()
def reconcile_open_payments() -> dict:
    """Periodic: every payment the gateway knows more about (unknown, pending, settling eChecks)."""
    from remit.payments.models import Refund, RefundState
    from remit.payments.services import payments_to_reconcile, reconcile_payment, reconcile_refund

    counts: dict[str, int] = {}
    for payment_id in payments_to_reconcile().values_list("pk", flat=True)[:500]:
        try:
            state = reconcile_payment(payment_id)
        except Exception:  # one broken record must not stop the others
            logger.exception("reconciling payment %s failed", payment_id)
            state = "error"
        counts[state] = counts.get(state, 0) + 1
    for refund_id in Refund.objects.filter(state=RefundState.UNKNOWN).values_list("pk", flat=True):
        reconcile_refund(refund_id)
    return counts


def _send(subject: str, template: str, context: dict, recipients: list[str]) -> None:
    if not recipients:
        return
    provider = Provider.load()
    timezone.activate(provider.zone)
    try:
        context = {**context, "provider": provider}
        text = render_to_string(f"{template}.txt", context)
        html = render_to_string(f"{template}.html", context)
    finally:
        timezone.deactivate()
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=recipients,
        reply_to=[provider.support_email] if provider.support_email else None,
    )
    message.attach_alternative(html, "text/html")
    message.send()
