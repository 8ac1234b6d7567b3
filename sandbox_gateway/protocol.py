"""What every part of the sandbox shares: NMI's field names, the refusal, the kept payment method,
money and date handling, and the answer format."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from urllib.parse import quote
from xml.etree import ElementTree as ET  # builds XML only; input is never parsed with it

DEMO_SECURITY_KEY = "6457Thfj624V5r7WUwc5v6a68Zsd6YEm"  # NMI's public demo key
# NMI's public demo account for the older username/password authentication (the same account as
# the demo key); no other username/password is accepted.
DEMO_USERNAME, DEMO_PASSWORD = "demo", "password"
DEFAULT_DUP_SECONDS = 1200

ANSWER_FIELDS = (
    "response",
    "responsetext",
    "authcode",
    "transactionid",
    "avsresponse",
    "cvvresponse",
    "orderid",
    "type",
    "response_code",
)
BILLING_FIELDS = (
    "first_name",
    "last_name",
    "company",
    "address1",
    "address2",
    "city",
    "state",
    "zip",
    "country",
    "phone",
    "email",
)
# Older names NMI still reads (client libraries send them): read as the current name when that is
# not sent itself.
LEGACY_NAMES = {
    "firstname": "first_name",
    "lastname": "last_name",
    "orderdescription": "order_description",
}
# How query.php names the billing fields.
REPORT_BILLING_NAMES = {"address1": "address_1", "address2": "address_2", "zip": "postal_code"}


class Refusal(Exception):
    """The gateway refuses the request: response=3 with this text (and a REFID). `echo` holds
    answer fields the refusal carries, as NMI's do: the `transactionid` of the existing transaction
    a capture or void was refused for, the `customer_vault_id` that was not found."""

    def __init__(
        self,
        text: str,
        code: str = "300",
        *,
        refid: bool = True,
        echo: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(text)
        self.text = text
        self.code = code
        self.refid = refid
        self.echo = dict(echo or {})


@dataclass
class Method:
    """A payment method as the sandbox keeps it: never the full number, never the CVV."""

    kind: str  # cc | ck
    fingerprint: str
    masked: str
    brand: str = ""
    cc_exp: str = ""
    cc_bin: str = ""  # the first six digits, as query.php reports them
    check_aba: str = ""
    check_name: str = ""
    account_holder_type: str = ""
    account_type: str = ""
    sec_code: str = ""
    trigger: str = ""
    cvv_result: str = ""  # from the CVV of this request, if one was sent
    vault_id: str = ""
    billing: dict[str, str] = field(default_factory=dict)

    @property
    def dup_key(self) -> str:
        return f"vault:{self.vault_id}" if self.vault_id else self.fingerprint


def money(value: str, *, required: bool) -> Decimal | None:
    """An amount field: two places at most, not negative; empty is None unless required."""
    value = value.strip()
    if not value:
        if required:
            raise Refusal("Invalid amount")
        return None
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise Refusal("Invalid amount") from None
    if not amount.is_finite() or amount < 0 or amount != amount.quantize(Decimal("0.01")):
        raise Refusal("Invalid amount")
    return amount.quantize(Decimal("0.01"))


def format_date(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y%m%d%H%M%S")


def parse_date(value: str) -> float | None:
    value = value.strip()
    if not value:
        return None
    value = (value + "000000")[:14]
    try:
        return datetime.strptime(value, "%Y%m%d%H%M%S").replace(tzinfo=UTC).timestamp()
    except ValueError:
        return None


def with_current_names(form: Mapping[str, str]) -> dict[str, str]:
    """The form with legacy field names (`firstname`, ...) read as the current ones."""
    fields = dict(form)
    for legacy, current in LEGACY_NAMES.items():
        if legacy in fields and not fields.get(current, "").strip():
            fields[current] = fields[legacy]
    return fields


def billing_from(form: Mapping[str, str]) -> dict[str, str]:
    return {f: form[f].strip() for f in BILLING_FIELDS if form.get(f, "").strip()}


def avs_result(billing: Mapping[str, str]) -> str:
    """As on NMI's demo: address1 containing 888 with ZIP 77777 matches (Y), anything else N."""
    if "888" in billing.get("address1", "") and billing.get("zip", "").startswith("77777"):
        return "Y"
    return "N"


def non_negative_int(value: str) -> int:
    try:
        return max(int(value.strip()), 0)
    except ValueError:
        return 0


def xml_document(root: ET.Element) -> bytes:
    ET.indent(root, space="\t")
    body = ET.tostring(root, encoding="unicode", short_empty_elements=False)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n").encode()


def format_answer(fields: Mapping[str, str]) -> str:
    """NMI's answer format: a query string with raw spaces (only & = + % and controls escaped)."""
    return "&".join(f"{name}={quote(value, safe=' :/,.@()_-')}" for name, value in fields.items())
