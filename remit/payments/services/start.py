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


def _start_payment(*, user, invoice, attempt_key, choice, save_method, ip_address, provider):
    """Phase one: one short transaction. The attempt key is looked up once, under the invoice's
    lock: a window posted twice (or a retry racing its first post) waits for the first post's
    transaction and then finds its payment, so it is answered with that payment's outcome."""
    is_new = not isinstance(choice, SavedMethod)

    try:
        with transaction.atomic():
            locked = Invoice.objects.select_for_update().get(pk=invoice.pk)
            existing = Payment.objects.filter(payer=user, attempt_key=attempt_key).first()
            if existing is not None:
                return _replay(existing, invoice, choice, save_method), False
            _check_choice(user, choice, provider)
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
    _raise_limit_refusal(refusal, provider)
    return payment, True


def _insert_payment(locked, user, attempt_key, choice, save_method, ip_address, provider):
    """The payment, as processing, with its first event (in _start_payment's transaction)."""
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
    )
    # The seed's flow: a payment of one invoice, in full, is a one-allocation payment.
    PaymentAllocation.objects.create(payment=payment, invoice=locked, amount=amount)
    payment.invoice_numbers = locked.number  # for the gateway's description (_numbers)
    _record_start(
        payment,
        provider,
        choice,
        event_message=f"{user.email} started paying {format_money(amount)} with {choice_label(choice)}",
        summary=f"Payment of {format_money(amount)} for invoice {locked.number} started",
    )
    return payment


def _create_payment(
    first: Invoice, amount, fingerprint: str, *, user, attempt_key, choice, save, ip_address
) -> Payment:
    """The payment row, as processing (its allocations are the caller's), with the surcharge or
    discount the server decides for this method (never one posted)."""
    kind, brand, last4 = describe_choice(choice)
    # The payer's organization (loaded with the user) is the invoices' one: no read of it again.
    organization = user.organization if user.organization_id == first.organization_id else None
    adjustment = surcharge.quote(
        choice, organization=organization or first.organization, base=amount
    )
    return Payment.objects.create(
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


def _record_start(
    payment: Payment, provider: Provider, choice, *, event_message: str, summary: str, **details
) -> None:
    """A new payment's first event, its eCheck debit authorization, and its audit event."""
    user = payment.payer
    PaymentEvent.objects.create(
        payment=payment, to_state=PaymentState.PROCESSING, source="portal", message=event_message
    )
    if payment.method_kind == MethodKind.ECHECK:
        _record_debit_authorization(payment, provider, user, payment.ip_address)
    record_event(
        "payment.started",
        actor=user,
        obj=payment,
        summary=summary,
        ip_address=payment.ip_address,
        order_id=payment.order_id,
        method=choice_label(choice),
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
            amount=payment.charged_amount,
            invoice=_numbers(payment),
        ),
    )


def _numbers(payment: Payment) -> str:
    """The invoice numbers a payment pays (one, in the seed's flow), for the gateway and the
    eCheck authorization text. A one-invoice payment just inserted knows its number already."""
    if known := getattr(payment, "invoice_numbers", None):
        return known
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
    numbers = _numbers(payment)
    common = {
        "amount": payment.charged_amount,  # the invoices' amount, plus a surcharge or less a discount
        "surcharge": payment.surcharge_amount or None,
        "order_id": payment.order_id,
        "ip_address": payment.ip_address or "",
        "description": f"Invoice{'s' if ',' in numbers else ''} {numbers}"[:255],
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
