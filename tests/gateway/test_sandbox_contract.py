"""The contract between Remit's NMI client and the sandbox gateway, over real HTTP.

Each test gets a freshly reset sandbox (the `gateway` fixture in conftest.py). Amounts differ
between sales of one test where the duplicate check would otherwise fire.
"""

import re
import socket
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest

from remit.gateway.base import (
    AccountHolderType,
    AccountType,
    BankAccount,
    Billing,
    Card,
    Condition,
    GatewayLookupError,
    Outcome,
    PaymentKind,
)
from remit.gateway.nmi import NmiGateway

NEXT_YEAR = datetime.now(UTC).year + 1


def card(number: str = "4111111111111111", cvv: str = "123", year: int = NEXT_YEAR) -> Card:
    return Card(number=number, exp_month=12, exp_year=year, cvv=cvv)


def account(number: str = "24413815", holder=AccountHolderType.PERSONAL) -> BankAccount:
    return BankAccount(
        routing_number="490000018",
        account_number=number,
        name_on_account="Ada Lovelace",
        holder_type=holder,
        account_type=AccountType.CHECKING,
    )


def only(transactions):
    assert len(transactions) == 1, transactions
    return transactions[0]


# --- Sales and the triggers -----------------------------------------------------------------------


def test_a_card_sale_is_approved_and_can_be_found_by_its_order_id(gateway):
    billing = Billing(first_name="Ada", address1="888 Test Street", zip="77777")
    result = gateway.sale(
        amount=Decimal("25.00"),
        order_id="pay-1-a",
        card=card(cvv="999"),
        billing=billing,
        ip_address="203.0.113.7",
    )
    assert result.outcome == Outcome.APPROVED
    assert (result.response_code, result.response_text) == ("100", "SUCCESS")
    assert result.transaction_id
    assert result.auth_code
    assert (result.avs_response, result.cvv_response) == ("Y", "M")
    assert (result.order_id, result.action_type) == ("pay-1-a", "sale")

    found = only(gateway.query(order_id="pay-1-a"))
    assert found.transaction_id == result.transaction_id
    assert found.transaction_type == "cc"
    assert found.condition == Condition.PENDING_SETTLEMENT
    assert found.masked_number == "4xxxxxxxxxxx1111"
    assert found.sale_approved
    assert found.actions[0].amount == Decimal("25.00")
    assert only(gateway.query(transaction_id=result.transaction_id)).order_id == "pay-1-a"


def test_avs_and_cvv_do_not_match_without_the_demo_triggers(gateway):
    result = gateway.sale(
        amount=Decimal("3.00"), order_id="o", card=card(), billing=Billing(zip="10001")
    )
    assert result.approved
    assert (result.avs_response, result.cvv_response) == ("N", "N")


@pytest.mark.parametrize(
    ("number", "cvv"),
    [
        ("4111111111111111", "123"),  # Visa
        ("5431111111111111", "123"),  # Mastercard
        ("6011000991300009", "123"),  # Discover
        ("341111111111111", "1234"),  # American Express
        ("30205252489926", "123"),  # Diners
        ("3541963594572595", "123"),  # JCB
    ],
)
def test_nmi_test_cards_are_approved(gateway, number, cvv):
    result = gateway.sale(amount=Decimal("10.00"), order_id="o", card=card(number, cvv))
    assert result.outcome == Outcome.APPROVED


@pytest.mark.parametrize(
    ("number", "outcome", "code", "text", "cvv_response"),
    [
        ("4000000000000002", Outcome.DECLINED, "200", "DECLINE", "N"),
        ("4000000000009995", Outcome.DECLINED, "202", "Insufficient funds", "N"),
        ("4000000000000069", Outcome.DECLINED, "223", "Expired card", "N"),
        ("4000000000000127", Outcome.DECLINED, "225", "Invalid card security code", "N"),
        ("4000000000000119", Outcome.ERROR, "400", "Processor error", "N"),
    ],
)
def test_card_triggers(gateway, number, outcome, code, text, cvv_response):
    result = gateway.sale(amount=Decimal("10.00"), order_id="t", card=card(number, cvv="999"))
    assert result.outcome == outcome
    assert (result.response_code, result.response_text) == (code, text)
    if number == "4000000000000127":
        assert result.cvv_response == "N"  # even with the CVV that matches elsewhere
    assert result.protocol_answer
    assert not result.needs_lookup
    # The attempt was recorded and failed: a look-up tells the same story.
    found = only(gateway.query(order_id="t"))
    assert found.condition == Condition.FAILED
    assert not found.sale_approved


