"""The autopay consent the client accepts. Versioned like the eCheck authorization
(remit/payments/authorization.py): the version and the exact text shown are stored with each
enrolment (text, time, user, IP) and emailed. Changing the wording means a new VERSION."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.utils.formats import date_format

from remit.core.money import format_money

VERSION = "2026-12-02"  # the card surcharge sentence

_TEXT = (
    "I authorize {provider} to charge {method} for each invoice of {organization} whose charge "
    "date is {starts} or later, {when}, for the invoice's balance{cap}.{surcharge}{sec} This "
    "authorization "
    "stays in effect until I cancel it on the Payment methods page of the portal or by "
    "contacting {provider}{contact}; cancelling stops every charge not yet made. {provider} will "
    "announce any change to these terms at least 7 days before it takes effect."
)


def consent_text(
    *,
    provider: str,
    organization: str,
    method_label: str,
    method_kind: str,
    business_account: bool,
    when: str,
    cap: Decimal | None,
    starts: datetime.date,
    contact: str = "",
    surcharge_percent: Decimal | None = None,
) -> str:
    """`surcharge_percent`: the card surcharge this method carries today (a credit card, where
    surcharges apply), said in the consent so that the charge is what was agreed."""
    sec = ""
    if method_kind == "echeck":
        sec = (
            f" Each debit is a {'CCD' if business_account else 'WEB'} entry under the Nacha rules."
        )
    return _TEXT.format(
        provider=provider,
        organization=organization,
        method=method_label,
        when=when,
        cap=f", up to {format_money(cap)} per invoice" if cap else "",
        starts=date_format(starts, "M j, Y"),
        sec=sec,
        surcharge=(
            f" Each charge adds a card surcharge of {surcharge_percent}% of the balance, shown on "
            "the receipt; it is not part of the cap."
            if surcharge_percent
            else ""
        ),
        contact=f" ({contact})" if contact else "",
    )
