"""The table of allowed transitions, applied: a locked payment moves state and its money is applied
to (or taken off) the invoice. Called only from the other steps, inside their transactions."""

from __future__ import annotations

import logging

from django.utils import timezone

from remit.billing.models import Invoice
from remit.core.money import ZERO, to_money
from remit.payments import limits
from remit.payments.models import (
    APPLIED_STATES,
    IN_FLIGHT_STATES,
    TRANSITIONS,
    LimitEvent,
    MethodKind,
    Payment,
    PaymentEvent,
    PaymentState,
)
from remit.payments.services.common import IllegalTransition
from remit.payments.signals import EVENT_FOR_STATE, payment_changed

logger = logging.getLogger(__name__)


def _approved_state(payment: Payment) -> str:
    """A card is charged when approved; an eCheck waits, pending, until it settles."""
    return PaymentState.APPROVED if payment.method_kind == MethodKind.CARD else PaymentState.PENDING


def _queue_receipt(payment: Payment) -> None:
    """Queued in the caller's transaction: the receipt exists exactly when the approval does. The
    outbox retries it while SMTP is down (remit/outbox/)."""
    from remit.outbox.models import EmailKind
    from remit.outbox.services import email_queue

    email_queue(EmailKind.RECEIPT, payment=payment)


def _count_failure(payment: Payment) -> None:
    if payment.payer is not None:
        limits.record_limit_event(
            LimitEvent.Kind.FAILURE, user=payment.payer, ip_address=payment.ip_address
        )


def _transition(
    payment: Payment,
    invoice: Invoice,
    to_state: str,
    *,
    source: str,
    message: str = "",
    data: dict | None = None,
    emit: bool = True,
) -> bool:
    """Move a payment (locked, with its invoice locked) along the table of allowed transitions,
    applying or unapplying its money on the invoice. Moving to the current state is a no-op."""
    from_state = payment.state
    if from_state == to_state:
        logger.info("payment %s is already %s", payment.order_id, to_state)
        return False
    if to_state not in TRANSITIONS[from_state]:
        logger.warning(
            "refused transition %s -> %s for payment %s", from_state, to_state, payment.order_id
        )
        raise IllegalTransition(f"{from_state} -> {to_state}")
    now = timezone.now()
    was_applied, will_apply = from_state in APPLIED_STATES, to_state in APPLIED_STATES
    paid_before = invoice.amount_paid
    if will_apply and not was_applied:
        payment.applied_amount = to_money(payment.amount - payment.refunded_amount)
        invoice.amount_paid = to_money(invoice.amount_paid + payment.applied_amount)
    elif was_applied and not will_apply:
        invoice.amount_paid = to_money(invoice.amount_paid - payment.applied_amount)
        payment.applied_amount = ZERO
    payment.state = to_state
    if to_state not in IN_FLIGHT_STATES and payment.completed_at is None:
        payment.completed_at = now
    if to_state == PaymentState.SETTLED:
        payment.settled_at = now
    if to_state == PaymentState.RETURNED:
        payment.returned_at = now
    payment.save()
    if invoice.amount_paid != paid_before:
        invoice.save(update_fields=["amount_paid", "updated_at"])
    PaymentEvent.objects.create(
        payment=payment,
        from_state=from_state,
        to_state=to_state,
        source=source,
        message=message[:300],
        data=data or {},
    )
    event = EVENT_FOR_STATE.get(to_state)
    if to_state == PaymentState.SETTLED and payment.method_kind == MethodKind.CARD:
        event = None  # a card payment already succeeded when it was approved
    if event and emit:
        payment_changed.send(sender=Payment, payment=payment, event=event, refund=None)
    return True
