"""The table of allowed transitions, applied: a locked payment moves state and its money is applied
to (or taken off) its invoices, allocation by allocation. Called only from the other steps, inside their transactions."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.utils import timezone

from remit.billing.models import Invoice
from remit.core.batch import WriteBatch
from remit.core.money import ZERO, to_money
from remit.core.prepared import Prepared, Slot
from remit.payments import limits
from remit.payments.models import (
    APPLIED_STATES,
    IN_FLIGHT_STATES,
    TRANSITIONS,
    LimitEvent,
    MethodKind,
    Payment,
    PaymentAllocation,
    PaymentEvent,
    PaymentState,
)
from remit.payments.services.common import IllegalTransition
from remit.payments.signals import EVENT_FOR_STATE, payment_changed

logger = logging.getLogger(__name__)


def _approved_state(payment: Payment) -> str:
    """A card is charged when approved; an eCheck waits, pending, until it settles."""
    return PaymentState.APPROVED if payment.method_kind == MethodKind.CARD else PaymentState.PENDING


def _queue_receipt(
    payment: Payment, batch: WriteBatch | None = None, email_id: int | None = None
) -> None:
    """Queued in the caller's transaction: the receipt exists exactly when the approval does. The
    outbox retries it while SMTP is down (remit/outbox/). `email_id`: the row's id, reserved."""
    from remit.outbox.models import EmailKind
    from remit.outbox.services import email_queue

    email_queue(EmailKind.RECEIPT, payment=payment, batch=batch, email_id=email_id)


def _count_failure(payment: Payment) -> None:
    if payment.payer is not None:
        limits.record_limit_event(
            LimitEvent.Kind.FAILURE, user=payment.payer, ip_address=payment.ip_address
        )


# What _transition itself changes on the payment (updated_at: auto_now).
_STATE_FIELDS = (
    "state",
    "applied_amount",
    "completed_at",
    "settled_at",
    "returned_at",
    "updated_at",
)


@dataclass
class Locked:
    """A payment's allocations and their invoices, locked (in _transition's caller's transaction)."""

    allocations: list[PaymentAllocation]
    invoices: dict[int, Invoice]


# lock_invoices' one statement, built once per process (core/prepared.py).
_locked_allocations = Prepared(
    lambda payment: (
        PaymentAllocation.objects.filter(payment=payment)
        .select_related("invoice")
        .select_for_update(of=("invoice",))
        .order_by("invoice_id")
    ),
    on_server=True,
    payment=Slot(PaymentAllocation, "payment"),
)


def lock_invoices(payment: Payment) -> Locked:
    """Lock every invoice the payment pays, in one order (by id), so two payments whose selections
    overlap cannot deadlock: each takes the invoices they share in the same order. The payment's
    own row is locked first by every caller, never the other way round."""
    # One statement: the allocations with their invoices, the invoices locked in that order (the
    # rows are locked as sorted). The allocations need no lock: only a caller holding the
    # payment's lock changes them.
    allocations = _locked_allocations.instances(payment=payment.pk)
    invoices: dict[int, Invoice] = {}
    for allocation in allocations:
        allocation.invoice = invoices.setdefault(allocation.invoice_id, allocation.invoice)
    return Locked(allocations=allocations, invoices=invoices)


def _transition(
    payment: Payment,
    locked: Locked,
    to_state: str,
    *,
    source: str,
    message: str = "",
    data: dict | None = None,
    emit: bool = True,
    fields: tuple[str, ...] | None = None,
    batch: WriteBatch | None = None,
) -> bool:
    """Move a payment (locked, with its invoices locked) along the table of allowed transitions,
    applying or unapplying each allocation's money on its invoice. Moving to the current state is
    a no-op. `fields`: the other columns the caller changed on the payment, written with the
    state's own (an UPDATE of those only); None writes every column. The updates and the event
    go in one round trip: the caller's `batch` (it flushes it before its transaction ends), or
    one of this call's own, sent before the payment_changed signal."""
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
    changed_invoices = []
    for allocation in locked.allocations:
        invoice = locked.invoices[allocation.invoice_id]
        if will_apply and not was_applied:
            allocation.applied_amount = to_money(allocation.amount - allocation.refunded_amount)
            invoice.amount_paid = to_money(invoice.amount_paid + allocation.applied_amount)
            changed_invoices.append(invoice)
        elif was_applied and not will_apply:
            invoice.amount_paid = to_money(invoice.amount_paid - allocation.applied_amount)
            allocation.applied_amount = ZERO
            changed_invoices.append(invoice)
        allocation.in_flight = to_state in IN_FLIGHT_STATES
    payment.applied_amount = to_money(sum((a.applied_amount for a in locked.allocations), ZERO))
    payment.state = to_state
    if to_state not in IN_FLIGHT_STATES and payment.completed_at is None:
        payment.completed_at = now
    if to_state == PaymentState.SETTLED:
        payment.settled_at = now
    if to_state == PaymentState.RETURNED:
        payment.returned_at = now
    own_batch = batch is None
    batch = WriteBatch() if own_batch else batch
    if fields is None:
        payment.save()
    else:
        batch.update(payment, [*_STATE_FIELDS, *fields])
    for allocation in locked.allocations:
        batch.update(allocation, ["applied_amount", "in_flight"])
    for invoice in changed_invoices:
        batch.update(invoice, ["amount_paid", "updated_at"])
        # The generated column, as the database computes it (the copy is what pages show next).
        invoice.amount_due = to_money(invoice.total - invoice.amount_paid)
    batch.insert(
        PaymentEvent(
            payment=payment,
            from_state=from_state,
            to_state=to_state,
            source=source,
            message=message[:300],
            data=data or {},
        )
    )
    if own_batch:
        batch.flush()
    event = EVENT_FOR_STATE.get(to_state)
    if to_state == PaymentState.SETTLED and payment.method_kind == MethodKind.CARD:
        event = None  # a card payment already succeeded when it was approved
    if event and emit:
        payment_changed.send(sender=Payment, payment=payment, event=event, refund=None, batch=batch)
    return True
