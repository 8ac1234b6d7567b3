"""The signature scheme and the verify helper receivers can copy."""

import pytest

from remit.webhooks.signing import SignatureError, compute, sign, verify

BODY = b'{"id":"evt","type":"payment.succeeded"}'


def test_it_round_trips():
    header = sign("s3cret", BODY, timestamp=1_700_000_000)
    assert header == f"t=1700000000,v1={compute('s3cret', 1_700_000_000, BODY)}"
    assert verify("s3cret", header, BODY, now=1_700_000_100) == 1_700_000_000


@pytest.mark.parametrize(
    ("secret", "body", "now", "message"),
    [
        ("wrong", BODY, 1_700_000_000, "mismatch"),
        ("s3cret", BODY + b" ", 1_700_000_000, "mismatch"),
        ("s3cret", BODY, 1_700_000_301, "tolerance"),
        ("s3cret", BODY, 1_699_999_699, "tolerance"),
    ],
)
def test_it_refuses(secret, body, now, message):
    header = sign("s3cret", BODY, timestamp=1_700_000_000)
    with pytest.raises(SignatureError, match=message):
        verify(secret, header, body, now=now)


@pytest.mark.parametrize("header", ["", "t=abc,v1=00", "v1=00", "t=1700000000", "garbage"])
def test_malformed_headers_are_refused(header):
    with pytest.raises(SignatureError):
        verify("s3cret", header, BODY, now=1_700_000_000)


def test_any_of_several_signatures_may_match_while_rotating_secrets():
    old = compute("old", 1_700_000_000, BODY)
    new = compute("new", 1_700_000_000, BODY)
    header = f"t=1700000000,v1={old},v1={new}"
    assert verify("new", header, BODY, now=1_700_000_000)
    assert verify("old", header, BODY, now=1_700_000_000)
