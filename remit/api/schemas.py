"""What goes in and out of the API. Inputs are strict (a string is not a number, "yes" is not true)
and refuse unknown fields; money and quantities travel as decimal strings ("1234.50"), never as
JSON numbers, so no cent is ever lost to floating point."""

from __future__ import annotations

import datetime
import re
import unicodedata
import uuid
from decimal import Decimal
from typing import Annotated, Literal

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from ninja import Schema
from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field, PlainSerializer
from pydantic.json_schema import WithJsonSchema

from remit.accounts.emails import normalise_email

# --- Field types ---------------------------------------------------------------------------------

SINGLE_LINE_PATTERN = r"^[^\u0000-\u001f\u007f]*$"
MULTI_LINE_PATTERN = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]*$"
# Identifiers travel in the URL path: printable ASCII without spaces or slashes.
IDENTIFIER_PATTERN = r"^[\u0021-\u002e\u0030-\u007e]+$"
MONEY_PATTERN = r"^[0-9]{1,10}(\.[0-9]{1,2})?$"
SIGNED_MONEY_PATTERN = r"^-?[0-9]{1,10}(\.[0-9]{1,2})?$"
QUANTITY_PATTERN = r"^[0-9]{1,8}(\.[0-9]{1,2})?$"
DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
MONEY_OUT_PATTERN = r"^-?[0-9]+\.[0-9]{2}$"


def _text(value: str, *, multi_line: bool) -> str:
    for ch in value:
        category = unicodedata.category(ch)
        if category == "Cs" or (category == "Cc" and not (multi_line and ch in "\n\r\t")):
            raise ValueError("must not contain control characters")
    return value.strip()


def _line(value: str) -> str:
    return _text(value, multi_line=False)


def _required_line(value: str) -> str:
    value = _text(value, multi_line=False)
    if not value:
        raise ValueError("must not be blank")
    return value


def _multi_line(value: str) -> str:
    return _text(value, multi_line=True)


def Line(max_length: int, *, required: bool = True):  # a type factory, named like a type
    return Annotated[
        str,
        Field(min_length=1 if required else 0, max_length=max_length),
        AfterValidator(_required_line if required else _line),
        WithJsonSchema(
            {
                "type": "string",
                "minLength": 1 if required else 0,
                "maxLength": max_length,
                "pattern": SINGLE_LINE_PATTERN,
            }
        ),
    ]


Reference = Annotated[
    str,
    Field(min_length=1, max_length=100),
    AfterValidator(_required_line),
    WithJsonSchema(
        {"type": "string", "minLength": 1, "maxLength": 100, "pattern": IDENTIFIER_PATTERN}
    ),
]

MultiLine = Annotated[
    str,
    Field(max_length=5000),
    AfterValidator(_multi_line),
    WithJsonSchema({"type": "string", "maxLength": 5000, "pattern": MULTI_LINE_PATTERN}),
]


def _email(value: str) -> str:
    value = _required_line(value)
    try:
        validate_email(value)
    except DjangoValidationError:
        raise ValueError("must be an email address") from None
    return normalise_email(value)


Email = Annotated[
    str,
    Field(max_length=254),
    AfterValidator(_email),
    WithJsonSchema({"type": "string", "format": "email", "maxLength": 254}),
]
OptionalEmail = Annotated[
    str,
    Field(max_length=254),
    AfterValidator(lambda value: _email(value) if value.strip() else ""),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "format": "email", "maxLength": 254},
                {"type": "string", "maxLength": 0},
            ]
        }
    ),
]


def _decimal(pattern: str, example: str):
    regex = re.compile(pattern)

    def parse(value):
        if not isinstance(value, str) or not regex.match(value):
            raise ValueError(f'must be a decimal string like "{example}"')
        return Decimal(value)

    return Annotated[
        Decimal,
        BeforeValidator(parse),
        WithJsonSchema({"type": "string", "pattern": pattern, "examples": [example]}),
    ]


MoneyIn = _decimal(MONEY_PATTERN, "1234.50")
SignedMoneyIn = _decimal(SIGNED_MONEY_PATTERN, "-25.00")
QuantityIn = _decimal(QUANTITY_PATTERN, "2")


def _date(value):
    if isinstance(value, datetime.date):
        return value
    if not isinstance(value, str) or not re.match(DATE_PATTERN, value):
        raise ValueError('must be a date like "2025-01-31"')
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise ValueError('must be a date like "2025-01-31"') from None


