"""A last line of defence: mask anything shaped like a card or bank account number in log records.

Remit does not log such numbers in the first place; this filter exists so that a mistake somewhere
(a third-party library, an exception message) still cannot write one to a log.
"""

import logging
import re

# 12 to 19 digits, optionally split by single spaces or dashes (PANs; most bank account numbers).
_LONG_NUMBER = re.compile(r"(?<![\d])(?:\d[ -]?){11,18}\d(?![\d])")


def mask_numbers(text: str) -> str:
    return _LONG_NUMBER.sub(lambda m: "•" * 4 + re.sub(r"\D", "", m.group())[-4:], text)


class MaskCardNumbersFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_numbers(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_text:
            record.exc_text = mask_numbers(record.exc_text)
        return True
