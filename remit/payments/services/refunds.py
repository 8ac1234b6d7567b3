"""Refunds (after settlement) and voids (before), each a child transaction of a payment."""

from __future__ import annotations

import logging
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from remit.audit.services import record_event
from remit.billing.models import Invoice
from remit.core.money import ZERO, format_money, to_money
from remit.gateway import GatewayNotConfigured, get_gateway
from remit.gateway.base import (
    Gateway,
    GatewayLookupError,
    GatewayResult,
    Outcome,
    PaymentKind,
)
from remit.payments import surcharge
from remit.payments.models import (
    APPLIED_STATES,
    MethodKind,
    Payment,
    PaymentAllocation,
    PaymentEvent,
    PaymentState,
    Refund,
    RefundKind,
    RefundState,
)
from remit.payments.services.common import _clean
from remit.payments.services.state import Locked, _transition, lock_invoices
from remit.payments.signals import payment_changed

logger = logging.getLogger(__name__)


class RefundRefused(Exception):
    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.message, self.code = message, code


def refund_payment(
    payment: Payment,
    amount: Decimal | None = None,
    *,
    acting_user,
    reason: str = "",
    via: str = "backoffice",
    idempotency_key: str = "",
    ip_address: str | None = None,
    gateway: Gateway | None = None,
    actor_label: str = "",
    reduce: list[int] | None = None,
    amounts: dict[int, Decimal] | None = None,
) -> Refund:
    """Refund a settled payment, fully or partly (up to what is still applied). `actor_label`
    names a requester that is not a user (an integration's API key). A partial refund of a payment
    of several invoices reduces them in the order of `reduce` (invoice ids, staff's choice), then
    newest first; or by exactly `amounts` (invoice id: amount, staff's choice on the back office's
    refund page), which must add up to `amount`, each at most what that invoice still has applied.
    Which invoices it reduced, by how much, is in the audit log."""
    return _child_transaction(
        payment,
        RefundKind.REFUND,
        amount,
        reduce=reduce,
        amounts=amounts,
        acting_user=acting_user,
        reason=reason,
        via=via,
        idempotency_key=idempotency_key,
        ip_address=ip_address,
        gateway=gateway,
        actor_label=actor_label,
    )


def void_payment(
    payment: Payment,
    *,
    acting_user,
    reason: str = "",
    via: str = "backoffice",
    idempotency_key: str = "",
    ip_address: str | None = None,
    gateway: Gateway | None = None,
    actor_label: str = "",
) -> Refund:
    """Cancel a payment before it settles (a card approved today, an eCheck pending)."""
    return _child_transaction(
        payment,
        RefundKind.VOID,
        None,
        acting_user=acting_user,
        reason=reason,
        via=via,
        idempotency_key=idempotency_key,
        ip_address=ip_address,
        gateway=gateway,
        actor_label=actor_label,
    )


