"""The log filter masks card numbers — digits passing the Luhn check — and leaves identifiers whole:
a UUID, an order id or a task id that happens to hold a long run of digits is not a card."""

import logging
import uuid

import pytest

from remit.core.logging import MaskCardNumbersFilter, mask_numbers


def logged(message: str, *args) -> str:
    """The line as the console handler writes it (through the project's filter)."""
    record = logging.LogRecord("remit.test", logging.INFO, __file__, 1, message, args, None)
    MaskCardNumbersFilter().filter(record)
    return record.getMessage()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("paid with 4111111111111111", "paid with ••••1111"),
        ("paid with 4111 1111 1111 1111 today", "paid with ••••1111 today"),
        ("paid with 4111-1111-1111-1111.", "paid with ••••1111."),
        ("ccnumber=5431111111111111&ccexp=1228", "ccnumber=••••1111&ccexp=1228"),
        ('{"card": "4000000000009995"}', '{"card": "••••9995"}'),
        # A card number followed by its expiry is still found.
        ("card 4111111111111111 12 28", "card ••••1111 12 28"),
        # Amex, 15 digits.
        ("amex 378282246310005", "amex ••••0005"),
    ],
)
def test_card_numbers_are_masked(text, expected):
    assert mask_numbers(text) == expected
    assert logged("%s", text) == expected


@pytest.mark.parametrize(
    "text",
    [
        # The worker's task ids: the last group is 12 digits (the second one passes Luhn).
        "task 123e4567-e89b-12d3-a456-426614174000 finished",
        "task 0b6e1c2a-7d4f-4e1b-9f3a-411111111117 finished",
        # A UUID of digits only is 32 digits: no card is that long.
        "job 12345678-1234-1234-1234-123456789012 started",
        # Order ids, and ids glued to a prefix.
        "order RMT-4111111111111111ABCD looked up",
        "order RMT-4111111111111111 looked up",
        "task_4111111111111111 queued",
        # Digits that are not a card number: they fail the Luhn check.
        "invoice total 4111111111111112 is not a card",
        "reference 123456789012",
    ],
)
def test_identifiers_and_non_cards_stay_whole(text):
    assert mask_numbers(text) == text
    assert logged(text) == text


def test_every_uuid_survives_the_filter():
    """What the worker logs, thousands of times a day: no task id comes out broken."""
    ids = [str(uuid.UUID(int=n * 0x9E3779B97F4A7C15F39CC0605CEDC835 % 2**128)) for n in range(2000)]
    ids += [str(uuid.UUID(f"{n:032d}")) for n in range(0, 10**12, 10**9 + 7)][:500]
    for task_id in ids:
        line = f"Task id={task_id} path=remit.payments.tasks.reconcile_payment_task state=SUCCEEDED"
        assert logged(line) == line


def test_a_card_number_in_an_exception_is_masked():
    try:
        raise ValueError("bad card 4111111111111111")
    except ValueError:
        import sys

        record = logging.LogRecord(
            "remit.test", logging.ERROR, __file__, 1, "failed", None, sys.exc_info()
        )
    record.exc_text = logging.Formatter().formatException(record.exc_info)
    MaskCardNumbersFilter().filter(record)
    assert "4111111111111111" not in record.exc_text
    assert "••••1111" in record.exc_text
