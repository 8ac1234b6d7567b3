"""Starting a payment: phase one (one short transaction: lock, check, insert as processing), phase
two (the gateway sale, no transaction open), then phase three (outcome.py)."""

from __future__ import annotations

import uuid

from django.db import IntegrityError, connection, transaction

from remit.audit.services import record_event
from remit.billing.models import Invoice
from remit.core.batch import WriteBatch
from remit.core.models import Provider
from remit.core.money import ZERO, format_money, to_money
from remit.core.prepared import Prepared, Slot, server_prepared_cursor
from remit.gateway import gateway_configured, get_gateway
from remit.gateway.base import (
    Gateway,
)
from remit.payments import authorization, limits, surcharge
from remit.payments.hosted import NewToken, look_up_details
from remit.payments.models import (
    DebitAuthorization,
    MethodKind,
    Payment,
    PaymentAllocation,
    PaymentEvent,
    PaymentState,
)
from remit.payments.services.common import (
    BUSY_MESSAGE,
    IN_FLIGHT_MESSAGE,
    PaymentChoice,
    PaymentRefused,
    SavedMethod,
    _fingerprint,
    choice_label,
    describe_choice,
)
from remit.payments.services.outcome import record_gateway_outcome
from remit.payments.services.reconcile import reconcile_payment
from remit.payments.services.sale import _numbers, _sale


def payment_unavailable_reason(provider: Provider) -> str | None:
    """Why online payment is off for everyone, or None."""
    if not provider.online_payments_available:
        return (
            "Online payment is unavailable: it is offered only by providers based in the US "
            "who use USD as their internal currency."
        )
    if not gateway_configured(provider):
        return "Online payment is not set up yet. Please contact your service provider."
    return None


def invoice_payable_problem(invoice: Invoice) -> str | None:
    if invoice.state == Invoice.State.VOID:
        return "This invoice is void and cannot be paid."
    if invoice.state != Invoice.State.ISSUED:
        return "This invoice cannot be paid."
    if invoice.total - invoice.amount_paid <= ZERO:
        return "This invoice is already paid."
    return None


def pay_invoice(
    *,
    user,
    invoice: Invoice,
    attempt_key: uuid.UUID,
    choice: PaymentChoice,
    save_method: bool = False,
    ip_address: str | None = None,
    gateway: Gateway | None = None,
    provider: Provider | None = None,
    merchant_initiated: bool = False,
) -> Payment:
    """Pay `invoice` in full. The same attempt key posted again returns the first outcome without
    calling the gateway; a key reused for a different payment is refused. `provider` saves a query
    when the caller has it (a request does). `merchant_initiated`: an autopay charge of a saved
    method (remit/autopay/charge.py): sent with the merchant-initiated stored-credential fields."""
    provider = provider or Provider.load()
    payment, created = _start_payment(
        user=user,
        invoice=invoice,
        attempt_key=attempt_key,
        choice=choice,
        save_method=save_method,
        ip_address=ip_address,
        provider=provider,
    )
    if not created:
        return payment
    return _charge(
        payment, choice, gateway or get_gateway(provider), merchant_initiated=merchant_initiated
    )


def _charge(
    payment: Payment, choice: PaymentChoice, gateway: Gateway, *, merchant_initiated: bool = False
) -> Payment:
    """Phases two and three, for a payment phase one inserted (of one invoice or several)."""
    result = _sale(gateway, payment, choice, merchant_initiated=merchant_initiated)
    if isinstance(choice, NewToken):  # what the token stood for, as the gateway tells it
        choice = look_up_details(gateway, choice, result)
    payment = record_gateway_outcome(payment.pk, result, source="portal", choice=choice)
    if result.is_duplicate and payment.state == PaymentState.UNKNOWN:
        # The gateway refused this as a duplicate. Look our order id up at once: found means it
        # went through after all; not found means this attempt was refused and nothing was charged.
        reconcile_payment(payment.pk, gateway=gateway, missing_is_final=True)
        payment.refresh_from_db()
    return payment


def _check_choice(user, choice: PaymentChoice, provider: Provider) -> None:
    """Before anything is locked: payment is on, the kind of method is offered, and a saved
    method is the payer's own, not removed and not expired."""
    if reason := payment_unavailable_reason(provider):
        raise PaymentRefused(reason, "unavailable")
    kind = describe_choice(choice)[0]
    offered = provider.offers_card if kind == MethodKind.CARD else provider.offers_echeck
    if not offered:
        raise PaymentRefused("This payment option is not offered.", "option_not_offered")
    if isinstance(choice, SavedMethod) and (
        choice.method.owner_id != user.pk or choice.method.removed_at
    ):
        raise PaymentRefused("That payment method is not available.", "method_not_found")
    if isinstance(choice, SavedMethod) and choice.method.is_expired:
        raise PaymentRefused("That card has expired. Add a new card.", "method_expired")


