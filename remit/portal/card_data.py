"""Remit never accepts card or bank account numbers: they belong in the gateway's hosted fields.

A form post that carries a card or account field by name (`ccnumber`, `cvv`, `checkaccount`, or
the names Remit's own form used before hosted fields), or anything shaped like a card number in
any field (13 to 19 digits, spaces or hyphens allowed, passing the Luhn check), is refused with
400 before any other middleware runs: no session, no database, no log of the values (Django
logs the refusal's path only).
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from remit.core.logging import mask_numbers

CARD_FIELD_NAMES = frozenset(
    {"ccnumber", "cvv", "cvv2", "checkaccount", "card_number", "account_number"}
)
REFUSED = (
    "Card and bank account numbers are not accepted here. Enter them in the secure fields of "
    "the Make a Payment window, which send them to the payment gateway directly.\n"
)


def looks_like_card_number(value: str) -> bool:
    """Somewhere in `value`, a card number: 12 to 19 digits (alone, or split by single spaces or
    dashes) passing the Luhn check, and not inside an identifier. The same rule as the log mask
    (remit.core.logging): digits joined to letters or other dash-joined words — an attempt key's
    UUID, a payment token — are never a card number, however their digits happen to fall."""
    return mask_numbers(value) != value


def carries_card_data(data) -> bool:
    for name, values in data.lists():
        if name.rsplit("-", 1)[-1].lower() in CARD_FIELD_NAMES and any(v.strip() for v in values):
            return True
        if any(looks_like_card_number(value) for value in values):
            return True
    return False


class RefuseCardDataMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method == "POST" and carries_card_data(request.POST):
            return HttpResponse(REFUSED, status=400, content_type="text/plain; charset=utf-8")
        return self.get_response(request)
