"""The surcharge rules, one by one (remit/payments/surcharge.py): who is surcharged, how much, and
how a refund gives it back."""

import datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from remit.payments.surcharge import adjustment_for, percent_of, refund_share
from remit.payments.surcharge_models import SurchargePolicy

TODAY = datetime.date(2026, 12, 2)
D = Decimal


def policy(**overrides) -> SurchargePolicy:
    """An unsaved policy, on since long enough: 3.00% of a 3.50% cost, the prefilled states."""
    fields = {
        "enabled": True,
        "percent": D("3.00"),
        "cost_of_acceptance": D("3.50"),
        "acquirer_notified_on": TODAY - datetime.timedelta(days=45),
        "excluded_states": ["CT", "MA", "ME", "PR"],
        "state_caps": {"CO": "2.00", "OK": "2.00"},
    }
    return SurchargePolicy(**(fields | overrides))


def quote(p=None, *, kind="card", category="credit", states=("WA",), base="1232.00", day=TODAY):
    return adjustment_for(
        p or policy(), kind=kind, category=category, states=states, base=D(base), day=day
    )


def test_a_credit_card_is_surcharged():
    adjustment = quote()
    assert adjustment.surcharge == D("36.96")  # 3.00% of $1,232.00
    assert adjustment.surcharge_percent == D("3.00")
    assert adjustment.total(D("1232.00")) == D("1268.96")


@pytest.mark.parametrize("category", ["debit", "prepaid", "unknown", ""])
def test_debit_prepaid_and_unknown_cards_never_are(category):
    adjustment = quote(category=category)
    assert adjustment.surcharge == D("0.00")
    assert "never surcharged" in adjustment.reason


def test_an_echeck_never_is_and_gets_the_discount_when_one_is_offered():
    assert quote(kind="echeck", category="").change == D("0.00")
    discounted = quote(policy(echeck_discount_percent=D("1.00")), kind="echeck", category="")
    assert (discounted.surcharge, discounted.discount) == (D("0.00"), D("12.32"))
    assert discounted.total(D("1232.00")) == D("1219.68")


@pytest.mark.parametrize("state", ["CT", "MA", "ME", "PR"])
@pytest.mark.parametrize("whose", ["organization", "card"])
def test_no_surcharge_where_the_organizations_or_the_cards_state_prohibits_it(state, whose):
    states = (state, "WA") if whose == "organization" else ("WA", state)
    adjustment = quote(states=states)
    assert adjustment.surcharge == D("0.00")
    assert adjustment.reason == f"no surcharge in {state}"


@pytest.mark.parametrize("state", ["CO", "OK", "co"])
def test_the_lower_cap_of_either_state_applies(state):
    adjustment = quote(states=("WA", state))
    assert adjustment.surcharge_percent == D("2.00")
    assert adjustment.surcharge == D("24.64")


def test_never_above_three_percent_nor_the_cost_of_acceptance():
    assert quote(policy(cost_of_acceptance=D("2.50"))).surcharge_percent == D("2.50")
    # Settings saved around the form (the form refuses both) are still held to the rules.
    assert quote(policy(percent=D("4.00"), cost_of_acceptance=None)).surcharge_percent == D("3.00")


def test_not_before_thirty_days_after_the_acquirer_was_notified():
    notified = TODAY - datetime.timedelta(days=29)
    assert quote(policy(acquirer_notified_on=notified)).surcharge == D("0.00")
    on_day_30 = quote(policy(acquirer_notified_on=notified), day=TODAY + datetime.timedelta(days=1))
    assert on_day_30.surcharge == D("36.96")
    assert quote(policy(acquirer_notified_on=None)).surcharge == D("0.00")
    assert quote(policy(enabled=False)).surcharge == D("0.00")


def test_rounded_to_the_cent_half_up():
    assert percent_of(D("0.50"), D("3.00")) == D("0.02")  # 0.015 → 0.02
    assert percent_of(D("10.05"), D("2.50")) == D("0.25")  # 0.25125 → 0.25
    assert percent_of(D("100.10"), D("2.75")) == D("2.75")  # 2.75275 → 2.75
    assert percent_of(D("1.70"), D("2.50")) == D("0.04")  # 0.0425 → 0.04


amounts = st.decimals(min_value=D("0.01"), max_value=D("999999.99"), places=2)
percents = st.decimals(min_value=D("0.01"), max_value=D("3.00"), places=2)


@given(base=amounts, percent=percents)
def test_the_surcharge_is_the_exact_half_up_cent_of_the_percentage(base, percent):
    adjustment = quote(policy(percent=percent), base=str(base))
    exact = base * percent / 100
    assert adjustment.surcharge == adjustment.surcharge.quantize(D("0.01"))
    assert abs(adjustment.surcharge - exact) <= D("0.005")
    if exact - exact.quantize(D("0.01"), rounding="ROUND_DOWN") == D("0.005"):
        assert adjustment.surcharge > exact  # a half cent goes up
    assert adjustment.total(base) == base + adjustment.surcharge


@given(
    base=amounts,
    percent=percents,
    cuts=st.lists(st.integers(min_value=1, max_value=10_000), min_size=1, max_size=6),
)
def test_pro_rata_refunds_sum_exactly_to_what_was_charged(base, percent, cuts):
    surcharge = percent_of(base, percent)
    # Split the base into refunds (each at least a cent), refunded one after another.
    total = sum(cuts)
    parts = [max(D("0.01"), (base * c / total).quantize(D("0.01"))) for c in cuts]
    parts[-1] = base - sum(parts[:-1])
    if parts[-1] <= 0:
        parts = [base]
    refunded, shares = D("0.00"), []
    for part in parts:
        shares.append(
            refund_share(
                adjustment=surcharge, base=base, refunded_base_before=refunded, refunding=part
            )
        )
        refunded += part
    assert sum(shares) == surcharge
    assert all(share >= 0 for share in shares)
    for part, share in zip(parts, shares, strict=True):
        # Each refund's share is its pro-rata part, within a cent of rounding.
        assert abs(share - surcharge * part / base) < D("0.01") + D("0.005")


def test_a_full_refund_gives_back_the_whole_surcharge_and_a_half_refund_half():
    surcharge = D("36.96")
    base = D("1232.00")
    assert (
        refund_share(adjustment=surcharge, base=base, refunded_base_before=D("0"), refunding=base)
        == surcharge
    )
    half = refund_share(
        adjustment=surcharge, base=base, refunded_base_before=D("0"), refunding=D("616.00")
    )
    assert half == D("18.48")
