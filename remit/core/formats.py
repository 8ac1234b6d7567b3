"""Dates as the pages and PDFs print them."""

import datetime

_MONTHS = ("", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def short_date(value: datetime.date) -> str:
    """Jan 5, 2026 — the same text as the templates' `date:"M j, Y"` and strftime("%b %-d, %Y")
    in the C locale, without either's per-call machinery."""
    return f"{_MONTHS[value.month]} {value.day}, {value.year}"
