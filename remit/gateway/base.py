"""What Remit needs from a payment gateway, and the typed values that cross that boundary.

Remit never keeps card or bank account numbers. `Card` and `BankAccount` exist only in memory,
on the way from the payment form to the gateway; their `repr` is masked so that a traceback or a
log line cannot carry them. Everything a gateway answers comes back as an immutable `GatewayResult`.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Protocol


class Outcome(enum.StrEnum):
    APPROVED = "approved"
    DECLINED = "declined"
    ERROR = "error"  # the gateway answered and refused the request (bad data, duplicate, config)
    UNKNOWN = "unknown"  # no readable answer: timeout, dropped connection. Never treat as declined.


class PaymentKind(enum.StrEnum):
    CARD = "card"
    ECHECK = "echeck"


class AccountHolderType(enum.StrEnum):
    PERSONAL = "personal"
    BUSINESS = "business"


class AccountType(enum.StrEnum):
    CHECKING = "checking"
    SAVINGS = "savings"


def _mask(digits: str) -> str:
    return f"••••{digits[-4:]}" if digits else ""


@dataclass(frozen=True, slots=True)
class Card:
    """A card as typed by the payer. Lives in memory only; never logged, stored or queued."""

    number: str
    exp_month: int
    exp_year: int  # four digits
    cvv: str

    def __repr__(self) -> str:
        return f"Card({_mask(self.number)}, exp {self.exp_month:02d}/{self.exp_year % 100:02d})"

    __str__ = __repr__

    @property
    def last4(self) -> str:
        return self.number[-4:]

    @property
    def ccexp(self) -> str:
        """NMI's MMYY."""
        return f"{self.exp_month:02d}{self.exp_year % 100:02d}"


@dataclass(frozen=True, slots=True)
class BankAccount:
    """A bank account as typed by the payer. In memory only; never logged, stored or queued."""

    routing_number: str
    account_number: str
    name_on_account: str
    holder_type: AccountHolderType
    account_type: AccountType

    def __repr__(self) -> str:
        return f"BankAccount({self.account_type} {_mask(self.account_number)})"

    __str__ = __repr__

    @property
    def last4(self) -> str:
        return self.account_number[-4:]

    @property
    def sec_code(self) -> str:
        """CCD for business accounts, WEB for personal accounts authorised online."""
        return "CCD" if self.holder_type == AccountHolderType.BUSINESS else "WEB"


@dataclass(frozen=True, slots=True)
class PaymentToken:
    """A single-use token from the gateway's hosted fields (Collect.js), sent as `payment_token`
    in place of card or check fields. It stands for a card or an account for one call; it is not
    kept after that call (approved or declined, the gateway destroys it)."""

    token: str
    kind: PaymentKind
    # eCheck only: what the payer chose on our page (the numbers are in the token).
    holder_type: AccountHolderType = AccountHolderType.PERSONAL
    account_type: AccountType = AccountType.CHECKING

    def __repr__(self) -> str:
        return f"PaymentToken({self.kind}, {self.token[:4]}…)"

    __str__ = __repr__

    @property
    def sec_code(self) -> str:
        return "CCD" if self.holder_type == AccountHolderType.BUSINESS else "WEB"


@dataclass(frozen=True, slots=True)
class Billing:
    first_name: str = ""
    last_name: str = ""
    company: str = ""
    address1: str = ""
    address2: str = ""
    city: str = ""
    state: str = ""  # two letters
    zip: str = ""
    country: str = "US"  # ISO alpha-2
    email: str = ""
    phone: str = ""


@dataclass(frozen=True, slots=True)
class StoredCredential:
    """Card-on-file fields sent when charging a vaulted card."""

    initiated_by: str = "customer"  # customer | merchant
    indicator: str = "used"  # stored (first use) | used (later)
    initial_transaction_id: str = ""
    billing_method: str = ""  # recurring | installment (merchant-initiated series); "" otherwise


