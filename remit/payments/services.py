"""The only code that moves money state.

    pay_invoice             phase 1 (one short transaction: lock the invoice, check it is payable,
                            insert the payment as processing), phase 2 (the gateway call, no
                            transaction open), phase 3 (record_gateway_outcome)
    record_gateway_outcome  one transaction: the answer, applied to the payment and the invoice
    reconcile_payment       asks the gateway by order id and finishes what an answer did not
    refund_payment          a refund after settlement, as a child transaction
    void_payment            a void before settlement, as a child transaction
    payment_method_remove   from the vault too

Each writes an audit event; receipts and notices are queued in the same transaction, so they exist
exactly when the change does. Card and account numbers pass through in memory only (`Card`,
`BankAccount`); nothing here stores, logs or queues them.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
import uuid
from dataclasses import asdict, dataclass
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from remit.audit.services import record_event
from remit.billing.models import Invoice
from remit.core.models import Provider
from remit.core.money import ZERO, format_money, to_money
from remit.gateway import GatewayNotConfigured, gateway_configured, get_gateway
from remit.gateway.base import (
    BankAccount,
    Billing,
    Card,
    Condition,
    Gateway,
    GatewayLookupError,
    GatewayResult,
    GatewayTransaction,
    Outcome,
    PaymentKind,
    StoredCredential,
)
from remit.payments import authorization, limits
from remit.payments.cards import card_brand
from remit.payments.hosted import MethodDetails, NewToken, look_up_details
from remit.payments.models import (
    APPLIED_STATES,
    IN_FLIGHT_STATES,
    TRANSITIONS,
    DebitAuthorization,
    LimitEvent,
    MethodKind,
    Payment,
    PaymentEvent,
    PaymentMethod,
    PaymentState,
    Refund,
    RefundKind,
    RefundState,
)
from remit.payments.signals import EVENT_FOR_STATE, payment_changed

logger = logging.getLogger(__name__)

IN_FLIGHT_MESSAGE = "A payment for this invoice is already being processed."
DECLINED_MESSAGE = (
    "The payment could not be processed: the card was declined for lack of funds, or the card or "
    "bank information was incorrect or incomplete. Please contact your service provider for details."
)
DUPLICATE_MESSAGE = (
    "The payment processor refused this payment as a duplicate of one made moments ago with the "
    "same card or account and amount. Nothing was charged for it. Check the invoice's payment "
    "history, or wait a few minutes and try again."
)
BUSY_MESSAGE = (
    "Other payments are still being processed. Please wait a few minutes until they finish, "
    "then try again."
)
UNKNOWN_MESSAGE = (
    "We could not confirm this payment with the payment processor yet. It is being confirmed now "
    "and you will not be charged twice. Please check this invoice again in a few minutes."
)


def failure_message(payment: Payment) -> str:
    """What to tell the payer about a declined or failed payment (never which field was wrong)."""
    if payment.response_text.lower().startswith("duplicate transaction"):
        return DUPLICATE_MESSAGE
    return DECLINED_MESSAGE


class PaymentRefused(Exception):
    """Refused before any money moved; `message` is safe to show the payer."""

    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.message, self.code = message, code


class IllegalTransition(Exception):
    pass


# --- What the payer chose ------------------------------------------------------------------------


@dataclass(frozen=True)
class SavedMethod:
    method: PaymentMethod


@dataclass(frozen=True)
class NewCard:
    card: Card
    billing: Billing


@dataclass(frozen=True)
class NewBankAccount:
    account: BankAccount
    billing: Billing


# NewCard / NewBankAccount carry numbers: only server-side callers (tests, benchmarks) build them.
# The portal takes new methods only as NewToken (hosted fields), never numbers.
PaymentChoice = SavedMethod | NewCard | NewBankAccount | NewToken


def describe_choice(choice: PaymentChoice) -> tuple[str, str, str]:
    """(kind, brand or account type, last four) — what may be shown and stored."""
    if isinstance(choice, SavedMethod):
        method = choice.method
        return method.kind, method.brand or method.account_type, method.last4
    if isinstance(choice, NewCard):
        return MethodKind.CARD, card_brand(choice.card.number) or "Card", choice.card.last4
    if isinstance(choice, NewToken):
        details = choice.details
        if choice.is_card:
            return (
                MethodKind.CARD,
                (details.brand if details else "") or "Card",
                (details.last4 if details else ""),
            )
        brand = (details.brand if details else "") or str(choice.token.account_type)
        return MethodKind.ECHECK, brand, details.last4 if details else ""
    return MethodKind.ECHECK, str(choice.account.account_type), choice.account.last4


def choice_label(choice: PaymentChoice) -> str:
    kind, brand, last4 = describe_choice(choice)
    if kind == MethodKind.CARD:
        return f"{brand} •••• {last4}"
    return f"{brand.capitalize()} account •••• {last4}"


def _fingerprint(invoice: Invoice, amount: Decimal, choice: PaymentChoice, save: bool) -> str:
    """What an attempt key promises: the same invoice, amount and method. Never a full number."""
    kind, brand, last4 = describe_choice(choice)
    method = choice.method.pk if isinstance(choice, SavedMethod) else "new"
    if isinstance(choice, NewToken):  # one token, one payment
        method = "token:" + hashlib.sha256(choice.token.token.encode()).hexdigest()
    raw = f"{invoice.pk}|{amount}|{kind}|{brand}|{last4}|{method}|{save}"
    return hashlib.sha256(raw.encode()).hexdigest()


# --- Paying --------------------------------------------------------------------------------------


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
) -> Payment:
    """Pay `invoice` in full. The same attempt key posted again returns the first outcome without
    calling the gateway; a key reused for a different payment is refused. `provider` saves a query
    when the caller has it (a request does)."""
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
    gateway = gateway or get_gateway(provider)
    result = _sale(gateway, payment, choice)
    if isinstance(choice, NewToken):  # what the token stood for, as the gateway tells it
        choice = look_up_details(gateway, choice, result)
    payment = record_gateway_outcome(payment.pk, result, source="portal", choice=choice)
    if result.is_duplicate and payment.state == PaymentState.UNKNOWN:
        # The gateway refused this as a duplicate. Look our order id up at once: found means it
        # went through after all; not found means this attempt was refused and nothing was charged.
        reconcile_payment(payment.pk, gateway=gateway, missing_is_final=True)
        payment.refresh_from_db()
    return payment


def _start_payment(*, user, invoice, attempt_key, choice, save_method, ip_address, provider):
    """Phase one: one short transaction."""
    existing = Payment.objects.filter(payer=user, attempt_key=attempt_key).first()
    if existing is not None:
        return _replay(existing, invoice, choice, save_method), False

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
    is_new = not isinstance(choice, SavedMethod)

    try:
        with transaction.atomic():
            locked = Invoice.objects.select_for_update().get(pk=invoice.pk)
            # Under the invoice's lock, look again: the same window may have won the race.
            existing = Payment.objects.filter(payer=user, attempt_key=attempt_key).first()
            if existing is not None:
                return _replay(existing, invoice, choice, save_method), False
            if problem := invoice_payable_problem(locked):
                raise PaymentRefused(problem, "not_payable")
            if Payment.objects.filter(invoice=locked, state__in=IN_FLIGHT_STATES).exists():
                raise PaymentRefused(IN_FLIGHT_MESSAGE, "in_flight")
            # The card-testing limits, checked and counted under their scopes' locks (taken after
            # the invoice's, always): the payment inserted below holds its place under them.
            refusal = limits.check_and_reserve(user, ip_address, new_method=is_new)
            if refusal is None:
                payment = _insert_payment(
                    locked, user, attempt_key, choice, save_method, ip_address, provider
                )
    except IntegrityError:
        # A concurrent request got there first: the same attempt key, or another payment in flight.
        existing = Payment.objects.filter(payer=user, attempt_key=attempt_key).first()
        if existing is not None:
            return _replay(existing, invoice, choice, save_method), False
        raise PaymentRefused(IN_FLIGHT_MESSAGE, "in_flight") from None
    if refusal == limits.BUSY:
        raise PaymentRefused(BUSY_MESSAGE, refusal)
    if refusal is not None:
        raise PaymentRefused(_blocked_message(provider), refusal)
    return payment, True


def _insert_payment(locked, user, attempt_key, choice, save_method, ip_address, provider):
    """The payment, as processing, with its first event (in _start_payment's transaction)."""
    kind, brand, last4 = describe_choice(choice)
    is_new = not isinstance(choice, SavedMethod)
    amount = to_money(locked.total - locked.amount_paid)
    payment = Payment.objects.create(
        invoice=locked,
        organization_id=locked.organization_id,
        payer=user,
        attempt_key=attempt_key,
        request_fingerprint=_fingerprint(locked, amount, choice, save_method),
        amount=amount,
        currency=locked.currency,
        method_kind=kind,
        method_brand=brand,
        method_last4=last4,
        payment_method=choice.method if isinstance(choice, SavedMethod) else None,
        save_method=bool(save_method and is_new),
        ip_address=ip_address,
    )
    PaymentEvent.objects.create(
        payment=payment,
        to_state=PaymentState.PROCESSING,
        source="portal",
        message=f"{user.email} started paying {format_money(amount)} with {choice_label(choice)}",
    )
    if kind == MethodKind.ECHECK:
        _record_debit_authorization(payment, provider, user, ip_address)
    record_event(
        "payment.started",
        actor=user,
        obj=payment,
        summary=f"Payment of {format_money(amount)} for invoice {locked.number} started",
        ip_address=ip_address,
        order_id=payment.order_id,
        method=choice_label(choice),
    )
    return payment


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


def _record_debit_authorization(payment: Payment, provider: Provider, user, ip_address) -> None:
    DebitAuthorization.objects.create(
        payment=payment,
        user=user,
        ip_address=ip_address,
        text_version=authorization.VERSION,
        text=authorization.authorization_text(
            provider=provider.name,
            account=payment.method_brand,
            last4=payment.method_last4,
            amount=payment.amount,
            invoice=payment.invoice.number,
        ),
    )


def _blocked_message(provider: Provider) -> str:
    return (
        "For your security, online payment is paused for a while after several unsuccessful "
        f"attempts. Please try again later or contact {provider.name}."
    )


def _sale(gateway: Gateway, payment: Payment, choice: PaymentChoice) -> GatewayResult:
    """Phase two: the gateway call, outside any transaction. Whatever happens is an answer:
    an unexpected exception is an unknown outcome, to be looked up, never retried blindly."""
    common = {
        "amount": payment.amount,
        "order_id": payment.order_id,
        "ip_address": payment.ip_address or "",
        "description": f"Invoice {payment.invoice.number}",
        "po_number": payment.invoice.number,
    }
    try:
        if isinstance(choice, SavedMethod):
            method = choice.method
            stored = None
            if method.kind == MethodKind.CARD:
                stored = StoredCredential(
                    initiated_by="customer",
                    indicator="used",
                    initial_transaction_id=method.initial_transaction_id,
                )
            return gateway.sale(**common, vault_id=method.vault_id, stored_credential=stored)
        if isinstance(choice, NewCard):
            stored = (
                StoredCredential(initiated_by="customer", indicator="stored")
                if payment.save_method
                else None
            )
            return gateway.sale(
                **common,
                card=choice.card,
                billing=choice.billing,
                save_to_vault=payment.save_method,
                stored_credential=stored,
            )
        if isinstance(choice, NewToken):
            stored = (
                StoredCredential(initiated_by="customer", indicator="stored")
                if payment.save_method and choice.is_card
                else None
            )
            return gateway.sale(
                **common,
                payment_token=choice.token,
                billing=choice.billing,
                save_to_vault=payment.save_method,
                stored_credential=stored,
            )
        return gateway.sale(
            **common,
            bank_account=choice.account,
            billing=choice.billing,
            save_to_vault=payment.save_method,
        )
    except Exception:
        logger.exception("gateway sale failed for order %s", payment.order_id)
        return GatewayResult(outcome=Outcome.UNKNOWN, response_text="the gateway call failed")


def record_gateway_outcome(
    payment_id: int,
    result: GatewayResult,
    *,
    source: str = "gateway",
    choice: PaymentChoice | None = None,
) -> Payment:
    """Phase three: one transaction that applies the gateway's answer to the payment and invoice."""
    with transaction.atomic():
        payment = (
            Payment.objects.select_for_update(of=("self",))
            .select_related("payer")
            .get(pk=payment_id)
        )
        if payment.state not in (PaymentState.PROCESSING, PaymentState.UNKNOWN):
            logger.info("payment %s already %s; answer ignored", payment.order_id, payment.state)
            return payment
        invoice = Invoice.objects.select_for_update().get(pk=payment.invoice_id)
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

        if result.outcome == Outcome.APPROVED:
            _transition(
                payment,
                invoice,
                _approved_state(payment),
                source=source,
                message=_approved_message(payment),
                data=data,
            )
            _after_approval(payment, result, choice)
        elif result.outcome == Outcome.DECLINED:
            _transition(
                payment,
                invoice,
                PaymentState.DECLINED,
                source=source,
                message=f"Declined: {payment.response_text} ({payment.response_code})",
                data=data,
            )
            _count_failure(payment)
        elif result.outcome == Outcome.ERROR and not result.needs_lookup:
            _transition(
                payment,
                invoice,
                PaymentState.FAILED,
                source=source,
                message=f"Refused by the gateway: {payment.response_text} ({payment.response_code})",
                data=data,
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
                invoice,
                PaymentState.UNKNOWN,
                source=source,
                message=f"Outcome unknown: {why}",
                data=data,
            )
            from remit.payments.tasks import reconcile_payment_task

            reconcile_payment_task.using(
                run_after=timezone.now() + datetime.timedelta(seconds=15)
            ).enqueue(payment.pk)
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
        )
    return payment


