"""Starting a payment: phase one (one short transaction: lock, check, insert as processing), phase
two (the gateway sale, no transaction open), then phase three (outcome.py)."""

from __future__ import annotations

import logging
import uuid

from django.db import IntegrityError, transaction

from remit.audit.services import record_event
from remit.billing.models import Invoice
from remit.core.models import Provider
from remit.core.money import ZERO, format_money, to_money
from remit.gateway import gateway_configured, get_gateway
from remit.gateway.base import (
    Gateway,
    GatewayResult,
    Outcome,
    StoredCredential,
)
from remit.payments import authorization, limits
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
    NewCard,
    PaymentChoice,
    PaymentRefused,
    SavedMethod,
    _fingerprint,
    choice_label,
    describe_choice,
)
from remit.payments.services.outcome import record_gateway_outcome
from remit.payments.services.reconcile import reconcile_payment

logger = logging.getLogger(__name__)


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
    gateway = gateway or get_gateway(provider)
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
            if PaymentAllocation.objects.filter(invoice=locked, in_flight=True).exists():
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
    # The seed's flow: a payment of one invoice, in full, is a one-allocation payment.
    PaymentAllocation.objects.create(payment=payment, invoice=locked, amount=amount)
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
            invoice=_numbers(payment),
        ),
    )


def _numbers(payment: Payment) -> str:
    """The invoice numbers a payment pays (one, in the seed's flow), for the gateway and the
    eCheck authorization text."""
    numbers = list(
        payment.allocations.order_by("invoice__due_date", "invoice_id").values_list(
            "invoice__number", flat=True
        )
    )
    return ", ".join(numbers) or payment.invoice.number


def _blocked_message(provider: Provider) -> str:
    return (
        "For your security, online payment is paused for a while after several unsuccessful "
        f"attempts. Please try again later or contact {provider.name}."
    )


def _sale(
    gateway: Gateway, payment: Payment, choice: PaymentChoice, *, merchant_initiated: bool = False
) -> GatewayResult:
    """Phase two: the gateway call, outside any transaction. Whatever happens is an answer:
    an unexpected exception is an unknown outcome, to be looked up, never retried blindly."""
    common = {
        "amount": payment.amount,
        "order_id": payment.order_id,
        "ip_address": payment.ip_address or "",
        "description": f"Invoice{'s' if ',' in _numbers(payment) else ''} {_numbers(payment)}"[
            :255
        ],
        "po_number": payment.invoice.number,
    }
    try:
        if isinstance(choice, SavedMethod):
            method = choice.method
            stored = None
            if method.kind == MethodKind.CARD:
                stored = StoredCredential(
                    initiated_by="merchant" if merchant_initiated else "customer",
                    indicator="used",
                    initial_transaction_id=method.initial_transaction_id,
                    billing_method="recurring" if merchant_initiated else "",
                )
            elif merchant_initiated:  # a recurring debit: CCD for a business, WEB for a person
                common["sec_code"] = "CCD" if method.account_holder_type == "business" else "WEB"
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