def test_an_amount_below_one_dollar_declines(gateway):
    result = gateway.sale(amount=Decimal("0.99"), order_id="o", card=card())
    assert result.outcome == Outcome.DECLINED
    assert (result.response_code, result.response_text) == ("200", "DECLINE")
    assert gateway.sale(amount=Decimal("1.00"), order_id="o2", card=card()).approved


@pytest.mark.parametrize(
    ("bad_card", "text"),
    [
        (card("4111111111111112"), "Invalid Credit Card Number"),  # Luhn
        (card("1234567812345670"), "Unsupported card type"),  # Luhn-valid, no brand
        (card(year=2020), "Credit card expiration date is in the past"),
        (card(cvv="12"), "Invalid card security code"),
        (card("341111111111111", cvv="123"), "Invalid card security code"),  # Amex takes 4
    ],
)
def test_card_checks_refuse_bad_data_without_recording_a_transaction(gateway, bad_card, text):
    result = gateway.sale(amount=Decimal("10.00"), order_id="bad", card=bad_card)
    assert result.outcome == Outcome.ERROR
    assert result.response_text.startswith(text + " REFID:")
    assert result.transaction_id == ""
    assert gateway.query(order_id="bad") == []


def test_validate_checks_a_card_without_charging(gateway):
    result = gateway.validate(card=card(), order_id="v-1")
    assert result.approved
    assert result.action_type == "validate"
    found = only(gateway.query(order_id="v-1"))
    assert [a.action_type for a in found.actions] == ["validate"]
    assert found.actions[0].amount == 0
    declined = gateway.validate(card=card("4000000000000002"), order_id="v-2")
    assert declined.outcome == Outcome.DECLINED


# --- eChecks --------------------------------------------------------------------------------------


def test_an_echeck_waits_for_settlement_then_completes(gateway, sandbox_gateway):
    result = gateway.sale(amount=Decimal("50.00"), order_id="ck-1", bank_account=account())
    assert result.outcome == Outcome.APPROVED
    assert result.avs_response == result.cvv_response == ""
    pending = only(gateway.query(order_id="ck-1"))
    assert pending.transaction_type == "ck"
    assert pending.condition == Condition.PENDING_SETTLEMENT
    assert pending.masked_number == "xxxx3815"

    assert sandbox_gateway.settle(result.transaction_id) == {
        "settled": [result.transaction_id],
        "returned": [],
    }
    settled = only(gateway.query(order_id="ck-1"))
    assert settled.condition == Condition.COMPLETE
    assert [a.action_type for a in settled.actions] == ["sale", "settle"]
    assert settled.return_code == ""


@pytest.mark.parametrize(("number", "code"), [("1000000001", "R01"), ("1000000002", "R02")])
def test_a_returned_echeck_fails_at_settlement_with_its_r_code(
    gateway, sandbox_gateway, number, code
):
    result = gateway.sale(amount=Decimal("75.00"), order_id="ck-r", bank_account=account(number))
    assert result.outcome == Outcome.APPROVED  # provisional, as for every eCheck
    assert sandbox_gateway.settle()["returned"] == [result.transaction_id]
    found = only(gateway.query(order_id="ck-r"))
    assert found.condition == Condition.FAILED
    assert [a.action_type for a in found.actions] == ["sale", "settle", "check_return"]
    assert found.return_code == code
    assert found.sale_approved


def test_a_late_return_after_settlement(gateway, sandbox_gateway):
    result = gateway.sale(amount=Decimal("80.00"), order_id="ck-late", bank_account=account())
    assert sandbox_gateway.settle()["returned"] == []
    assert only(gateway.query(order_id="ck-late")).condition == Condition.COMPLETE
    assert sandbox_gateway.return_check(result.transaction_id, "R10") == {
        "returned": [result.transaction_id]
    }
    found = only(gateway.query(order_id="ck-late"))
    assert found.condition == Condition.FAILED
    assert [a.action_type for a in found.actions] == ["sale", "settle", "check_return"]
    assert found.return_code == "R10"


def test_only_a_settled_echeck_can_be_returned(gateway, sandbox_gateway):
    import httpx

    pending = gateway.sale(amount=Decimal("81.00"), order_id="ck-p", bank_account=account())
    with pytest.raises(httpx.HTTPStatusError) as refused:
        sandbox_gateway.return_check(pending.transaction_id)
    assert refused.value.response.status_code == 409


def test_a_failed_echeck_account_declines(gateway):
    result = gateway.sale(amount=Decimal("5.00"), order_id="o", bank_account=account("1000000003"))
    assert result.outcome == Outcome.DECLINED
    assert (result.response_code, result.response_text) == ("200", "FAILED")