def _clean(value, limit: int) -> str:
    """A gateway's text as we store it: printable, bounded (a garbled answer may hold anything)."""
    return "".join(ch if ch.isprintable() else "?" for ch in str(value or ""))[:limit]


def _approved_state(payment: Payment) -> str:
    """A card is charged when approved; an eCheck waits, pending, until it settles."""
    return PaymentState.APPROVED if payment.method_kind == MethodKind.CARD else PaymentState.PENDING


def _queue_receipt(payment: Payment) -> None:
    """Queued in the caller's transaction: the receipt exists exactly when the approval does. The
    outbox retries it while SMTP is down (remit/outbox/)."""
    from remit.outbox.models import EmailKind
    from remit.outbox.services import email_queue

    email_queue(EmailKind.RECEIPT, payment=payment)


def _approved_message(payment: Payment) -> str:
    if payment.method_kind == MethodKind.CARD:
        return f"Approved, auth code {payment.auth_code or '-'}"
    return "Approved; waiting for the eCheck to settle"


def _after_approval(payment: Payment, result: GatewayResult, choice: PaymentChoice | None) -> None:
    now = timezone.now()
    if isinstance(choice, SavedMethod):
        PaymentMethod.objects.filter(pk=choice.method.pk).update(last_used_at=now)
    elif payment.save_method and result.customer_vault_id and choice is not None:
        payment.payment_method = _save_method(payment, result, choice, now)
        payment.save(update_fields=["payment_method"])
    _queue_receipt(payment)


