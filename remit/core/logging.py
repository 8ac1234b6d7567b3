"""A last line of defence: mask anything that is a card number in log records.

Remit does not log such numbers in the first place; this filter exists so that a mistake somewhere
(a third-party library, an exception message) still cannot write one to a log.

Only digits that pass the Luhn check (every card number does) are masked, and never inside an
identifier: a UUID, an order id (`RMT-…`), `task_123…` are words holding letters or underscores
next to the digits, and ids of digits and dashes too long for a card (a UUID of digits only) stay
whole — masking them broke the ids in the worker's log and made its lines impossible to follow.
"""

import logging
import re

# A run of "numeric words" — digits, optionally dash-joined (4111-1111-1111-1111), separated by
# single spaces (4111 1111 1111 1111) — standing alone: not touching a letter, digit, underscore
# or dash, which would make it part of an identifier.
_NUMERIC_RUN = re.compile(r"(?<![\w-])\d+(?:-\d+)*(?: \d+(?:-\d+)*)*(?![\w-])")
_MIN, _MAX = 12, 19  # the digits of a card number


def _is_card(digits: str) -> bool:
    """12 to 19 digits passing the Luhn check (inlined: it runs on every log line)."""
    if not _MIN <= len(digits) <= _MAX:
        return False
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _mask_run(match: re.Match) -> str:
    words = match.group().split(" ")
    digits = [word.replace("-", "") for word in words]
    out: list[str] = []
    i = 0
    while i < len(words):
        # The longest stretch of consecutive words from here that is a card number
        # (a 16-digit card number followed by "12 28" is the number and its expiry). At most 19
        # digits: bounded.
        end, joined, card = i, "", None
        while end < len(words) and len(joined) + len(digits[end]) <= _MAX:
            joined += digits[end]
            end += 1
            if _is_card(joined):
                card = (end, joined)
        if card is None:
            out.append(words[i])
            i += 1
        else:
            i, number = card
            out.append("•" * 4 + number[-4:])
    return " ".join(out)


def mask_numbers(text: str) -> str:
    """`text` with every card number in it replaced by ••••1111 (its last four)."""
    return _NUMERIC_RUN.sub(_mask_run, text)


class MaskCardNumbersFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_numbers(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_text:
            record.exc_text = mask_numbers(record.exc_text)
        return True
