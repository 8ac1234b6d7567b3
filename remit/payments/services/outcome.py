"""Phase three of a payment: the gateway's answer applied, in one transaction."""

from __future__ import annotations

import datetime
import logging

from django.db import connection, transaction
from django.db.models.expressions import RawSQL
from django.utils import timezone

from remit.audit.services import record_event
from remit.core.batch import WriteBatch
from remit.core.prepared import Prepared, Slot
from remit.gateway.base import (
    GatewayResult,
    Outcome,
)
from remit.outbox.models import OutgoingEmail
from remit.payments.hosted import NewToken
from remit.payments.models import (
    MethodKind,
    Payment,
    PaymentMethod,
    PaymentState,
)
from remit.payments.services.common import PaymentChoice, SavedMethod, _clean, describe_choice
from remit.payments.services.methods import _save_method
from remit.payments.services.state import (
    _approved_state,
    _count_failure,
    _queue_receipt,
    _transition,
    lock_invoices,
)

logger = logging.getLogger(__name__)

# The payment's columns phase three sets besides the state (written with update_fields).
_OUTCOME_FIELDS = (
    "transaction_id",
    "auth_code",
    "response_code",
    "response_text",
    "avs_response",
    "cvv_response",
    "method_brand",
    "method_last4",
    "card_category",
)


# The payment as phase three locks it, with its payer; built once per process (core/prepared.py).
# On PostgreSQL the same statement reserves the id of the receipt an approval queues, so the
# receipt's row goes with phase three's other writes (WriteBatch) instead of an INSERT … RETURNING
# of its own; a payment that sends no receipt leaves a gap in the ids, as a rollback does.
def _payment_locked(pk):
    payments = Payment.objects.select_for_update(of=("self",)).select_related("payer").filter(pk=pk)
    if connection.vendor == "postgresql":
        payments = payments.annotate(
            receipt_id=RawSQL(
                "nextval(pg_get_serial_sequence(%s, 'id'))", (OutgoingEmail._meta.db_table,)
            )
        )
    return payments


# one: as get() reads it, unsorted — so the id is reserved above the row's lock, not below a sort.
_locked_payment = Prepared(_payment_locked, one=True, on_server=True, pk=Slot(Payment, "id"))


def record_gateway_outcome(
    payment_id: int,
    result: GatewayResult,
    *,
    source: str = "gateway",
    choice: PaymentChoice | None = None,
) -> Payment:
    """Phase three: one transaction that applies the gateway's answer to the payment and invoice.
    Its writes whose results are not read back go together (WriteBatch), sent before it commits."""
    batch = WriteBatch()
    with transaction.atomic():
        payment = _locked_payment.get(pk=payment_id)
        if payment.state not in (PaymentState.PROCESSING, PaymentState.UNKNOWN):
            logger.info("payment %s already %s; answer ignored", payment.order_id, payment.state)
            return payment
        locked = lock_invoices(payment)
        if payment.invoice_id in locked.invoices:  # read under the lock: the caller's copy too
            payment.invoice = locked.invoices[payment.invoice_id]
        payment.transaction_id = _clean(result.transaction_id, 64) or payment.transaction_id
        payment.auth_code = _clean(result.auth_code, 32)
        payment.response_code = _clean(result.response_code, 8)
        payment.response_text = _clean(result.response_text, 255)
        payment.avs_response = _clean(result.avs_response, 4)
        payment.cvv_response = _clean(result.cvv_response, 4)
        data = (
            {"gateway": {_clean(k, 60): _clean(v, 500) for k, v in result.raw.items()}}
            if result.raw
            else {}
        )
        if isinstance(choice, NewToken) and choice.details is not None:
            _, payment.method_brand, payment.method_last4 = describe_choice(choice)
            if choice.is_card:
                payment.card_category = choice.details.card_category or "unknown"
                if choice.details.category_mismatch:
                    _record_unconfirmed_category(payment, choice)
        elif isinstance(choice, SavedMethod) and choice.method.kind == "card":
            payment.card_category = choice.method.card_category

        if result.outcome == Outcome.APPROVED:
            _transition(
                payment,
                locked,
                _approved_state(payment),
                source=source,
                message=_approved_message(payment),
                data=data,
                fields=_OUTCOME_FIELDS,
                batch=batch,
            )
            _after_approval(payment, result, choice, batch)
        elif result.outcome == Outcome.DECLINED:
            _transition(
                payment,
                locked,
                PaymentState.DECLINED,
                source=source,
                message=f"Declined: {payment.response_text} ({payment.response_code})",
                data=data,
                fields=_OUTCOME_FIELDS,
                batch=batch,
            )
            _count_failure(payment)
        elif result.outcome == Outcome.ERROR and not result.needs_lookup:
            _transition(
                payment,
                locked,
                PaymentState.FAILED,
                source=source,
                message=f"Refused by the gateway: {payment.response_text} ({payment.response_code})",
                data=data,
                fields=_OUTCOME_FIELDS,
                batch=batch,
            )
            _count_failure(payment)
        else:
            # A timeout, a dropped connection, an unreadable answer or the gateway's duplicate check:
            # the money may or may not have moved. Look it up; never send it again.
            why = (
                "duplicate check fired"
                if result.is_duplicate
                else (payment.response_text or "no answer")
            )
            _transition(
                payment,
                locked,
                PaymentState.UNKNOWN,
                source=source,
                message=f"Outcome unknown: {why}",
                data=data,
                fields=_OUTCOME_FIELDS,
                batch=batch,
            )
            from remit.payments.tasks import reconcile_payment_task

            batch.enqueue(
                reconcile_payment_task.using(
                    run_after=timezone.now() + datetime.timedelta(seconds=15)
                ),
                payment.pk,
            )
        record_event(
            f"payment.{payment.state}",
            actor=payment.payer,
            actor_label=payment.payer.email if payment.payer else "system",
            obj=payment,
            outcome="success"
            if payment.state in (PaymentState.APPROVED, PaymentState.PENDING)
            else "failure",
            summary=f"Payment {payment.order_id}: {payment.get_state_display()}",
            ip_address=payment.ip_address,
            order_id=payment.order_id,
            response_code=payment.response_code,
            batch=batch,
        )
        batch.flush()
    return payment


def _approved_message(payment: Payment) -> str:
    if payment.method_kind == MethodKind.CARD:
        return f"Approved, auth code {payment.auth_code or '-'}"
    return "Approved; waiting for the eCheck to settle"


def _after_approval(
    payment: Payment, result: GatewayResult, choice: PaymentChoice | None, batch: WriteBatch
) -> None:
    now = timezone.now()
    if isinstance(choice, SavedMethod):
        batch.update_values(PaymentMethod, choice.method.pk, last_used_at=now)
    elif payment.save_method and result.customer_vault_id and choice is not None:
        payment.payment_method = _save_method(payment, result, choice, now)
        batch.update(payment, ["payment_method"])
    _queue_receipt(payment, batch, email_id=getattr(payment, "receipt_id", None))


def _record_unconfirmed_category(payment: Payment, choice: NewToken) -> None:
    """The page relayed a BIN look-up for another card than the one the gateway charged: the
    card is kept as "unknown" (never surcharged) and staff can see that it happened."""
    record_event(
        "payment.card_category_unconfirmed",
        actor=payment.payer,
        obj=payment,
        organization=payment.organization_id,
        summary=(
            f"The card category the page reported ({choice.reported.category}) was for another"
            " card than the gateway charged; kept as unknown"
        ),
    )
