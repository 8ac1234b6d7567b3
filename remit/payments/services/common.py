"""What every step shares: the messages a payer may see, the refusals, what the payer chose
(`PaymentChoice`) and how it is described, and how a gateway's text is stored."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal

from remit.billing.models import Invoice
from remit.gateway.base import (
    BankAccount,
    Billing,
    Card,
)
from remit.payments.cards import card_brand
from remit.payments.hosted import NewToken
from remit.payments.models import (
    MethodKind,
    Payment,
    PaymentMethod,
)

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


def _clean(value, limit: int) -> str:
    """A gateway's text as we store it: printable, bounded (a garbled answer may hold anything)."""
    return "".join(ch if ch.isprintable() else "?" for ch in str(value or ""))[:limit]
