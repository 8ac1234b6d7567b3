"""Paying several invoices of one organization and currency through one gateway sale: phase one
here (validate the selection, lock every invoice by id, insert the payment and its allocations as
processing, in one short transaction), then the single-invoice flow's phases two and three
(start._sale, outcome.record_gateway_outcome), which apply the answer allocation by allocation."""

from __future__ import annotations

import hashlib
import uuid
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction

from remit.billing.models import Invoice
from remit.core.models import Provider
from remit.core.money import ZERO, format_money, to_money
from remit.gateway import get_gateway
from remit.gateway.base import Gateway
from remit.payments import limits
from remit.payments.hosted import NewToken
from remit.payments.models import (
    Payment,
    PaymentAllocation,
)
from remit.payments.services.common import (
    PaymentChoice,
    PaymentRefused,
    SavedMethod,
    choice_label,
    describe_choice,
)
from remit.payments.services.start import (
    _charge,
    _check_choice,
    _create_payment,
    _raise_limit_refusal,
    _record_start,
    invoice_payable_problem,
)

SEVERAL_IN_FLIGHT_MESSAGE = (
    "A payment for invoice {number} is already being processed. Nothing was charged for this "
    "payment; wait for that one to finish, then pay what is still due."
)


class LineRefused(PaymentRefused):
    """A refusal about one line of the selection: `invoice_id` says which, for the message next to it."""

    def __init__(self, message: str, code: str, invoice_id: int | None = None):
        super().__init__(message, code)
        self.invoice_id = invoice_id


def parse_amount(raw) -> Decimal:
    """A posted amount: a number with at most two decimals, more than zero."""
    try:
        value = Decimal(str(raw).strip().replace(",", "").lstrip("$"))
    except (InvalidOperation, ValueError):
        raise PaymentRefused("Enter an amount such as 125.00.", "bad_amount") from None
    if not value.is_finite() or value.as_tuple().exponent < -2:
        raise PaymentRefused("Enter an amount with at most two decimals.", "bad_amount")
    if value <= ZERO:
        raise PaymentRefused("The amount must be more than zero.", "bad_amount")
    return to_money(value)


def oldest_due_first(invoices: list[Invoice], total: Decimal) -> dict[int, Decimal]:
    """A total typed for several invoices, applied to the oldest due first."""
    left, amounts = to_money(total), {}
    for invoice in sorted(invoices, key=lambda i: (i.due_date, i.pk)):
        share = min(left, to_money(invoice.total - invoice.amount_paid))
        if share > ZERO:
            amounts[invoice.pk] = share
            left = to_money(left - share)
    if left > ZERO:
        raise PaymentRefused("That is more than the selected invoices' balance.", "over_payment")
    return amounts


def _check_line(invoice: Invoice, amount: Decimal | None, provider: Provider) -> Decimal:
    """The amount this invoice will receive. Partial payments off: its balance, whatever was posted."""
    balance = to_money(invoice.total - invoice.amount_paid)
    if not provider_allows_partial(provider) or amount is None:
        return balance
    try:
        amount = parse_amount(amount)
    except PaymentRefused as refused:
        raise LineRefused(refused.message, refused.code, invoice.pk) from None
    if amount > balance:
        raise LineRefused(
            f"At most {format_money(balance)} is due on invoice {invoice.number}.",
            "over_payment",
            invoice.pk,
        )
    minimum = min(balance, partial_minimum(provider, invoice))
    if amount < minimum:
        raise LineRefused(
            f"Pay at least {format_money(minimum)} on invoice {invoice.number}.",
            "below_minimum",
            invoice.pk,
        )
    return amount


def provider_allows_partial(provider: Provider) -> bool:
    return provider.partial_payments_allowed


def partial_minimum(provider: Provider, invoice: Invoice) -> Decimal:
    minimum = to_money(provider.partial_minimum_amount or ZERO)
    share = provider.partial_minimum_percent or 0
    return max(minimum, to_money(invoice.total * Decimal(share) / 100), Decimal("0.01"))


def _fingerprint(lines: dict[int, Decimal], choice: PaymentChoice, save: bool) -> str:
    kind, brand, last4 = describe_choice(choice)
    method = choice.method.pk if isinstance(choice, SavedMethod) else "new"
    if isinstance(choice, NewToken):
        method = "token:" + hashlib.sha256(choice.token.token.encode()).hexdigest()
    selection = ",".join(f"{k}:{v}" for k, v in sorted(lines.items()))
    raw = f"several|{selection}|{kind}|{brand}|{last4}|{method}|{save}"
    return hashlib.sha256(raw.encode()).hexdigest()