def test_the_sec_code_follows_the_account_holder(gateway, sandbox_gateway):
    business = account(holder=AccountHolderType.BUSINESS)
    gateway.sale(amount=Decimal("5.00"), order_id="biz", bank_account=business)
    gateway.sale(amount=Decimal("6.00"), order_id="per", bank_account=account())
    assert "<sec_code>CCD</sec_code>" in sandbox_gateway.query_xml(order_id="biz")
    assert "<account_holder_type>business</account_holder_type>" in sandbox_gateway.query_xml(
        order_id="biz"
    )
    assert "<sec_code>WEB</sec_code>" in sandbox_gateway.query_xml(order_id="per")


def test_an_invalid_routing_number_is_refused(gateway):
    bad = BankAccount(
        routing_number="490000017",
        account_number="24413815",
        name_on_account="Ada",
        holder_type=AccountHolderType.PERSONAL,
        account_type=AccountType.CHECKING,
    )
    result = gateway.sale(amount=Decimal("5.00"), order_id="o", bank_account=bad)
    assert result.outcome == Outcome.ERROR
    assert result.response_text.startswith("Invalid ABA number")


# --- Customer Vault -------------------------------------------------------------------------------


def test_vault_add_then_sale_by_vault_id_then_delete(gateway):
    added = gateway.vault_add(card=card(), billing=Billing(first_name="Ada", zip="10001"))
    assert added.outcome == Outcome.APPROVED
    assert added.response_text == "Customer Added"
    vault_id = added.customer_vault_id
    assert vault_id

    sale = gateway.sale(amount=Decimal("20.00"), order_id="v-sale", vault_id=vault_id)
    assert sale.approved
    assert sale.customer_vault_id == vault_id
    found = only(gateway.query(order_id="v-sale"))
    assert found.customer_vault_id == vault_id
    assert found.masked_number == "4xxxxxxxxxxx1111"

    updated = gateway.vault_update(vault_id=vault_id, billing=Billing(last_name="Lovelace"))
    assert (updated.outcome, updated.response_text) == (
        Outcome.APPROVED,
        "Customer Update Successful",
    )

    deleted = gateway.vault_delete(vault_id=vault_id)
    assert (deleted.outcome, deleted.response_text) == (Outcome.APPROVED, "Customer Deleted")
    gone = gateway.sale(amount=Decimal("21.00"), order_id="v-gone", vault_id=vault_id)
    assert gone.outcome == Outcome.ERROR
    assert gone.response_text.startswith("Invalid Customer Vault ID specified REFID:")
    assert gone.customer_vault_id == vault_id  # echoed, as NMI does
    assert gateway.vault_delete(vault_id=vault_id).outcome == Outcome.ERROR


def test_a_vaulted_method_remembers_its_trigger(gateway):
    vault_id = gateway.vault_add(card=card("4000000000009995")).customer_vault_id
    result = gateway.sale(amount=Decimal("20.00"), order_id="o", vault_id=vault_id)
    assert (result.outcome, result.response_code) == (Outcome.DECLINED, "202")

    check_id = gateway.vault_add(bank_account=account("1000000001")).customer_vault_id
    assert gateway.sale(amount=Decimal("30.00"), order_id="ck", vault_id=check_id).approved


def test_saving_with_a_sale_keeps_the_method_only_when_approved(gateway):
    saved = gateway.sale(amount=Decimal("15.00"), order_id="s-1", card=card(), save_to_vault=True)
    assert saved.approved
    assert saved.customer_vault_id
    again = gateway.sale(amount=Decimal("16.00"), order_id="s-2", vault_id=saved.customer_vault_id)
    assert again.approved

    declined = gateway.sale(
        amount=Decimal("15.00"), order_id="s-3", card=card("4000000000000002"), save_to_vault=True
    )
    assert declined.outcome == Outcome.DECLINED
    assert declined.customer_vault_id == ""


# --- Void, refund ---------------------------------------------------------------------------------


def test_void_before_settlement(gateway, sandbox_gateway):
    sale = gateway.sale(amount=Decimal("40.00"), order_id="vd", card=card())
    voided = gateway.void(transaction_id=sale.transaction_id, kind=PaymentKind.CARD)
    assert (voided.outcome, voided.response_text) == (
        Outcome.APPROVED,
        "Transaction Void Successful",
    )
    found = only(gateway.query(order_id="vd"))
    assert found.condition == Condition.CANCELED
    assert found.last_action("void") is not None
    assert sandbox_gateway.settle() == {"settled": [], "returned": []}