def _raise_limit_refusal(refusal: str | None, provider: Provider) -> None:
    """The card-testing limits' answer, as the payer is told it (None: go on)."""
    if refusal == limits.BUSY:
        raise PaymentRefused(BUSY_MESSAGE, refusal)
    if refusal is not None:
        raise PaymentRefused(_blocked_message(provider), refusal)


# The invoice as phase one locks it (Invoice.objects.select_for_update().get(pk=…)), its query
# built once per process (core/prepared.py).
_locked_invoice = Prepared(
    lambda pk: Invoice.objects.select_for_update().filter(pk=pk),
    one=True,
    on_server=True,
    pk=Slot(Invoice, "id"),
)


def _start_payment(*, user, invoice, attempt_key, choice, save_method, ip_address, provider):
    """Phase one: one short transaction. The attempt key is looked up once, under the invoice's
    lock: a window posted twice (or a retry racing its first post) waits for the first post's
    transaction and then finds its payment, so it is answered with that payment's outcome."""
    is_new = not isinstance(choice, SavedMethod)

    try:
        with transaction.atomic():
            locked = _locked_invoice.get(pk=invoice.pk)
            existing_id, in_flight, payment_id = _under_the_lock(
                user, attempt_key, locked, ip_address
            )
            if existing_id is not None:
                existing = Payment.objects.get(pk=existing_id)
                return _replay(existing, invoice, choice, save_method), False
            _check_choice(user, choice, provider)
            if problem := invoice_payable_problem(locked):
                raise PaymentRefused(problem, "not_payable")
            if in_flight:
                raise PaymentRefused(IN_FLIGHT_MESSAGE, "in_flight")
            # The card-testing limits, checked and counted under their scopes' locks (taken after
            # the invoice's, always): the payment inserted below holds its place under them.
            refusal = limits.check_and_reserve(
                user, ip_address, new_method=is_new, locked=payment_id is not None
            )
            if refusal is None:
                batch = WriteBatch()
                payment = _insert_payment(
                    locked,
                    user,
                    attempt_key,
                    choice,
                    save_method,
                    ip_address,
                    provider,
                    payment_id=payment_id,
                    batch=batch,
                )
                batch.flush()
    except IntegrityError:
        # A concurrent request got there first: the same attempt key, or another payment in flight.
        existing = Payment.objects.filter(payer=user, attempt_key=attempt_key).first()
        if existing is not None:
            return _replay(existing, invoice, choice, save_method), False
        raise PaymentRefused(IN_FLIGHT_MESSAGE, "in_flight") from None
    _raise_limit_refusal(refusal, provider)
    return payment, True


def _under_the_lock(user, attempt_key, locked: Invoice, ip_address):
    """After the invoice's lock, in one statement on PostgreSQL (its snapshot taken once that
    lock is held, so it sees every payment of this invoice committed before): the payment this
    payer made with this attempt key, if any; whether a payment of the invoice is in flight; a new
    payment id; and the card-testing scopes' locks taken (limits.lock_statement). Elsewhere: the
    same answers in statements of their own, the id left to the insert and the locks to
    check_and_reserve."""
    if connection.vendor != "postgresql":
        existing = (
            Payment.objects.filter(payer=user, attempt_key=attempt_key)
            .values_list("pk", flat=True)
            .first()
        )
        in_flight = PaymentAllocation.objects.filter(invoice=locked, in_flight=True).exists()
        return existing, in_flight, None
    lock_sql, lock_params = limits.lock_statement(user, ip_address)
    payments, allocations = Payment._meta.db_table, PaymentAllocation._meta.db_table
    with server_prepared_cursor(connection) as cursor:  # by keys: one plan fits every payment
        cursor.execute(
            f"WITH scope_locks AS ({lock_sql}) SELECT"  # noqa: S608 (names from the models; values bound)
            f" (SELECT id FROM {payments} WHERE payer_id = %s AND attempt_key = %s"
            "  ORDER BY created_at DESC, id DESC LIMIT 1),"
            f" EXISTS (SELECT 1 FROM {allocations} WHERE in_flight AND invoice_id = %s),"
            f" nextval(pg_get_serial_sequence('{payments}', 'id')),"
            " (SELECT COUNT(*) FROM scope_locks)",
            [*lock_params, user.pk, attempt_key, locked.pk],
        )
        existing, in_flight, payment_id, _ = cursor.fetchone()
    return existing, in_flight, payment_id