@dataclass(frozen=True, slots=True)
class GatewayResult:
    """One answer of the gateway (or the lack of one), immutable.

    `raw` holds the answer's fields with anything sensitive masked; it is safe to store and log.
    """

    outcome: Outcome
    response_code: str = ""
    response_text: str = ""
    transaction_id: str = ""
    auth_code: str = ""
    avs_response: str = ""
    cvv_response: str = ""
    order_id: str = ""
    customer_vault_id: str = ""
    action_type: str = ""  # the `type` field echoed back: sale, void, refund, validate, ...
    raw: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    # False only when the connection failed before any of the request was written (refused, DNS,
    # TLS handshake, connect timeout): then nothing can have been charged.
    request_sent: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.raw, MappingProxyType):
            object.__setattr__(self, "raw", MappingProxyType(dict(self.raw)))

    @property
    def approved(self) -> bool:
        return self.outcome == Outcome.APPROVED

    @property
    def protocol_answer(self) -> bool:
        """The gateway answered in its protocol: approved, declined, or refused the request.

        False for UNKNOWN and for an ERROR without an answer (HTTP 5xx, an empty or unreadable body,
        a connection that could not be opened); `response_code` is empty exactly in those cases.
        """
        return bool(self.response_code)

    @property
    def needs_lookup(self) -> bool:
        """Not final: look the order up with `query(order_id=...)` before doing anything else.

        True for UNKNOWN, for a duplicate refusal, and for an ERROR without a protocol answer once
        the request went out (an HTTP 500 or a garbled body does not say whether money moved).
        """
        if self.outcome == Outcome.UNKNOWN or self.is_duplicate:
            return True
        return self.outcome == Outcome.ERROR and not self.protocol_answer and self.request_sent

    @property
    def is_duplicate(self) -> bool:
        """The gateway's own duplicate check fired: 'go and look', not 'failed'."""
        return self.outcome == Outcome.ERROR and self.response_text.lower().startswith(
            "duplicate transaction"
        )


class Condition(enum.StrEnum):
    """A transaction's condition as query.php reports it."""

    PENDING = "pending"
    PENDING_SETTLEMENT = "pendingsettlement"
    IN_PROGRESS = "in_progress"
    ABANDONED = "abandoned"
    FAILED = "failed"
    CANCELED = "canceled"
    COMPLETE = "complete"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class TransactionAction:
    action_type: str  # sale, settle, refund, void, check_return, ...
    amount: Decimal
    date: str  # YYYYMMDDhhmmss as the gateway gives it
    success: bool
    response_text: str = ""
    response_code: str = ""


@dataclass(frozen=True, slots=True)
class GatewayTransaction:
    """A transaction found by query.php."""

    transaction_id: str
    order_id: str
    transaction_type: str  # cc | ck
    condition: Condition
    actions: tuple[TransactionAction, ...] = ()
    auth_code: str = ""
    customer_vault_id: str = ""
    masked_number: str = ""  # cc_number or check_account, masked by the gateway
    card_type: str = ""  # cc_type: visa, mastercard, amex, discover, diners, jcb
    card_exp: str = ""  # cc_exp, MMYY
    card_bin: str = ""  # cc_bin: the card's first six digits
    account_type: str = ""  # checking | savings
    account_holder_type: str = ""  # personal | business
    check_name: str = ""

    def last_action(self, action_type: str) -> TransactionAction | None:
        found = [a for a in self.actions if a.action_type == action_type]
        return found[-1] if found else None

    @property
    def sale_approved(self) -> bool:
        sale = self.last_action("sale")
        return bool(sale and sale.success)

    @property
    def return_code(self) -> str:
        """The R-code of an eCheck return ('' when none), read from the check_return action."""
        ret = self.last_action("check_return")
        if not ret:
            return ""
        for word in ret.response_text.replace(":", " ").split():
            if len(word) == 3 and word[0] == "R" and word[1:].isdigit():
                return word
        return ret.response_code


class GatewayLookupError(Exception):
    """query.php could not be read (transport failure, error answer, unreadable XML)."""


class Gateway(Protocol):
    """The operations Remit uses. `remit.gateway.nmi.NmiGateway` speaks them over NMI's protocol.

    Every method that can move money takes the `order_id` Remit chose for this attempt, so a lost
    answer can be looked up later with `query(order_id=...)` instead of being sent again.
    """

    def sale(
        self,
        *,
        amount: Decimal,
        order_id: str,
        card: Card | None = None,
        bank_account: BankAccount | None = None,
        payment_token: PaymentToken | None = None,
        vault_id: str = "",
        billing: Billing | None = None,
        save_to_vault: bool = False,
        stored_credential: StoredCredential | None = None,
        ip_address: str = "",
        description: str = "",
        po_number: str = "",
        surcharge: Decimal | None = None,
        sec_code: str = "",
    ) -> GatewayResult: ...

    def vault_add(
        self,
        *,
        card: Card | None = None,
        bank_account: BankAccount | None = None,
        billing: Billing | None = None,
    ) -> GatewayResult: ...

    def vault_update(self, *, vault_id: str, billing: Billing) -> GatewayResult: ...

    def vault_delete(self, *, vault_id: str) -> GatewayResult: ...

    def void(
        self, *, transaction_id: str, kind: PaymentKind, order_id: str = ""
    ) -> GatewayResult: ...

    def refund(
        self,
        *,
        transaction_id: str,
        kind: PaymentKind,
        amount: Decimal | None = None,
        order_id: str = "",
    ) -> GatewayResult: ...

    def validate(
        self, *, card: Card, billing: Billing | None = None, order_id: str = ""
    ) -> GatewayResult: ...

    def query(self, *, order_id: str = "", transaction_id: str = "") -> list[GatewayTransaction]:
        """Raises GatewayLookupError when the gateway cannot be read."""
        ...
