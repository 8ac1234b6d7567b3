"""Remit never accepts card or account numbers: a post that carries one is refused with 400 before
anything can keep it — no payment, no audit event, no session change, no log line with it."""

import logging

import pytest
from django.urls import reverse

from remit.audit.models import AuditEvent
from remit.payments.models import Payment
from remit.portal.card_data import looks_like_card_number
from tests.payments.conftest import sales_at_gateway
from tests.payments.test_make_payment_view import CARD_DETAILS
from tests.payments.test_no_card_data import database_dump

pytestmark = pytest.mark.django_db

CARD = "5431111111111111"


def a_payment_post(**fields):
    base = {
        "attempt_key": "6f1f1d1c-3b1e-4d59-9a55-0d7b6f0d2a11",
        "amount": "1234.00",
        "method": "new_card",
        "confirmed": "yes",
        **CARD_DETAILS,
    }
    return base | fields


@pytest.mark.parametrize(
    "fields",
    [
        {"ccnumber": CARD, "ccexp": "1229", "cvv": "123"},
        {"cvv": "123"},
        {"checkaccount": "24413815", "checkaba": "490000018"},
        {"card-card_number": CARD, "card-cvv": "123"},  # the names Remit's own form once used
        {"bank-account_number": "24413815"},
        {"card-address1": f"card {CARD[:4]} {CARD[4:8]} {CARD[8:12]} {CARD[12:]}"},
        {"payment_token": CARD},
    ],
    ids=[
        "ccnumber",
        "cvv",
        "checkaccount",
        "old-card-fields",
        "old-account",
        "in-address",
        "as-token",
    ],
)
def test_a_post_with_card_data_is_refused_and_leaves_no_trace(
    as_manager, due_invoice, gateway, sandbox_gateway, caplog, fields
):
    caplog.set_level(logging.DEBUG)
    url = reverse("make_payment", args=[due_invoice.pk])
    session_before = dict(as_manager.session.items())
    response = as_manager.post(url, a_payment_post(**fields))
    assert response.status_code == 400
    assert "not accepted here" in response.text
    assert not Payment.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="payment").exists()
    assert sales_at_gateway(sandbox_gateway) == []
    assert dict(as_manager.session.items()) == session_before
    logs = "\n".join(record.getMessage() for record in caplog.records)
    for value in fields.values():
        assert value not in logs
    assert CARD not in database_dump()


def test_anywhere_in_remit_not_only_the_payment_window(client, manager):
    response = client.post(reverse("login"), {"username": CARD, "password": "x"})
    assert response.status_code == 400


def test_the_ordinary_window_post_still_works(as_manager, due_invoice, gateway, sandbox_gateway):
    token = sandbox_gateway.card_token("4111111111111111")
    response = as_manager.post(
        reverse("make_payment", args=[due_invoice.pk]), a_payment_post(payment_token=token)
    )
    assert "Payment has been processed" in response.text


def test_an_attempt_key_whose_digits_look_like_a_card_is_not_refused(
    as_manager, due_invoice, gateway, sandbox_gateway
):
    token = sandbox_gateway.card_token("4111111111111111")
    post = a_payment_post(attempt_key="3f2504ea-4111-1111-1111-1111aaaaaaaa", payment_token=token)
    response = as_manager.post(reverse("make_payment", args=[due_invoice.pk]), post)
    assert response.status_code == 200
    assert "Payment has been processed" in response.text


@pytest.mark.parametrize(
    ("value", "card_like"),
    [
        ("4111111111111111", True),
        ("4111 1111 1111 1111", True),
        ("4111-1111-1111-1111", True),
        ("341111111111111", True),
        ("4111111111111112", False),  # fails the Luhn check
        ("6f1f1d1c-3b1e-4d59-9a55-0d7b6f0d2a11", False),  # an attempt key
        # Identifiers whose digits happen to fall like a card number's: refusing them refused
        # about one payment in a few hundred (attempt keys are random UUIDs).
        ("3f2504ea-4111-1111-1111-1111aaaaaaaa", False),
        ("Ab12cD34-411111-111111-1111bcdefghi", False),  # a payment token's shape
        ("3942215914", False),  # a transaction id
        ("+1 (206) 555-0100", False),
        ("12345678901234567890123", False),  # longer than any card number
    ],
)
def test_what_looks_like_a_card_number(value, card_like):
    assert looks_like_card_number(value) is card_like
