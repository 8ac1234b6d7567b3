"""Property tests where inputs vary: the answer parser, card and routing number checks."""

import string

from hypothesis import example, given
from hypothesis import strategies as st
from stdnum import luhn
from stdnum.us import rtn

from remit.gateway.base import Outcome
from remit.gateway.nmi import parse_answer, result_from_answer
from sandbox_gateway import cards
from sandbox_gateway.engine import format_answer

field_names = st.text(alphabet=string.ascii_lowercase + "_", min_size=1, max_size=20)
# What NMI puts in a value raw: words, digits, spaces, REFIDs, an occasional `&` (never `=`,
# `+` or `%`, which a raw answer cannot carry unambiguously).
raw_values = st.text(alphabet=string.ascii_letters + string.digits + " :.-/&", max_size=40)


@given(st.dictionaries(field_names, raw_values, max_size=12))
@example({"response": "2", "responsetext": "AVS & CVV mismatch", "response_code": "200"})
def test_raw_answers_parse_back_to_their_fields(fields):
    body = "&".join(f"{name}={value}" for name, value in fields.items())
    parsed = parse_answer(body)
    # A value's leading `&word` glued to a following `name=` is the one ambiguous shape; the raw
    # alphabet above cannot produce it because values never contain `=`.
    assert parsed == {name: value.strip() for name, value in fields.items()}


@given(st.dictionaries(field_names, st.text(max_size=40), max_size=12))
def test_the_sandboxs_encoding_round_trips_any_text(fields):
    parsed = parse_answer(format_answer(fields))
    assert parsed == {name: value.strip() for name, value in fields.items()}


@given(st.text(max_size=300))
@example("response=1")
@example("response=9&response_code=100")
def test_any_body_classifies_without_raising(body):
    result = result_from_answer(parse_answer(body))
    assert result.outcome in set(Outcome)
    if result.outcome != Outcome.ERROR:
        assert result.protocol_answer
    if not result.protocol_answer:
        assert result.outcome == Outcome.ERROR
        assert result.response_code == ""


@given(st.text(alphabet=string.digits, min_size=1, max_size=19))
def test_luhn_agrees_with_python_stdnum(number):
    assert cards.luhn_valid(number) == luhn.is_valid(number)


@given(st.text(alphabet=string.digits, min_size=9, max_size=9))
@example("490000018")
def test_routing_checksum_agrees_with_python_stdnum(aba):
    assert cards.routing_valid(aba) == rtn.is_valid(aba)


BRAND_PREFIXES = {
    "visa": (["4"], [13, 16, 19]),
    "mastercard": (["51", "55", "2221", "2720"], [16]),
    "amex": (["34", "37"], [15]),
    "discover": (["6011", "65", "644", "622126", "622925"], [16, 19]),
    "diners": (["300", "305", "36", "38"], [14, 16]),
    "jcb": (["3528", "3589"], [16, 19]),
}
brand_cases = st.sampled_from(
    [
        (brand, prefix, length)
        for brand, (prefixes, lengths) in BRAND_PREFIXES.items()
        for prefix in prefixes
        for length in lengths
    ]
)


@given(brand_cases, st.text(alphabet=string.digits, min_size=20, max_size=20))
def test_brand_detection_from_prefix_and_length(case, filler):
    brand, prefix, length = case
    body = (prefix + filler)[: length - 1]
    number = body + luhn.calc_check_digit(body)
    assert cards.luhn_valid(number)
    assert cards.card_brand(number) == brand


@given(st.text(alphabet=string.digits, min_size=12, max_size=19))
def test_masked_numbers_keep_only_the_first_digit_and_last_four(number):
    masked = cards.masked_card(number)
    assert len(masked) == len(number)
    assert masked[0] == number[0]
    assert masked[-4:] == number[-4:]
    assert set(masked[1:-4]) <= {"x"}


def test_the_trigger_cards_are_valid_visa_numbers():
    for number in cards.CARD_TRIGGERS:
        assert cards.luhn_valid(number)
        assert cards.card_brand(number) == "visa"
