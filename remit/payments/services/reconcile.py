"""Looking a payment up at the gateway by its order id and finishing its record. Which payments to
look up, and when, is remit/payments/reconcile.py (the periodic batches)."""

from __future__ import annotations

import datetime
import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from remit.audit.services import record_event
from remit.gateway import get_gateway
from remit.gateway.base import (
    Condition,
    Gateway,
    GatewayLookupError,
    GatewayTransaction,
)
from remit.payments.models import (
    IN_FLIGHT_STATES,
    MethodKind,
    Payment,
    PaymentState,
)
from remit.payments.services.common import _clean
from remit.payments.services.state import (
    Locked,
    _approved_state,
    _count_failure,
    _queue_receipt,
    _transition,
    lock_invoices,
)

logger = logging.getLogger(__name__)


def payments_to_reconcile(now: datetime.datetime | None = None):
    """Payments whose end the gateway knows better than we do: the urgent ones (unknown, or
    processing past the grace period) first, then the longest unchecked — never-checked before all,
    on PostgreSQL too, where NULL sorts last unless told. The periodic job takes them in batches
    (remit/payments/reconcile.py); `remit reconcile` takes them all."""
    from django.db.models import Case, F, Q, Value, When

    now = now or timezone.now()
    stale = now - datetime.timedelta(seconds=settings.RECONCILE_PROCESSING_GRACE)
    watch_returns = now - datetime.timedelta(days=settings.ECHECK_RETURN_WINDOW_DAYS)
    urgent = Q(state__in=(PaymentState.PROCESSING, PaymentState.UNKNOWN))
    return Payment.objects.filter(
        Q(state=PaymentState.UNKNOWN)
        | Q(state=PaymentState.PROCESSING, created_at__lt=stale)  # the process died mid-way
        | Q(state=PaymentState.PENDING)
        | Q(state=PaymentState.APPROVED)
        | Q(state=PaymentState.SETTLED, method_kind=MethodKind.ECHECK, settled_at__gt=watch_returns)
    ).order_by(
        Case(When(urgent, then=Value(0)), default=Value(1)),
        F("last_checked_at").asc(nulls_first=True),
        "id",
    )


def reconcile_payment(
    payment_id: int,
    *,
    gateway: Gateway | None = None,
    now: datetime.datetime | None = None,
    missing_is_final: bool = False,
) -> str:
    """Ask the gateway what happened to this payment's order id and finish the record. Returns the
    payment's state afterwards. Safe to run any number of times, from any number of workers.

    An order the gateway does not know is taken as never charged once it is older than
    RECONCILE_NOT_FOUND_AFTER, or at once with `missing_is_final` (the gateway just refused it)."""
    now = now or timezone.now()
    payment = Payment.objects.get(pk=payment_id)
    if payment.state not in (*IN_FLIGHT_STATES, PaymentState.APPROVED, PaymentState.SETTLED):
        return payment.state
    gateway = gateway or get_gateway()
    try:
        transactions = gateway.query(order_id=payment.order_id)
    except GatewayLookupError as error:
        logger.warning("reconcile %s: gateway lookup failed: %s", payment.order_id, error)
        return payment.state
    sale = next((t for t in transactions if t.last_action("sale") is not None), None)

    with transaction.atomic():
        payment = (
            Payment.objects.select_for_update(of=("self",))
            .select_related("payer")
            .get(pk=payment_id)
        )
        locked = lock_invoices(payment)
        payment.last_checked_at = now
        payment.save(update_fields=["last_checked_at"])
        if sale is None:
            age = (now - payment.created_at).total_seconds()
            if payment.state in (PaymentState.PROCESSING, PaymentState.UNKNOWN) and (
                missing_is_final or age >= settings.RECONCILE_NOT_FOUND_AFTER
            ):
                _transition(
                    payment,
                    locked,
                    PaymentState.FAILED,
                    source="reconcile",
                    message="The gateway has no record of this payment: nothing was charged",
                )
                _audit_reconciled(payment)
            return payment.state
        _apply_gateway_transaction(payment, locked, sale)
    return payment.state


def _apply_gateway_transaction(payment: Payment, locked: Locked, sale: GatewayTransaction) -> None:
    data = {"condition": str(sale.condition), "actions": [a.action_type for a in sale.actions]}
    if payment.state in (PaymentState.PROCESSING, PaymentState.UNKNOWN):
        sale_action = sale.last_action("sale")
        payment.transaction_id = _clean(sale.transaction_id, 64)
        payment.auth_code = _clean(sale.auth_code, 32)
        payment.response_code = _clean(sale_action.response_code if sale_action else "", 8)
        payment.response_text = _clean(sale_action.response_text if sale_action else "", 255)
        if sale.sale_approved:
            _transition(
                payment,
                locked,
                _approved_state(payment),
                source="reconcile",
                message="Found approved at the gateway",
                data=data,
            )
            _queue_receipt(payment)
        else:
            _transition(
                payment,
                locked,
                PaymentState.DECLINED,
                source="reconcile",
                message="Found declined at the gateway",
                data=data,
            )
            _count_failure(payment)
        _audit_reconciled(payment)

    void = sale.last_action("void")
    if sale.condition == Condition.CANCELED or (void is not None and void.success):
        if payment.state in (PaymentState.APPROVED, PaymentState.PENDING):
            _transition(
                payment,
                locked,
                PaymentState.VOIDED,
                source="reconcile",
                message="Voided at the gateway",
                data=data,
            )
            _audit_reconciled(payment)
        return
    returned = sale.last_action("check_return")
    if returned is not None and payment.method_kind == MethodKind.ECHECK:
        if payment.state in (PaymentState.PENDING, PaymentState.SETTLED):
            payment.return_code = sale.return_code[:8]
            _transition(
                payment,
                locked,
                PaymentState.RETURNED,
                source="reconcile",
                message=f"Returned by the bank: {payment.return_code} {returned.response_text}".strip(),
                data=data,
            )
            _audit_reconciled(payment)
            from remit.outbox.models import EmailKind
            from remit.outbox.services import email_queue

            email_queue(EmailKind.RETURNED_NOTICE, payment=payment)
        return
    settled = sale.last_action("settle")
    is_settled = sale.condition == Condition.COMPLETE or (settled is not None and settled.success)
    if is_settled and payment.state in (PaymentState.APPROVED, PaymentState.PENDING):
        _transition(
            payment,
            locked,
            PaymentState.SETTLED,
            source="reconcile",
            message="Settled",
            data=data,
        )
        _audit_reconciled(payment)


def _audit_reconciled(payment: Payment) -> None:
    record_event(
        f"payment.{payment.state}",
        actor_label="reconcile",
        obj=payment,
        summary=f"Payment {payment.order_id}: {payment.get_state_display()} (reconciled)",
        order_id=payment.order_id,
    )
