"""Card surcharges and eCheck discounts, decided on the server (issue 14; money-shapes.md):

- only a card whose category is `credit` is surcharged — never debit, prepaid or unknown, never an
  eCheck;
- never where the organization's billing state or the card's billing state prohibits it; the
  lower cap of either state where one applies;
- never above 3% nor the provider's cost of acceptance (the settings refuse it; checked again here);
- not before 30 days after the acquirer was notified;
- rounded to the cent, half up, once per payment (not per invoice);
- refunded with the payment: in full with a full refund, pro rata to the cent with a partial one,
  the last refund taking what is left so the parts sum exactly to what was charged.

Nothing posted by the browser enters here but the card's category, and that only as the hosted
fields' look-up confirmed by the gateway (remit/payments/hosted.py). A posted surcharge amount is
never read."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from remit.core.money import CENT, ZERO
from remit.payments.surcharge_models import MAX_PERCENT, SurchargePolicy

HUNDRED = Decimal(100)


def percent_of(amount: Decimal, percent: Decimal) -> Decimal:
    """amount × percent / 100, to the cent, half up."""
    return (amount * percent / HUNDRED).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Adjustment:
    """What a payment adds to (surcharge) or takes off (discount) the invoices' amount."""

    surcharge: Decimal = ZERO
    surcharge_percent: Decimal | None = None
    discount: Decimal = ZERO
    discount_percent: Decimal | None = None
    reason: str = ""  # why no surcharge, when one could have been expected (for staff)

    @property
    def change(self) -> Decimal:
        return self.surcharge - self.discount

    def total(self, base: Decimal) -> Decimal:
        return base + self.change


NONE = Adjustment()


def _state(value: str) -> str:
    return (value or "").strip().upper()


def surcharge_percent(
    policy: SurchargePolicy, *, category: str, states: Iterable[str], day: datetime.date
) -> tuple[Decimal | None, str]:
    """(percent, reason): the percentage a credit card pays here, or None and why not."""
    if not policy.surcharging_on(day):
        return None, "surcharges are off"
    if category != "credit":
        return None, f"a {category or 'unknown'} card is never surcharged"
    percent = min(policy.percent, Decimal(MAX_PERCENT))
    if policy.cost_of_acceptance is not None:
        percent = min(percent, policy.cost_of_acceptance)
    excluded = {_state(s) for s in policy.excluded_states or []}
    caps = {_state(s): Decimal(str(cap)) for s, cap in (policy.state_caps or {}).items()}
    for state in {_state(s) for s in states if s}:
        if state in excluded:
            return None, f"no surcharge in {state}"
        if state in caps:
            percent = min(percent, caps[state])
    return (percent, "") if percent > 0 else (None, "the cap is zero")


def adjustment_for(
    policy: SurchargePolicy,
    *,
    kind: str,
    category: str,
    states: Iterable[str],
    base: Decimal,
    day: datetime.date,
) -> Adjustment:
    """The surcharge or discount of one payment of `base` (the invoices' amount) by a method of
    `kind` (card | echeck) and `category`, for billing `states` (organization's and card's)."""
    if kind == "echeck":
        pct = policy.echeck_discount_percent
        if pct and pct > 0:
            discount = min(percent_of(base, pct), base - CENT)
            return Adjustment(discount=discount, discount_percent=pct)
        return NONE
    percent, reason = surcharge_percent(policy, category=category, states=states, day=day)
    if percent is None:
        return Adjustment(reason=reason)
    return Adjustment(surcharge=percent_of(base, percent), surcharge_percent=percent)


def refund_share(
    *, adjustment: Decimal, base: Decimal, refunded_base_before: Decimal, refunding: Decimal
) -> Decimal:
    """The part of a payment's surcharge (or discount) that goes with refunding `refunding` of its
    `base`, after `refunded_base_before` was refunded: pro rata, to the cent, computed on the
    running total so that the shares of any sequence of refunds sum exactly to `adjustment` once the
    whole base is refunded."""
    if base <= 0 or adjustment == 0:
        return ZERO
    return _running_share(adjustment, refunded_base_before + refunding, base) - _running_share(
        adjustment, refunded_base_before, base
    )


def _running_share(adjustment: Decimal, refunded: Decimal, base: Decimal) -> Decimal:
    """The adjustment's share of `refunded` out of `base`, to the cent, half up; all of it once the
    whole base is refunded."""
    if refunded >= base:
        return adjustment
    return (adjustment * refunded / base).quantize(CENT, rounding=ROUND_HALF_UP)


def terms_of(choice) -> tuple[str, str, str]:
    """(kind, category, the card's billing state) of a payment choice: a saved method's as kept
    with it, a new card's from the hosted fields' look-up (remit/payments/hosted.py)."""
    from remit.payments.hosted import NewToken
    from remit.payments.services.common import NewBankAccount, NewCard, SavedMethod

    if isinstance(choice, SavedMethod):
        method = choice.method
        state = (method.billing or {}).get("state", "")
        if method.kind == "card":
            return "card", method.card_category or "unknown", state
        return "echeck", "", state
    if isinstance(choice, NewToken):
        state = choice.billing.state
        return ("card", choice.category, state) if choice.is_card else ("echeck", "", state)
    if isinstance(choice, NewCard):  # numbers typed into Remit (not offered by the portal)
        return "card", "unknown", choice.billing.state
    if isinstance(choice, NewBankAccount):
        return "echeck", "", choice.billing.state
    return "card", "unknown", ""


def quote(
    choice,
    *,
    organization,
    base: Decimal,
    day: datetime.date | None = None,
    policy: SurchargePolicy | None = None,
) -> Adjustment:
    """The surcharge or discount of paying `base` (the invoices' amount) for `organization` with
    `choice`, as the server decides it."""
    from django.utils import timezone

    kind, category, card_state = terms_of(choice)
    if policy is None and kind == "card" and category != "credit":
        # Never surcharged, whatever the settings say: no need to read them.
        return Adjustment(reason=f"a {category or 'unknown'} card is never surcharged")
    if policy is None and not SurchargePolicy.for_display().adjusts_anything():
        # Neither a surcharge nor a discount is set: the row is read only when one is (the
        # cached copy is renewed whenever it is saved, remit/core/flag_cache.py).
        return Adjustment(reason="surcharges are off") if kind == "card" else NONE
    return adjustment_for(
        policy or SurchargePolicy.load(),
        kind=kind,
        category=category,
        states=(organization.billing_state, card_state),
        base=base,
        day=day or timezone.localdate(),
    )