def _child_transaction(
    payment,
    kind,
    amount,
    *,
    acting_user,
    reason,
    via,
    idempotency_key,
    ip_address,
    gateway,
    actor_label,
    reduce=None,
    amounts=None,
):
    actor_label = actor_label or getattr(acting_user, "email", "") or via
    if gateway is None:  # before anything is written: no gateway, no refund row left behind
        try:
            gateway = get_gateway()
        except GatewayNotConfigured:
            raise RefundRefused("No payment gateway is configured.", "no_gateway") from None
    if idempotency_key:
        existing = Refund.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            if existing.payment_id != payment.pk or existing.kind != kind:
                raise RefundRefused(
                    "That idempotency key was used for another request.", "key_reused"
                )
            return existing
    try:
        with transaction.atomic():
            locked = Payment.objects.select_for_update().get(pk=payment.pk)
            if Refund.objects.filter(
                payment=locked, state__in=[RefundState.PROCESSING, RefundState.UNKNOWN]
            ).exists():
                raise RefundRefused(
                    "A refund or void of this payment is already being processed.", "in_flight"
                )
            if kind == RefundKind.VOID:
                if locked.state not in (PaymentState.APPROVED, PaymentState.PENDING):
                    raise RefundRefused(
                        "Only a payment that has not settled yet can be voided.", "not_voidable"
                    )
                amount = locked.amount
            else:
                if locked.state != PaymentState.SETTLED:
                    raise RefundRefused(
                        "Only a settled payment can be refunded; void it instead if it has not settled.",
                        "not_refundable",
                    )
                amount = to_money(amount if amount is not None else locked.applied_amount)
                if amount <= ZERO:
                    raise RefundRefused("The refund amount must be more than zero.", "bad_amount")
                if amount > locked.applied_amount:
                    raise RefundRefused(
                        f"At most {format_money(locked.applied_amount)} can be refunded.",
                        "too_much",
                    )
            if kind == RefundKind.REFUND and amounts:
                split = chosen_split(locked, amount, amounts)
            else:
                split = split_refund(locked, amount, reduce if kind == RefundKind.REFUND else None)
            change = locked.surcharge_amount - locked.discount_amount
            adjustment = (
                change
                if kind == RefundKind.VOID
                else surcharge.refund_share(
                    adjustment=change,
                    base=locked.amount,
                    refunded_base_before=locked.refunded_amount,
                    refunding=amount,
                )
            )
            refund = Refund.objects.create(
                payment=locked,
                kind=kind,
                amount=amount,
                adjustment=adjustment,
                allocation={str(k): str(v) for k, v in split.items()},
                reason=reason[:200],
                requested_by=acting_user,
                requested_via=via,
                idempotency_key=idempotency_key,
            )
            PaymentEvent.objects.create(
                payment=locked,
                source=via,
                message=f"{refund.get_kind_display()} of {format_money(amount)}"
                f"{_adjustment_words(adjustment)} requested by "
                f"{getattr(acting_user, 'email', 'integration')}",
            )
            record_event(
                f"payment.{kind}_requested",
                actor=acting_user,
                actor_label=actor_label,
                obj=locked,
                summary=f"{refund.get_kind_display()} of {format_money(amount)} requested for {locked.order_id}",
                ip_address=ip_address,
                reason=reason,
                invoices=_split_by_number(split),
                surcharge_refunded=str(max(adjustment, ZERO)),
                discount_taken_back=str(max(-adjustment, ZERO)),
            )
    except IntegrityError:
        raise RefundRefused(
            "A refund or void of this payment is already being processed.", "in_flight"
        ) from None

    kind_for_gateway = (
        PaymentKind.CARD if payment.method_kind == MethodKind.CARD else PaymentKind.ECHECK
    )
    try:
        if kind == RefundKind.VOID:
            result = gateway.void(
                transaction_id=payment.transaction_id,
                kind=kind_for_gateway,
                order_id=refund.order_id,
            )
        else:
            result = gateway.refund(
                transaction_id=payment.transaction_id,
                kind=kind_for_gateway,
                amount=amount + refund.adjustment,  # with its share of a surcharge or discount
                order_id=refund.order_id,
            )
    except Exception:
        logger.exception("gateway %s failed for %s", kind, refund.order_id)
        result = GatewayResult(outcome=Outcome.UNKNOWN, response_text="the gateway call failed")
    return record_refund_outcome(
        refund.pk, result, acting_user=acting_user, actor_label=actor_label, ip_address=ip_address
    )


