"""New methods entered in the gateway's hosted fields: Remit holds a single-use payment token,
never a number. What Remit keeps of such a method — brand, last four, expiry, name on the
account — is read from the gateway (query.php by transaction id) after the sale, never from the
browser (the masked values Collect.js shows the page are for display only).

The card's category (credit / debit / prepaid / unknown) exists only in the gateway's BIN look-up
that Collect.js hands the page with the token; the page relays it with the BIN it was looked up
for (`ReportedCard`). Remit keeps that category only when the gateway's own record of the card
(query.php's `cc_bin`) has the same BIN; otherwise the card is "unknown", which is never
surcharged (docs/pci.md, "The card's category")."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from remit.gateway.base import (
    Billing,
    Gateway,
    GatewayLookupError,
    GatewayResult,
    PaymentKind,
    PaymentToken,
)

logger = logging.getLogger(__name__)

# query.php's cc_type → how Remit names the brand (remit.payments.cards).
BRANDS = {
    "visa": "Visa",
    "mastercard": "Mastercard",
    "amex": "American Express",
    "discover": "Discover",
    "diners": "Diners Club",
    "jcb": "JCB",
}


CATEGORIES = ("credit", "debit", "prepaid", "unknown")


@dataclass(frozen=True)
class ReportedCard:
    """What the hosted fields' BIN look-up said of a new card, as the page relayed it."""

    bin: str = ""
    category: str = "unknown"

    @classmethod
    def from_post(cls, bin_: str, category: str) -> ReportedCard:
        bin_ = bin_.strip()
        category = category.strip().lower()
        return cls(
            bin=bin_ if bin_.isdigit() and bin_.isascii() and 6 <= len(bin_) <= 8 else "",
            category=category if category in CATEGORIES else "unknown",
        )


@dataclass(frozen=True)
class MethodDetails:
    """A tokenized method as the gateway describes it: only what may be shown and stored."""

    brand: str = ""  # card brand, or the account type (checking / savings) of an eCheck
    last4: str = ""
    exp_month: int | None = None
    exp_year: int | None = None
    name_on_account: str = ""
    card_category: str = ""  # credit | debit | prepaid | unknown, for a card
    category_mismatch: bool = False  # the relayed BIN was not the gateway's: kept as unknown


@dataclass(frozen=True)
class NewToken:
    """A new card or bank account, as a payment token from the hosted fields."""

    token: PaymentToken
    billing: Billing
    details: MethodDetails | None = None  # filled from the gateway once the sale is answered
    reported: ReportedCard = ReportedCard()  # the hosted fields' BIN look-up, relayed by the page

    @property
    def category(self) -> str:
        """The category to go by before the sale: the relayed one (a card's, never an eCheck's);
        after the sale, the one kept once the gateway's BIN confirmed it."""
        if not self.is_card:
            return ""
        if self.details is not None:
            return self.details.card_category or "unknown"
        return self.reported.category

    @property
    def is_card(self) -> bool:
        return self.token.kind == PaymentKind.CARD


def look_up_details(gateway: Gateway, choice: NewToken, result: GatewayResult) -> NewToken:
    """The choice with the gateway's description of its method (the same choice when the answer
    names no transaction or the look-up fails: the payment then keeps "Card" and no digits)."""
    if not result.transaction_id:
        return choice
    try:
        found = gateway.query(transaction_id=result.transaction_id)
    except GatewayLookupError as error:
        logger.warning("could not look up transaction %s: %s", result.transaction_id, error)
        return choice
    if not found:
        return choice
    txn = found[0]
    digits = "".join(ch for ch in txn.masked_number if ch.isdigit())
    last4 = digits[-4:] if len(digits) >= 4 else ""
    if choice.is_card:
        month = year = None
        if len(txn.card_exp) == 4 and txn.card_exp.isdigit():
            month, year = int(txn.card_exp[:2]), 2000 + int(txn.card_exp[2:])
            if not 1 <= month <= 12:
                month = year = None
        category, mismatch = _confirmed_category(choice.reported, txn.card_bin)
        details = MethodDetails(
            brand=BRANDS.get(txn.card_type, "Card"),
            last4=last4,
            exp_month=month,
            exp_year=year,
            card_category=category,
            category_mismatch=mismatch,
        )
    else:
        details = MethodDetails(
            brand=txn.account_type or str(choice.token.account_type),
            last4=last4,
            name_on_account=txn.check_name[:120],
        )
    return NewToken(
        token=choice.token, billing=choice.billing, details=details, reported=choice.reported
    )


def _confirmed_category(reported: ReportedCard, gateway_bin: str) -> tuple[str, bool]:
    """(category, mismatch): the relayed category when the gateway's record of the card has the
    BIN it was looked up for; "unknown" when either BIN is missing or they differ."""
    if not reported.bin or not gateway_bin:
        return "unknown", False
    if not gateway_bin.startswith(reported.bin[:6]):
        logger.warning("the relayed BIN is not the gateway's: card category kept as unknown")
        return "unknown", True
    return reported.category, False