def test_void_after_settlement_is_refused(gateway, sandbox_gateway):
    sale = gateway.sale(amount=Decimal("40.00"), order_id="vd", card=card())
    sandbox_gateway.settle(sale.transaction_id)
    voided = gateway.void(transaction_id=sale.transaction_id, kind=PaymentKind.CARD)
    assert voided.outcome == Outcome.ERROR
    assert voided.response_text.startswith("Only transactions pending settlement can be voided")


def test_an_echeck_is_voided_with_payment_check(gateway):
    sale = gateway.sale(amount=Decimal("40.00"), order_id="ck", bank_account=account())
    as_card = gateway.void(transaction_id=sale.transaction_id, kind=PaymentKind.CARD)
    assert as_card.response_text.startswith("Invalid Transaction ID specified")
    assert gateway.void(transaction_id=sale.transaction_id, kind=PaymentKind.ECHECK).approved


def test_refunds_before_and_after_settlement_up_to_the_balance(gateway, sandbox_gateway):
    sale = gateway.sale(amount=Decimal("100.00"), order_id="rf", card=card())
    # NMI refunds "a previously settled or pending settlement transaction".
    early = gateway.refund(
        transaction_id=sale.transaction_id, kind=PaymentKind.CARD, amount=Decimal("10.00")
    )
    assert early.approved
    sandbox_gateway.settle(sale.transaction_id)

    partial = gateway.refund(
        transaction_id=sale.transaction_id,
        kind=PaymentKind.CARD,
        amount=Decimal("30.00"),
        order_id="rf-r1",
    )
    assert partial.approved
    assert partial.transaction_id not in ("", sale.transaction_id)
    refund = only(gateway.query(order_id="rf-r1"))
    assert [(a.action_type, a.amount) for a in refund.actions] == [("refund", Decimal("30.00"))]

    too_much = gateway.refund(
        transaction_id=sale.transaction_id, kind=PaymentKind.CARD, amount=Decimal("60.01")
    )
    assert too_much.outcome == Outcome.ERROR
    assert too_much.response_text.startswith(
        "Refund amount may not exceed the transaction balance REFID:"
    )
    rest = gateway.refund(transaction_id=sale.transaction_id, kind=PaymentKind.CARD)
    assert rest.approved
    assert gateway.refund(transaction_id=sale.transaction_id, kind=PaymentKind.CARD).outcome == (
        Outcome.ERROR
    )


def test_an_unknown_transaction_cannot_be_voided(gateway):
    result = gateway.void(transaction_id="999", kind=PaymentKind.CARD)
    assert result.outcome == Outcome.ERROR
    assert result.response_text.startswith("Invalid Transaction ID specified REFID:")


# --- Duplicates -----------------------------------------------------------------------------------


def test_the_same_amount_and_card_twice_is_a_duplicate(gateway):
    first = gateway.sale(amount=Decimal("42.00"), order_id="d-1", card=card())
    second = gateway.sale(amount=Decimal("42.00"), order_id="d-2", card=card())
    assert first.approved
    assert second.outcome == Outcome.ERROR
    assert re.fullmatch(r"Duplicate transaction REFID:\d+", second.response_text)
    assert second.response_code == "300"
    assert second.is_duplicate
    assert second.needs_lookup
    assert gateway.query(order_id="d-2") == []
    # Another amount, or another card, is not a duplicate.
    assert gateway.sale(amount=Decimal("42.01"), order_id="d-3", card=card()).approved
    assert gateway.sale(
        amount=Decimal("42.00"), order_id="d-4", card=card("5431111111111111")
    ).approved


def test_a_declined_attempt_does_not_block_the_retry(gateway):
    gateway.sale(amount=Decimal("0.50"), order_id="d-1", card=card())
    assert gateway.sale(amount=Decimal("0.50"), order_id="d-2", card=card()).outcome == (
        Outcome.DECLINED
    )


def test_dup_seconds_zero_turns_the_check_off(sandbox_gateway, gateway):
    lenient = NmiGateway(sandbox_gateway.url, sandbox_gateway.security_key, dup_seconds=0)
    assert lenient.sale(amount=Decimal("9.00"), order_id="a", card=card()).approved
    assert lenient.sale(amount=Decimal("9.00"), order_id="b", card=card()).approved


def test_the_same_vaulted_method_twice_is_a_duplicate(gateway):
    vault_id = gateway.vault_add(bank_account=account()).customer_vault_id
    assert gateway.sale(amount=Decimal("8.00"), order_id="a", vault_id=vault_id).approved
    assert gateway.sale(amount=Decimal("8.00"), order_id="b", vault_id=vault_id).is_duplicate


# --- Keys -----------------------------------------------------------------------------------------