def pay_invoices(
    *,
    user,
    selection: list[tuple[int, Decimal | str | None]],
    attempt_key: uuid.UUID,
    choice: PaymentChoice,
    save_method: bool = False,
    ip_address: str | None = None,
    gateway: Gateway | None = None,
    provider: Provider | None = None,
) -> Payment:
    """Pay the selected invoices (ids, with the amount for each, or None for its balance) of the
    user's organization through one sale. Every line is checked before anything is written; the
    same attempt key posted again returns the first outcome without calling the gateway."""
    provider = provider or Provider.load()
    payment, created = _start(
        user, selection, attempt_key, choice, save_method, ip_address, provider
    )
    if not created:
        return payment
    return _charge(payment, choice, gateway or get_gateway(provider))


def _precheck(user, selection, choice, provider) -> list[int]:
    if not selection:
        raise PaymentRefused("Select at least one invoice to pay.", "empty_selection")
    ids = [int(i) for i, _ in selection]
    if len(set(ids)) != len(ids):
        raise PaymentRefused("An invoice was selected twice.", "duplicate_invoice")
    _check_choice(user, choice, provider)
    return sorted(ids)


def _replay(existing: Payment, lines_posted, choice, save_method) -> Payment:
    expected = {a.invoice_id: a.amount for a in existing.allocations.all()}
    if {int(i) for i, _ in lines_posted} != set(expected) or existing.request_fingerprint != (
        _fingerprint(expected, choice, bool(save_method and not isinstance(choice, SavedMethod)))
    ):
        raise PaymentRefused(
            "This payment window was already used for a different payment. Close it and open it again.",
            "attempt_key_reused",
        )
    return existing


def _start(user, selection, attempt_key, choice, save_method, ip_address, provider):
    existing = Payment.objects.filter(payer=user, attempt_key=attempt_key).first()
    if existing is not None:
        return _replay(existing, selection, choice, save_method), False
    ids = _precheck(user, selection, choice, provider)
    posted = {int(i): a for i, a in selection}
    save = bool(save_method and not isinstance(choice, SavedMethod))
    refusal = None
    try:
        with transaction.atomic():
            # Every invoice, locked in id order: overlapping selections queue, never deadlock.
            locked = list(
                Invoice.objects.select_for_update()
                .filter(pk__in=ids, organization_id=user.organization_id)
                .order_by("pk")
            )
            if len(locked) != len(ids):  # another organization's invoice is simply not found
                missing = sorted(set(ids) - {i.pk for i in locked})[0]
                raise LineRefused("That invoice was not found.", "not_found", missing)
            if len({i.currency for i in locked}) > 1:
                raise PaymentRefused("Invoices in different currencies are paid apart.", "currency")
            existing = Payment.objects.filter(payer=user, attempt_key=attempt_key).first()
            if existing is not None:
                return _replay(existing, selection, choice, save_method), False
            lines = {}
            for invoice in locked:
                if problem := invoice_payable_problem(invoice):
                    raise LineRefused(f"{invoice.number}: {problem}", "not_payable", invoice.pk)
                lines[invoice.pk] = _check_line(invoice, posted[invoice.pk], provider)
            busy = (
                PaymentAllocation.objects.filter(invoice_id__in=ids, in_flight=True)
                .values_list("invoice__number", flat=True)
                .first()
            )
            if busy:
                raise PaymentRefused(SEVERAL_IN_FLIGHT_MESSAGE.format(number=busy), "in_flight")
            refusal = limits.check_and_reserve(
                user, ip_address, new_method=save or not isinstance(choice, SavedMethod)
            )
            if refusal is None:
                payment = _insert(
                    locked, lines, user, attempt_key, choice, save, ip_address, provider
                )
    except IntegrityError:
        existing = Payment.objects.filter(payer=user, attempt_key=attempt_key).first()
        if existing is not None:
            return _replay(existing, selection, choice, save_method), False
        raise PaymentRefused(
            "One of these invoices is already being paid by another payment. Nothing was charged.",
            "in_flight",
        ) from None
    _raise_limit_refusal(refusal, provider)
    return payment, True


def _insert(locked, lines, user, attempt_key, choice, save, ip_address, provider) -> Payment:
    amount = to_money(sum(lines.values(), ZERO))
    # The first invoice by id, for the views that show one; the allocations say all.
    payment = _create_payment(
        locked[0],
        amount,
        _fingerprint(lines, choice, save),
        user=user,
        attempt_key=attempt_key,
        choice=choice,
        save=save,
        ip_address=ip_address,
    )
    PaymentAllocation.objects.bulk_create(
        PaymentAllocation(payment=payment, invoice_id=pk, amount=value)
        for pk, value in lines.items()
    )
    numbers = ", ".join(i.number for i in locked)
    _record_start(
        payment,
        provider,
        choice,
        event_message=f"{user.email} started paying {format_money(amount)} for {numbers} with "
        f"{choice_label(choice)}"[:300],
        summary=f"Payment of {format_money(amount)} for invoices {numbers} started"[:200],
        invoices={i.number: str(lines[i.pk]) for i in locked},
    )
    return payment