def _save_method(
    payment: Payment, result: GatewayResult, choice: PaymentChoice, now
) -> PaymentMethod:
    """Saved only now that the payment succeeded, and only as the vault id plus display fields."""
    billing = (
        asdict(choice.billing) if isinstance(choice, NewCard | NewBankAccount | NewToken) else {}
    )
    fields = {
        "owner": payment.payer,
        "vault_id": result.customer_vault_id,
        "last4": payment.method_last4,
        "billing": billing,
        "created_at": now,
        "last_used_at": now,
        "initial_transaction_id": result.transaction_id,
    }
    if isinstance(choice, NewToken):
        details = choice.details or MethodDetails()
        if choice.is_card:
            fields.update(
                kind=MethodKind.CARD,
                brand=payment.method_brand,
                exp_month=details.exp_month,
                exp_year=details.exp_year,
                holder_name=f"{choice.billing.first_name} {choice.billing.last_name}".strip(),
            )
        else:
            fields.update(
                kind=MethodKind.ECHECK,
                account_type=payment.method_brand,
                account_holder_type=str(choice.token.holder_type),
                holder_name=details.name_on_account,
            )
    elif isinstance(choice, NewCard):
        card = choice.card
        fields.update(
            kind=MethodKind.CARD,
            brand=payment.method_brand,
            exp_month=card.exp_month,
            exp_year=card.exp_year,
            holder_name=f"{choice.billing.first_name} {choice.billing.last_name}".strip(),
        )
    else:
        account = choice.account
        fields.update(
            kind=MethodKind.ECHECK,
            account_type=str(account.account_type),
            account_holder_type=str(account.holder_type),
            holder_name=account.name_on_account,
        )
    method = PaymentMethod.objects.create(**fields)
    record_event(
        "payment_method.saved",
        actor=payment.payer,
        obj=method,
        organization=payment.organization_id,
        summary=f"Saved {method.label} to the gateway vault",
    )
    return method


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