def test_a_wrong_key_is_refused(sandbox_gateway, gateway):
    wrong = NmiGateway(sandbox_gateway.url, "not-the-key")
    result = wrong.sale(amount=Decimal("5.00"), order_id="k", card=card())
    assert result.outcome == Outcome.ERROR
    assert result.response_text == "Authentication Failed"
    with pytest.raises(GatewayLookupError, match="Authentication Failed"):
        wrong.query(order_id="k")


def test_nmis_public_demo_key_works(sandbox_gateway, gateway):
    demo = NmiGateway(sandbox_gateway.url, "6457Thfj624V5r7WUwc5v6a68Zsd6YEm")
    assert demo.sale(amount=Decimal("5.00"), order_id="k", card=card()).approved


# --- Faults ---------------------------------------------------------------------------------------


@pytest.fixture
def impatient(sandbox_gateway, gateway):
    """A client that gives up after 0.3 s (the sandbox's timeout fault waits 1 s)."""
    return NmiGateway(
        sandbox_gateway.url, sandbox_gateway.security_key, connect_timeout=1, read_timeout=0.3
    )


def test_a_timeout_is_unknown_and_the_sale_can_be_found(sandbox_gateway, impatient):
    sandbox_gateway.set_fault("timeout", delay=1.0)
    result = impatient.sale(amount=Decimal("60.00"), order_id="slow", card=card())
    assert result.outcome == Outcome.UNKNOWN
    assert result.needs_lookup
    found = only(impatient.query(order_id="slow"))
    assert found.sale_approved  # the gateway charged; only the answer was lost


def test_a_dropped_connection_is_unknown_and_the_sale_can_be_found(sandbox_gateway, gateway):
    sandbox_gateway.set_fault("drop_after_approve")
    result = gateway.sale(amount=Decimal("61.00"), order_id="drop", card=card())
    assert result.outcome == Outcome.UNKNOWN
    assert only(gateway.query(order_id="drop")).sale_approved
    # The fault applied once; the next request is answered on a fresh connection.
    assert gateway.sale(amount=Decimal("62.00"), order_id="next", card=card()).approved


@pytest.mark.parametrize("mode", ["http_500", "garbage"])
def test_http_500_and_garbage_are_errors_without_a_protocol_answer(sandbox_gateway, gateway, mode):
    sandbox_gateway.set_fault(mode)
    result = gateway.sale(amount=Decimal("63.00"), order_id="bad", card=card())
    assert result.outcome == Outcome.ERROR
    assert not result.protocol_answer
    assert result.needs_lookup
    assert gateway.query(order_id="bad") == []  # these faults process nothing


def test_a_fault_applies_to_count_requests_then_stops(sandbox_gateway, gateway):
    sandbox_gateway.set_fault("http_500", count=2)
    outcomes = [
        gateway.sale(amount=Decimal(f"{70 + i}.00"), order_id=f"c{i}", card=card()).outcome
        for i in range(3)
    ]
    assert outcomes == [Outcome.ERROR, Outcome.ERROR, Outcome.APPROVED]


def test_reset_clears_a_pending_fault(sandbox_gateway, gateway):
    sandbox_gateway.set_fault("garbage", count=5)
    sandbox_gateway.reset()
    assert gateway.sale(amount=Decimal("5.00"), order_id="o", card=card()).approved


def test_a_refused_connection_is_an_error_with_nothing_sent(gateway):
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    closed = NmiGateway(f"http://127.0.0.1:{port}", "k", connect_timeout=1, read_timeout=1)
    result = closed.sale(amount=Decimal("5.00"), order_id="o", card=card())
    assert result.outcome == Outcome.ERROR
    assert not result.request_sent
    assert not result.needs_lookup
    with pytest.raises(GatewayLookupError):
        closed.query(order_id="o")


def test_one_connection_is_reused_across_calls(sandbox_gateway, gateway):
    with httpx.Client() as client:
        own = NmiGateway(sandbox_gateway.url, sandbox_gateway.security_key, client=client)
        for i in range(5):
            assert own.sale(amount=Decimal(f"{80 + i}.00"), order_id=f"r{i}", card=card()).approved
        assert len(client._transport._pool.connections) == 1


def test_concurrent_identical_sales_are_approved_once(sandbox_gateway, gateway):
    def attempt(i: int):
        with httpx.Client() as client:
            own = NmiGateway(sandbox_gateway.url, sandbox_gateway.security_key, client=client)
            return own.sale(amount=Decimal("99.00"), order_id=f"race-{i}", card=card())

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(attempt, range(8)))
    assert sum(r.approved for r in results) == 1
    assert sum(r.is_duplicate for r in results) == 7
