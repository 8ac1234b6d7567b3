"""Checks of what a payer types, before anything reaches the gateway. Card numbers use the Luhn check
from python-stdnum; routing numbers its ABA checksum (stdnum.us.rtn)."""

from __future__ import annotations

import datetime
import re

from stdnum import luhn
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.us import rtn

# (brand, IIN prefix ranges, allowed lengths, CVV length)
_BRANDS: list[tuple[str, list[tuple[int, int]], tuple[int, ...], int]] = [
    ("American Express", [(34, 34), (37, 37)], (15,), 4),
    ("Visa", [(4, 4)], (13, 16, 19), 3),
    ("Mastercard", [(51, 55), (2221, 2720)], (16,), 3),
    ("Discover", [(6011, 6011), (644, 649), (65, 65), (622126, 622925)], (16, 19), 3),
    ("Diners Club", [(300, 305), (36, 36), (38, 39)], (14, 16, 19), 3),
    ("JCB", [(3528, 3589)], (16, 19), 3),
]


def card_brand(number: str) -> str | None:
    """The brand a card number belongs to by its leading digits, or None."""
    for brand, ranges, _lengths, _cvv in _BRANDS:
        for low, high in ranges:
            width = len(str(low))
            if len(number) >= width and low <= int(number[:width]) <= high:
                return brand
    return None


def cvv_length(brand: str | None) -> int:
    for name, _ranges, _lengths, cvv in _BRANDS:
        if name == brand:
            return cvv
    return 3


def card_number_problem(raw: str) -> str | None:
    """A message for the payer, or None when the number is plausible. Generic on purpose: it never
    tells a card tester which part was wrong beyond what the payer can see on their own card."""
    if raw != raw.strip() or " " in raw or "-" in raw:
        return "Enter the card number without any spaces."
    if not raw:
        return "Enter the card number."
    if not raw.isdigit():
        return "The card number can only contain digits."
    brand = card_brand(raw)
    if brand is None:
        return "This card type is not accepted. Use Visa, Mastercard, American Express, Discover, Diners Club or JCB."
    lengths = next(lengths for name, _r, lengths, _c in _BRANDS if name == brand)
    if len(raw) not in lengths or not luhn.is_valid(raw):
        return "This card number is not valid. Check it and try again."
    return None


_EXPIRY = re.compile(r"^\s*(\d{1,2})\s*/\s*(\d{2})\s*$")


def parse_expiry(raw: str, today: datetime.date) -> tuple[int, int] | str:
    """(month, four-digit year), or a message. A card is good through the end of its month."""
    match = _EXPIRY.match(raw or "")
    if not match:
        return "Enter the expiration date as MM/YY, e.g. 04/29."
    month, year = int(match.group(1)), 2000 + int(match.group(2))
    if not 1 <= month <= 12:
        return "The month must be between 01 and 12."
    if (year, month) < (today.year, today.month):
        return "This card has expired."
    if year > today.year + 20:
        return "Check the expiration year."
    return month, year


def routing_number_problem(raw: str) -> str | None:
    if not re.fullmatch(r"\d{9}", raw or ""):
        return "Enter the nine-digit routing number."
    try:
        rtn.validate(raw)
    except StdnumError:
        return "This routing number is not valid. Check it on your check or with your bank."
    return None


def account_number_problem(raw: str) -> str | None:
    if not re.fullmatch(r"\d{4,17}", raw or ""):
        return "Enter the account number: 4 to 17 digits, without spaces."
    return None
