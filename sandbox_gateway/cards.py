"""Card and bank account checks, and the sandbox's deterministic test triggers. Pure functions."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

# --- Triggers (docs/gateway.md lists them; Remit's tests rely on them, keep them stable) ----------


@dataclass(frozen=True)
class Trigger:
    name: str
    response: str  # "1" approved, "2" declined, "3" error
    response_code: str
    response_text: str
    cvv_response: str = ""  # forced CVV result, "" = computed from the cvv sent
    return_code: str = ""  # eCheck: returned with this R-code at settlement


APPROVE = Trigger("approve", "1", "100", "SUCCESS")
DECLINE_SMALL_AMOUNT = Trigger("small_amount", "2", "200", "DECLINE")
EXPIRED_ON_FILE = Trigger("expired", "2", "223", "Expired card")

CARD_TRIGGERS = {
    "4000000000000002": Trigger("decline", "2", "200", "DECLINE"),
    "4000000000009995": Trigger("insufficient_funds", "2", "202", "Insufficient funds"),
    "4000000000000069": EXPIRED_ON_FILE,
    "4000000000000127": Trigger(
        "cvv_mismatch", "2", "225", "Invalid card security code", cvv_response="N"
    ),
    "4000000000000119": Trigger("processor_error", "3", "400", "Processor error"),
}

RETURN_REASONS = {
    "R01": "Insufficient Funds",
    "R02": "Account Closed",
    "R03": "No Account/Unable to Locate Account",
    "R04": "Invalid Account Number",
    "R05": "Unauthorized Debit to Consumer Account",
    "R07": "Authorization Revoked by Customer",
    "R10": "Customer Advises Not Authorized",
    "R29": "Corporate Customer Advises Not Authorized",
}

CHECK_FAILED = Trigger("check_failed", "2", "200", "FAILED")
CHECK_TRIGGERS = {
    "1000000001": Trigger("return_r01", "1", "100", "SUCCESS", return_code="R01"),
    "1000000002": Trigger("return_r02", "1", "100", "SUCCESS", return_code="R02"),
    "1000000003": CHECK_FAILED,
}

TRIGGERS_BY_NAME = {t.name: t for t in (*CARD_TRIGGERS.values(), *CHECK_TRIGGERS.values(), APPROVE)}

# NMI's documented test tokens (as Collect.js would give them), standing for its test card and
# test bank account.
TEST_TOKENS = {
    "00000000-000000-000000-000000000000": ("card", "4111111111111111"),
    "11111111-111111-111111-111111111111": ("check", "24413815"),
}
TEST_TOKEN_ROUTING = "490000018"  # noqa: S105  (a routing number, not a secret)


# --- Cards ----------------------------------------------------------------------------------------


def luhn_valid(number: str) -> bool:
    if not number.isdigit() or not number.isascii():
        return False
    total = 0
    for position, char in enumerate(reversed(number)):
        digit = int(char)
        if position % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def card_brand(number: str) -> str:
    """visa, mastercard, amex, discover, diners, jcb, or '' when the number fits none."""
    n = len(number)
    if not number.isdigit():
        return ""

    def prefix(length: int) -> int:
        return int(number[:length]) if n >= length else -1

    if number.startswith("4") and n in (13, 16, 19):
        return "visa"
    if (51 <= prefix(2) <= 55 or 2221 <= prefix(4) <= 2720) and n == 16:
        return "mastercard"
    if prefix(2) in (34, 37) and n == 15:
        return "amex"
    if (
        number.startswith("6011")
        or number.startswith("65")
        or 644 <= prefix(3) <= 649
        or 622126 <= prefix(6) <= 622925
    ) and 16 <= n <= 19:
        return "discover"
    if (300 <= prefix(3) <= 305 or prefix(2) in (36, 38, 39)) and 14 <= n <= 19:
        return "diners"
    if 3528 <= prefix(4) <= 3589 and 16 <= n <= 19:
        return "jcb"
    return ""


def cvv_length_ok(cvv: str, brand: str) -> bool:
    return cvv.isdigit() and len(cvv) == (4 if brand == "amex" else 3)


def parse_ccexp(ccexp: str) -> tuple[int, int] | None:
    """MMYY (lenient: MM/YY, MM-YY) → (month, four-digit year), or None."""
    digits = ccexp.replace("/", "").replace("-", "").strip()
    if len(digits) != 4 or not digits.isdigit():
        return None
    month, year = int(digits[:2]), 2000 + int(digits[2:])
    if not 1 <= month <= 12:
        return None
    return month, year


def expired(month: int, year: int, today_year: int, today_month: int) -> bool:
    """A card is good through the last day of its expiry month."""
    return (year, month) < (today_year, today_month)


def masked_card(number: str) -> str:
    """As NMI's reports show it: first digit, x's, last four (4xxxxxxxxxxx1111)."""
    return number[0] + "x" * (len(number) - 5) + number[-4:]


# --- Bank accounts --------------------------------------------------------------------------------


def routing_valid(aba: str) -> bool:
    """ABA routing number: nine digits, weights 3 7 1, sum divisible by ten."""
    if len(aba) != 9 or not aba.isdigit() or not aba.isascii():
        return False
    weights = (3, 7, 1) * 3
    return sum(int(d) * w for d, w in zip(aba, weights, strict=True)) % 10 == 0


def account_valid(account: str) -> bool:
    return account.isdigit() and account.isascii() and 4 <= len(account) <= 17


def masked_account(account: str) -> str:
    return "x" * (len(account) - 4) + account[-4:]


# --- Fingerprints ---------------------------------------------------------------------------------


def fingerprint(salt: bytes, kind: str, number: str) -> str:
    """A salted, one-way stand-in for a card or account number: equal numbers, equal prints."""
    return hmac.new(salt, f"{kind}:{number}".encode(), hashlib.sha256).hexdigest()
