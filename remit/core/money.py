"""Money is Decimal with two places, end to end. Never float."""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def to_money(value: Decimal | int | str) -> Decimal:
    """Quantize to cents (half up). Floats are refused: they cannot hold cents exactly."""
    if isinstance(value, float):
        raise TypeError("money must not be a float; pass a Decimal or a string")
    try:
        amount = Decimal(value)
    except (InvalidOperation, TypeError) as exc:
        raise ValueError(f"not an amount of money: {value!r}") from exc
    if not amount.is_finite():
        raise ValueError(f"not an amount of money: {value!r}")
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def format_money(value: Decimal | None, currency: str = "USD") -> str:
    """$1,234.50 / -$5.00 (US dollars); other currencies as '1,234.50 EUR'."""
    if value is None:
        return ""
    amount = to_money(value)
    sign = "-" if amount < 0 else ""
    digits = f"{abs(amount):,.2f}"
    if currency == "USD":
        return f"{sign}${digits}"
    return f"{sign}{digits} {currency}"