def record_refund_outcome(
    refund_id: int,
    result: GatewayResult,
    *,
    acting_user=None,
    actor_label: str = "",
    ip_address: str | None = None,
) -> Refund:
    with transaction.atomic():
        refund = Refund.objects.select_for_update().get(pk=refund_id)
        if refund.state not in (RefundState.PROCESSING, RefundState.UNKNOWN):
            return refund
        payment = Payment.objects.select_for_update().get(pk=refund.payment_id)
        locked = lock_invoices(payment)
        refund.transaction_id = _clean(result.transaction_id, 64)
        refund.response_code = _clean(result.response_code, 8)
        refund.response_text = _clean(result.response_text, 255)
        if result.outcome == Outcome.APPROVED:
            refund.state = RefundState.SUCCEEDED
            refund.completed_at = timezone.now()
            refund.save()
            _apply_refund(refund, payment, locked)
        elif result.outcome == Outcome.DECLINED or (
            result.outcome == Outcome.ERROR and not result.needs_lookup
        ):
            refund.state = RefundState.FAILED
            refund.completed_at = timezone.now()
            refund.save()
            PaymentEvent.objects.create(
                payment=payment,
                source="gateway",
                message=f"{refund.get_kind_display()} refused: {refund.response_text}"[:300],
            )
        else:
            refund.state = RefundState.UNKNOWN
            refund.save()
            PaymentEvent.objects.create(
                payment=payment,
                source="gateway",
                message=f"{refund.get_kind_display()} outcome unknown; being confirmed",
            )
        record_event(
            f"payment.{refund.kind}",
            actor=acting_user,
            actor_label=actor_label or getattr(acting_user, "email", "") or refund.requested_via,
            obj=payment,
            outcome="success" if refund.state == RefundState.SUCCEEDED else "failure",
            summary=f"{refund.get_kind_display()} of {format_money(refund.amount)}: {refund.get_state_display()}",
            refund_order_id=refund.order_id,
            response_code=refund.response_code,
            ip_address=ip_address,
        )
    return refund


def _apply_refund(refund: Refund, payment: Payment, locked: Locked) -> None:
    if refund.adjustment:
        payment.adjustment_refunded = to_money(payment.adjustment_refunded + refund.adjustment)
        payment.save(update_fields=["adjustment_refunded", "updated_at"])
    if refund.kind == RefundKind.VOID:
        _transition(
            payment, locked, PaymentState.VOIDED, source="gateway", message="Voided", emit=False
        )
        payment_changed.send(
            sender=Payment, payment=payment, event="payment.refunded", refund=refund
        )
        return
    split = {int(k): to_money(Decimal(v)) for k, v in refund.allocation.items()} or split_refund(
        payment, refund.amount, None
    )
    for allocation in locked.allocations:
        share = split.get(allocation.invoice_id, ZERO)
        if share <= ZERO:
            continue
        invoice = locked.invoices[allocation.invoice_id]
        allocation.applied_amount = to_money(allocation.applied_amount - share)
        allocation.refunded_amount = to_money(allocation.refunded_amount + share)
        allocation.save(update_fields=["applied_amount", "refunded_amount"])
        invoice.amount_paid = to_money(invoice.amount_paid - share)
        invoice.save(update_fields=["amount_paid", "updated_at"])
    payment.refunded_amount = to_money(payment.refunded_amount + refund.amount)
    payment.applied_amount = to_money(payment.applied_amount - refund.amount)
    payment.save(update_fields=["refunded_amount", "applied_amount", "updated_at"])
    PaymentEvent.objects.create(
        payment=payment,
        source="gateway",
        message=f"Refunded {format_money(refund.amount)}{_adjustment_words(refund.adjustment)};"
        " invoice amount due restored",
    )
    payment_changed.send(sender=Payment, payment=payment, event="payment.refunded", refund=refund)


def _adjustment_words(adjustment: Decimal) -> str:
    """' (and $18.48 of the card surcharge, pro rata)' — the refund's share, said where it is."""
    if adjustment > 0:
        return f" (and {format_money(adjustment)} of the card surcharge, pro rata)"
    if adjustment < 0:
        return f" (less {format_money(-adjustment)} of the eCheck discount, pro rata)"
    return ""