# --- Reconciliation ------------------------------------------------------------------------------


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
        invoice = Invoice.objects.select_for_update().get(pk=payment.invoice_id)
        payment.last_checked_at = now
        payment.save(update_fields=["last_checked_at"])
        if sale is None:
            age = (now - payment.created_at).total_seconds()
            if payment.state in (PaymentState.PROCESSING, PaymentState.UNKNOWN) and (
                missing_is_final or age >= settings.RECONCILE_NOT_FOUND_AFTER
            ):
                _transition(
                    payment,
                    invoice,
                    PaymentState.FAILED,
                    source="reconcile",
                    message="The gateway has no record of this payment: nothing was charged",
                )
                _audit_reconciled(payment)
            return payment.state
        _apply_gateway_transaction(payment, invoice, sale)
    return payment.state


def _apply_gateway_transaction(
    payment: Payment, invoice: Invoice, sale: GatewayTransaction
) -> None:
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
                invoice,
                _approved_state(payment),
                source="reconcile",
                message="Found approved at the gateway",
                data=data,
            )
            _queue_receipt(payment)
        else:
            _transition(
                payment,
                invoice,
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
                invoice,
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
                invoice,
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
            invoice,
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


# --- Refunds and voids ---------------------------------------------------------------------------


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
) -> Refund:
    """Refund a settled payment, fully or partly (up to what is still applied). `actor_label`
    names a requester that is not a user (an integration's API key)."""
    return _child_transaction(
        payment,
        RefundKind.REFUND,
        amount,
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
            refund = Refund.objects.create(
                payment=locked,
                kind=kind,
                amount=amount,
                reason=reason[:200],
                requested_by=acting_user,
                requested_via=via,
                idempotency_key=idempotency_key,
            )
            PaymentEvent.objects.create(
                payment=locked,
                source=via,
                message=f"{refund.get_kind_display()} of {format_money(amount)} requested by "
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
                amount=amount,
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
        invoice = Invoice.objects.select_for_update().get(pk=payment.invoice_id)
        refund.transaction_id = _clean(result.transaction_id, 64)
        refund.response_code = _clean(result.response_code, 8)
        refund.response_text = _clean(result.response_text, 255)
        if result.outcome == Outcome.APPROVED:
            refund.state = RefundState.SUCCEEDED
            refund.completed_at = timezone.now()
            refund.save()
            _apply_refund(refund, payment, invoice)
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


def _apply_refund(refund: Refund, payment: Payment, invoice: Invoice) -> None:
    if refund.kind == RefundKind.VOID:
        _transition(
            payment, invoice, PaymentState.VOIDED, source="gateway", message="Voided", emit=False
        )
        payment_changed.send(
            sender=Payment, payment=payment, event="payment.refunded", refund=refund
        )
        return
    payment.refunded_amount = to_money(payment.refunded_amount + refund.amount)
    payment.applied_amount = to_money(payment.applied_amount - refund.amount)
    invoice.amount_paid = to_money(invoice.amount_paid - refund.amount)
    payment.save(update_fields=["refunded_amount", "applied_amount", "updated_at"])
    invoice.save(update_fields=["amount_paid", "updated_at"])
    PaymentEvent.objects.create(
        payment=payment,
        source="gateway",
        message=f"Refunded {format_money(refund.amount)}; invoice amount due restored",
    )
    payment_changed.send(sender=Payment, payment=payment, event="payment.refunded", refund=refund)


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


# --- Saved methods -------------------------------------------------------------------------------


def payment_method_remove(
    method: PaymentMethod, *, user, ip_address: str | None = None, gateway=None
) -> None:
    """Remove a saved method: from the gateway's vault first, then from the list. If the vault
    cannot be reached the method stays, so nothing is left behind in the vault unseen."""
    gateway = gateway or get_gateway()
    result = gateway.vault_delete(vault_id=method.vault_id)
    gone = (
        result.outcome == Outcome.APPROVED
        or "invalid customer vault id" in result.response_text.lower()
    )
    if not gone:
        raise PaymentRefused(
            "The payment method could not be removed right now. Please try again later.", "vault"
        )
    with transaction.atomic():
        PaymentMethod.objects.filter(pk=method.pk, removed_at__isnull=True).update(
            removed_at=timezone.now()
        )
        record_event(
            "payment_method.removed",
            actor=user,
            obj=method,
            organization=user.organization_id,
            summary=f"Removed {method.label} (deleted from the gateway vault)",
            ip_address=ip_address,
        )
