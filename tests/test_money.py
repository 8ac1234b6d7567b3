from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from remit.core.money import format_money, to_money


@pytest.mark.parametrize(
    ("amount", "shown"),
    [
        ("0", "$0.00"),
        ("0.5", "$0.50"),
        ("1234", "$1,234.00"),
        ("1234567.891", "$1,234,567.89"),
        ("-5", "-$5.00"),
        ("0.005", "$0.01"),  # half up, like a person would round
        ("2.675", "$2.68"),  # binary floats would give 2.67
    ],
)
def test_format_money(amount, shown):
    assert format_money(Decimal(amount)) == shown


def test_floats_are_refused():
    with pytest.raises(TypeError):
        to_money(0.1)


@pytest.mark.parametrize("value", ["abc", "NaN", "Infinity", ""])
def test_garbage_is_refused(value):
    with pytest.raises(ValueError, match="not an amount"):
        to_money(value)


@given(st.decimals(min_value=-(10**9), max_value=10**9, allow_nan=False, places=2))
def test_two_places_round_trip(amount):
    assert to_money(amount) == amount
    shown = format_money(amount)
    assert Decimal(shown.replace("$", "").replace(",", "")) == amount


@given(st.decimals(min_value=0, max_value=10**6, allow_nan=False, places=4))
def test_rounding_never_moves_more_than_half_a_cent(amount):
    assert abs(to_money(amount) - amount) <= Decimal("0.005")