def split_refund(payment: Payment, amount: Decimal, reduce: list[int] | None) -> dict[int, Decimal]:
    """Which invoices a refund of `amount` reduces: the ids in `reduce` first, in that order, then
    the newest invoices first, each by at most what it still has applied. A void (or a full
    refund) takes everything applied, so the order does not matter for it."""
    allocations = list(
        PaymentAllocation.objects.filter(payment=payment)
        .select_related("invoice")
        .order_by("-invoice__invoice_date", "-invoice_id")
    )
    by_invoice = {a.invoice_id: a for a in allocations}
    if unknown := [i for i in reduce or [] if i not in by_invoice]:
        raise RefundRefused(
            f"This payment did not pay invoice {unknown[0]}; choose among its invoices.",
            "not_allocated",
        )
    order = [by_invoice[i] for i in dict.fromkeys(reduce or [])]
    order += [a for a in allocations if a not in order]
    if payment.state not in APPLIED_STATES:  # a void of a pending eCheck: nothing applied yet
        return {a.invoice_id: to_money(a.amount - a.refunded_amount) for a in order}
    split, left = {}, to_money(amount)
    for allocation in order:
        share = min(left, allocation.applied_amount)
        if share > ZERO:
            split[allocation.invoice_id] = share
            left = to_money(left - share)
    return split


def chosen_split(payment: Payment, amount: Decimal, amounts: dict) -> dict[int, Decimal]:
    """Staff's amounts per invoice, checked against the payment's allocations (under the payment's
    lock when refunding): each an invoice this payment paid, at most what it still has applied,
    together exactly `amount`. Invoices left at zero are not reduced."""
    applied = dict(
        PaymentAllocation.objects.filter(payment=payment).values_list(
            "invoice_id", "applied_amount"
        )
    )
    split = {}
    for invoice_id, value in amounts.items():
        if int(invoice_id) not in applied:
            raise RefundRefused(
                f"This payment did not pay invoice {invoice_id}; choose among its invoices.",
                "not_allocated",
            )
        try:
            exact = Decimal(str(value))
            value = to_money(exact)
        except (ArithmeticError, ValueError):
            raise RefundRefused(
                "Enter each invoice's amount such as 25.00.", "bad_amount"
            ) from None
        if exact != value:
            raise RefundRefused("Enter amounts with at most two decimals.", "bad_amount")
        if value < ZERO:
            raise RefundRefused("An invoice's refund cannot be negative.", "bad_amount")
        if value > applied[int(invoice_id)]:
            raise RefundRefused(
                f"At most {format_money(applied[int(invoice_id)])} can be refunded on one of the "
                "invoices.",
                "too_much",
            )
        if value > ZERO:
            split[int(invoice_id)] = value
    if to_money(sum(split.values(), ZERO)) != to_money(amount):
        raise RefundRefused(
            f"The invoices' amounts add up to {format_money(sum(split.values(), ZERO))}, not "
            f"{format_money(amount)}.",
            "split_mismatch",
        )
    return split


def _split_by_number(split: dict[int, Decimal]) -> dict[str, str]:
    numbers = dict(Invoice.objects.filter(pk__in=split).values_list("pk", "number"))
    return {numbers.get(k, str(k)): str(v) for k, v in split.items()}


def reconcile_refund(refund_id: int, *, gateway: Gateway | None = None, now=None) -> str:
    now = now or timezone.now()
    refund = Refund.objects.get(pk=refund_id)
    if refund.state != RefundState.UNKNOWN:
        return refund.state
    gateway = gateway or get_gateway()
    try:
        found = gateway.query(order_id=refund.order_id)
    except GatewayLookupError:
        return refund.state
    action_type = "void" if refund.kind == RefundKind.VOID else "refund"
    for tx in found:
        action = tx.last_action(action_type)
        if action is not None:
            outcome = Outcome.APPROVED if action.success else Outcome.DECLINED
            result = GatewayResult(
                outcome=outcome,
                response_code=action.response_code or ("100" if action.success else "300"),
                response_text=action.response_text,
                transaction_id=tx.transaction_id,
            )
            return record_refund_outcome(refund.pk, result).state
    if (now - refund.created_at).total_seconds() >= settings.RECONCILE_NOT_FOUND_AFTER:
        result = GatewayResult(
            outcome=Outcome.ERROR, response_code="-", response_text="not found at the gateway"
        )
        return record_refund_outcome(refund.pk, result).state
    return refund.state