def _insert_payment(
    locked,
    user,
    attempt_key,
    choice,
    save_method,
    ip_address,
    provider,
    *,
    payment_id=None,
    batch: WriteBatch | None = None,
):
    """The payment, as processing, with its first event (in _start_payment's transaction):
    written with `batch` (flushed by the caller), the payment too when its id is known."""
    is_new = not isinstance(choice, SavedMethod)
    amount = to_money(locked.total - locked.amount_paid)
    payment = _create_payment(
        locked,
        amount,
        _fingerprint(locked, amount, choice, save_method),
        user=user,
        attempt_key=attempt_key,
        choice=choice,
        save=bool(save_method and is_new),
        ip_address=ip_address,
        payment_id=payment_id,
        batch=batch,
    )
    # The seed's flow: a payment of one invoice, in full, is a one-allocation payment.
    allocation = PaymentAllocation(payment=payment, invoice=locked, amount=amount)
    if batch is not None:
        batch.insert(allocation)
    else:
        allocation.save(force_insert=True)
    payment.invoice_numbers = locked.number  # for the gateway's description (_numbers)
    _record_start(
        payment,
        provider,
        choice,
        event_message=f"{user.email} started paying {format_money(amount)} with {choice_label(choice)}",
        summary=f"Payment of {format_money(amount)} for invoice {locked.number} started",
        batch=batch,
    )
    return payment


def _create_payment(
    first: Invoice,
    amount,
    fingerprint: str,
    *,
    user,
    attempt_key,
    choice,
    save,
    ip_address,
    payment_id=None,
    batch: WriteBatch | None = None,
) -> Payment:
    """The payment row, as processing (its allocations are the caller's), with the surcharge or
    discount the server decides for this method (never one posted). Inserted with `batch` when
    its id is given (reserved beforehand), at once otherwise."""
    kind, brand, last4 = describe_choice(choice)
    # The payer's organization (loaded with the user) is the invoices' one: no read of it again.
    organization = user.organization if user.organization_id == first.organization_id else None
    adjustment = surcharge.quote(
        choice, organization=organization or first.organization, base=amount
    )
    payment = Payment(
        pk=payment_id,
        invoice=first,
        organization_id=first.organization_id,
        payer=user,
        attempt_key=attempt_key,
        request_fingerprint=fingerprint,
        amount=amount,
        currency=first.currency,
        method_kind=kind,
        method_brand=brand,
        method_last4=last4,
        card_category=surcharge.terms_of(choice)[1] if kind == MethodKind.CARD else "",
        surcharge_amount=adjustment.surcharge,
        surcharge_percent=adjustment.surcharge_percent,
        discount_amount=adjustment.discount,
        discount_percent=adjustment.discount_percent,
        payment_method=choice.method if isinstance(choice, SavedMethod) else None,
        save_method=save,
        ip_address=ip_address,
    )
    if batch is not None and payment_id is not None:
        return batch.insert(payment)
    payment.save(force_insert=True)
    return payment


def _record_start(
    payment: Payment,
    provider: Provider,
    choice,
    *,
    event_message: str,
    summary: str,
    batch: WriteBatch | None = None,
    **details,
) -> None:
    """A new payment's first event, its eCheck debit authorization, and its audit event (with
    `batch` when given)."""
    user = payment.payer
    event = PaymentEvent(
        payment=payment, to_state=PaymentState.PROCESSING, source="portal", message=event_message
    )
    if batch is not None:
        batch.insert(event)
    else:
        event.save(force_insert=True)
    if payment.method_kind == MethodKind.ECHECK:
        _record_debit_authorization(payment, provider, user, payment.ip_address, batch)
    record_event(
        "payment.started",
        actor=user,
        obj=payment,
        summary=summary,
        ip_address=payment.ip_address,
        order_id=payment.order_id,
        method=choice_label(choice),
        batch=batch,
        **details,
    )


def _replay(
    existing: Payment, invoice: Invoice, choice: PaymentChoice, save_method: bool
) -> Payment:
    if existing.invoice_id != invoice.pk or existing.request_fingerprint != _fingerprint(
        invoice, existing.amount, choice, bool(save_method and not isinstance(choice, SavedMethod))
    ):
        raise PaymentRefused(
            "This payment window was already used for a different payment. Close it and open it again.",
            "attempt_key_reused",
        )
    return existing


def _record_debit_authorization(
    payment: Payment, provider: Provider, user, ip_address, batch: WriteBatch | None = None
) -> None:
    authorization_row = DebitAuthorization(
        payment=payment,
        user=user,
        ip_address=ip_address,
        text_version=authorization.VERSION,
        text=authorization.authorization_text(
            provider=provider.name,
            account=payment.method_brand,
            last4=payment.method_last4,
            amount=payment.charged_amount,
            invoice=_numbers(payment),
        ),
    )
    if batch is not None:
        batch.insert(authorization_row)
    else:
        authorization_row.save(force_insert=True)


def _blocked_message(provider: Provider) -> str:
    return (
        "For your security, online payment is paused for a while after several unsuccessful "
        f"attempts. Please try again later or contact {provider.name}."
    )