DateIn = Annotated[
    datetime.date,
    BeforeValidator(_date),
    WithJsonSchema({"type": "string", "format": "date"}),
]

Money = Annotated[
    Decimal,
    PlainSerializer(lambda value: f"{value:.2f}", return_type=str),
    WithJsonSchema({"type": "string", "pattern": MONEY_OUT_PATTERN, "examples": ["1234.50"]}),
]


class StrictIn(Schema):
    model_config = ConfigDict(extra="forbid", strict=True)


# --- Organizations -------------------------------------------------------------------------------


class OrganizationIn(StrictIn):
    name: Line(200)  # type: ignore[valid-type]
    billing_email: OptionalEmail | None = Field(
        None, description='Receives a copy of every receipt. Omit to leave as is; "" clears it.'
    )
    is_active: bool | None = Field(None, description="Omit to leave as is (new: true).")


class OrganizationOut(Schema):
    external_id: str
    name: str
    billing_email: str
    is_active: bool
    created_at: datetime.datetime


# --- Users ---------------------------------------------------------------------------------------


class UserIn(StrictIn):
    email: Email
    first_name: Line(80, required=False) | None = None  # type: ignore[valid-type]
    last_name: Line(80, required=False) | None = None  # type: ignore[valid-type]
    organization: Reference = Field(description="The organization's external id.")
    security_level: Line(80) | None = Field(  # type: ignore[valid-type]
        None, description='A security level\'s name, e.g. "Manager". Omit: as is (new: "User").'
    )
    is_active: bool | None = Field(
        None, description="false deactivates the user and ends their sessions. Omit: as is."
    )


class UserOut(Schema):
    external_id: str
    email: str
    first_name: str
    last_name: str
    organization: str | None = Field(description="The organization's external id.")
    security_level: str
    is_active: bool
    date_joined: datetime.datetime


# --- Invoices ------------------------------------------------------------------------------------


class InvoiceLineIn(StrictIn):
    description: Line(300)  # type: ignore[valid-type]
    quantity: QuantityIn = Field(description='A decimal string, e.g. "2" or "1.50".')
    unit_price: SignedMoneyIn = Field(description="Negative for a discount line.")


class InvoiceIn(StrictIn):
    organization: Reference = Field(description="The organization's external id.")
    invoice_date: DateIn
    due_date: DateIn
    lines: list[InvoiceLineIn] = Field(min_length=1, max_length=500)
    terms: Line(60) | None = Field(None, description='Omit: as is (new: "Net 30").')  # type: ignore[valid-type]
    state: Literal["draft", "issued", "void"] | None = Field(
        None, description='Omit: as is (new: "issued").'
    )
    tax: MoneyIn | None = Field(None, description='Omit: as is (new: "0").')
    memo: MultiLine | None = Field(None, description="Shown to the client. Omit: as is.")
    void_reason: Line(200, required=False) | None = Field(  # type: ignore[valid-type]
        None, description="Kept only while the invoice is void. Omit: as is."
    )


class InvoiceLineOut(Schema):
    description: str
    quantity: Money
    unit_price: Money
    amount: Money


class InvoiceOut(Schema):
    number: str
    organization: str | None = Field(description="The organization's external id.")
    state: str
    status: str = Field(description="What the client sees: draft, due, overdue, paid, void, …")
    invoice_date: datetime.date
    due_date: datetime.date
    terms: str
    currency: str
    lines: list[InvoiceLineOut]
    subtotal: Money
    tax: Money
    total: Money
    amount_paid: Money
    amount_due: Money
    memo: str
    void_reason: str
    created_at: datetime.datetime
    updated_at: datetime.datetime


# --- Payments and refunds ------------------------------------------------------------------------


class MethodOut(Schema):
    kind: Literal["card", "echeck"]
    label: str = Field(description='Masked, e.g. "Visa •••• 1111". Never a full number.')


class PayerOut(Schema):
    email: str
    external_id: str | None


class RefundInvoiceOut(Schema):
    """How much of a refund or void one invoice gave back (its amount due grew by as much)."""

    invoice_number: str
    amount: Money


class RefundOut(Schema):
    id: str = Field(description="The refund's order id at the gateway.")
    payment_id: uuid.UUID
    kind: Literal["refund", "void"]
    state: Literal["processing", "succeeded", "failed", "unknown"]
    amount: Money = Field(description="Of the invoices' amount (what `invoices` add up to).")
    adjustment: Money = Field(
        description="Its share of the payment's card surcharge, given back with it (pro rata), or "
        "of its eCheck discount, taken back (negative); the gateway refunds amount + adjustment."
    )
    reason: str
    requested_via: str
    transaction_id: str
    created_at: datetime.datetime
    completed_at: datetime.datetime | None
    invoices: list[RefundInvoiceOut] = Field(
        description="Which invoices the refund reduces, and by how much (they add up to `amount`)."
    )


class AllocationOut(Schema):
    """One invoice's share of a payment. A payment pays one or more invoices of one organization
    through one sale: the allocations' `amount`s add up to the payment's `sale_amount`, their
    `applied_amount`s to its `applied_amount`, their `refunded_amount`s to its `refunded_amount`."""

    invoice_number: str
    amount: Money = Field(description="What the payment set out to pay this invoice.")
    applied_amount: Money = Field(
        description="What counts towards the invoice's amount paid now: `amount` less refunds "
        "once the payment is approved or settled; 0.00 while pending, and once declined, failed, "
        "returned or voided."
    )
    refunded_amount: Money = Field(
        description="What refunds gave back from this invoice (restored to its amount due)."
    )


class PaymentOut(Schema):
    """A payment of one or more invoices, masked: the method is its label, never a number."""

    id: uuid.UUID
    order_id: str
    invoice_number: str = Field(
        description="The payment's first invoice (of the lowest id; the only one for a payment of "
        "one invoice). `allocations` lists every invoice the payment pays."
    )
    organization_external_id: str | None
    payer: PayerOut | None
    state: Literal[
        "processing",
        "unknown",
        "approved",
        "pending",
        "settled",
        "declined",
        "failed",
        "returned",
        "voided",
    ]
    sale_amount: Money = Field(description="The invoices' amount: what the allocations add up to.")
    surcharge_amount: Money = Field(
        description="A card surcharge on top of `sale_amount` (credit cards only; 0.00 when none). "
        "Never part of an invoice's allocation."
    )
    discount_amount: Money = Field(description="An eCheck discount taken off (0.00 when none).")
    charged_amount: Money = Field(
        description="What the gateway was asked for: sale_amount + surcharge_amount - "
        "discount_amount."
    )
    applied_amount: Money
    refunded_amount: Money
    currency: str
    method: MethodOut
    transaction_id: str
    return_code: str
    initiated_by: Literal["payer", "autopay"] = Field(
        description="autopay: charged by the autopay job with the organization's enrolled saved "
        "method (a merchant-initiated stored-credential sale); payer: made by a person, in the "
        "portal or through the API."
    )
    created_at: datetime.datetime
    updated_at: datetime.datetime
    completed_at: datetime.datetime | None
    settled_at: datetime.datetime | None
    returned_at: datetime.datetime | None
    refunds: list[RefundOut]
    allocations: list[AllocationOut] = Field(
        description="Each invoice the payment pays, with its share; in the order of the invoices' "
        "creation (the first is `invoice_number`)."
    )


class PaymentPage(Schema):
    items: list[PaymentOut]
    next_cursor: str | None = Field(
        description="Pass it as `cursor` to continue; store it to poll for later changes."
    )
    has_more: bool


class RefundIn(StrictIn):
    amount: MoneyIn | None = Field(None, description="Omit to refund all that is still applied.")
    invoices: list[Reference] | None = Field(
        None,
        max_length=500,
        description="For a partial refund of a payment of several invoices: the invoice numbers "
        "to reduce first, in this order; then the newest invoices. Omit: the newest first.",
    )
    reason: Line(200, required=False) = ""  # type: ignore[valid-type]


class RefundResult(RefundOut):
    payment: PaymentOut


class ProblemError(Schema):
    """One invalid field: where (exactly one of pointer, parameter, header) and what is wrong."""

    detail: str
    code: str
    pointer: str | None = Field(None, description='A JSON pointer into the body: "#/lines/0".')
    parameter: str | None = Field(None, description="A query or path parameter's name.")
    header: str | None = Field(None, description="A request header's name.")


class Problem(Schema):
    """An RFC 9457 problem document (application/problem+json)."""

    type: str = Field(description='"about:blank", or "/api/problems/<slug>" (see docs/api.md).')
    title: str
    status: int
    detail: str | None = None
    errors: list[ProblemError] | None = Field(None, description="For invalid input, per field.")
