"""The NMI client against recorded real answers, replayed with httpx.MockTransport (no network)."""

import logging
from decimal import Decimal
from urllib.parse import parse_qs

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
    StoredCredential,
)
from remit.gateway.nmi import NmiGateway, parse_answer, result_from_answer, shared_client
from tests.gateway import recorded

BASE = "https://gateway.example"
KEY = "s3cr3t-security-key"
CARD = Card(number="4111111111111111", exp_month=10, exp_year=2031, cvv="999")
PERSONAL = BankAccount(
    routing_number="490000018",
    account_number="24413815",
    name_on_account="Ada Lovelace",
    holder_type=AccountHolderType.PERSONAL,
    account_type=AccountType.CHECKING,
)
BUSINESS = BankAccount(
    routing_number="490000018",
    account_number="24413815",
    name_on_account="Analytical Engines LLC",
    holder_type=AccountHolderType.BUSINESS,
    account_type=AccountType.SAVINGS,
)


class Replay:
    """A transport answering every request with one recorded body (or raising)."""

    def __init__(self, body: str | bytes = "", status: int = 200, raises=None):
        self.body, self.status, self.raises = body, status, raises
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.raises is not None:
            raise self.raises("simulated", request=request)
        return httpx.Response(self.status, content=self.body)

    @property
    def form(self) -> dict[str, str]:
        fields = parse_qs(self.requests[-1].content.decode(), keep_blank_values=True)
        return {name: values[0] for name, values in fields.items()}


def gateway_for(replay: Replay, **options) -> NmiGateway:
    client = httpx.Client(transport=httpx.MockTransport(replay))
    options = {"connect_timeout": 1, "read_timeout": 2, "dup_seconds": 120, **options}
    return NmiGateway(BASE, KEY, client=client, **options)


def card_sale(gateway: NmiGateway, **kwargs):
    return gateway.sale(amount=Decimal("25.00"), order_id="pay-7-1", card=CARD, **kwargs)


# --- Recorded answers -----------------------------------------------------------------------------


def test_approved_answer():
    result = card_sale(gateway_for(Replay(recorded.APPROVED)))
    assert result.outcome == Outcome.APPROVED
    assert result.approved
    assert (result.response_code, result.response_text) == ("100", "SUCCESS")
    assert (result.transaction_id, result.auth_code) == ("2762757839", "123456")
    assert (result.avs_response, result.cvv_response) == ("N", "N")
    assert (result.order_id, result.action_type) == ("1", "sale")
    assert result.protocol_answer
    assert not result.needs_lookup


def test_declined_answer():
    result = card_sale(gateway_for(Replay(recorded.DECLINED)))
    assert result.outcome == Outcome.DECLINED
    assert (result.response_code, result.response_text) == ("200", "DECLINE")
    assert result.transaction_id == "987654321"
    assert not result.needs_lookup


def test_invalid_card_answer_is_an_error_with_its_raw_spaces_kept():
    result = card_sale(gateway_for(Replay(recorded.INVALID_CARD)))
    assert result.outcome == Outcome.ERROR
    assert result.response_code == "300"
    assert result.response_text == "Invalid Credit Card Number REFID:3502947912"
    assert result.protocol_answer
    assert not result.is_duplicate
    assert not result.needs_lookup


def test_duplicate_answer_means_go_and_look():
    result = card_sale(gateway_for(Replay(recorded.DUPLICATE)))
    assert result.outcome == Outcome.ERROR
    assert result.is_duplicate
    assert result.needs_lookup


def test_customer_added_answer_carries_the_vault_id():
    replay = Replay(recorded.CUSTOMER_ADDED)
    result = gateway_for(replay).vault_add(card=CARD, billing=Billing(first_name="Ada"))
    assert result.outcome == Outcome.APPROVED
    assert result.response_text == "Customer Added"
    assert result.customer_vault_id == "256806849"
    assert replay.form["customer_vault"] == "add_customer"
    assert "type" not in replay.form


def test_customer_deleted_answer_with_extra_fields():
    replay = Replay(recorded.CUSTOMER_DELETED)
    result = gateway_for(replay).vault_delete(vault_id="256806849")
    assert result.outcome == Outcome.APPROVED
    assert result.response_text == "Customer Deleted"
    assert result.raw["merchant_defined_field_6"] == ""
    assert replay.form == {
        "security_key": KEY,
        "customer_vault": "delete_customer",
        "customer_vault_id": "256806849",
    }


def test_void_answer():
    replay = Replay(recorded.VOIDED)
    result = gateway_for(replay).void(transaction_id="2762757839", kind=PaymentKind.CARD)
    assert result.outcome == Outcome.APPROVED
    assert result.response_text == "Transaction Void Successful"
    assert replay.form["type"] == "void"
    assert replay.form["transactionid"] == "2762757839"
    assert "payment" not in replay.form


def test_authentication_failed_is_an_error_answer():
    result = card_sale(gateway_for(Replay(recorded.AUTHENTICATION_FAILED)))
    assert result.outcome == Outcome.ERROR
    assert result.response_text == "Authentication Failed"
    assert result.protocol_answer


# --- What is sent ---------------------------------------------------------------------------------


def test_card_sale_sends_the_documented_fields():
    replay = Replay(recorded.APPROVED)
    billing = Billing(first_name="Ada", last_name="Lovelace", address1="888 Main", zip="77777")
    card_sale(gateway_for(replay), billing=billing, ip_address="203.0.113.9", description="INV-1")
    request = replay.requests[0]
    assert request.method == "POST"
    assert str(request.url) == f"{BASE}/api/transact.php"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    form = replay.form
    assert form["security_key"] == KEY
    assert form["type"] == "sale"
    assert form["amount"] == "25.00"
    assert form["currency"] == "USD"
    assert form["orderid"] == "pay-7-1"
    assert form["dup_seconds"] == "120"
    assert form["ipaddress"] == "203.0.113.9"
    assert form["order_description"] == "INV-1"
    assert (form["ccnumber"], form["ccexp"], form["cvv"]) == ("4111111111111111", "1031", "999")
    assert (form["first_name"], form["address1"], form["zip"]) == ("Ada", "888 Main", "77777")
    assert form["country"] == "US"
    assert "customer_vault" not in form
    assert "initiated_by" not in form  # a one-off card payment is not card-on-file
    assert "company" not in form  # empty fields are left out


@pytest.mark.parametrize(
    ("account", "sec_code", "holder", "kind"),
    [(PERSONAL, "WEB", "personal", "checking"), (BUSINESS, "CCD", "business", "savings")],
)
def test_echeck_sale_sends_sec_code_from_the_holder_type(account, sec_code, holder, kind):
    replay = Replay(recorded.APPROVED)
    gateway_for(replay).sale(amount=Decimal("10"), order_id="pay-1-1", bank_account=account)
    form = replay.form
    assert form["payment"] == "check"
    assert (form["checkaba"], form["checkaccount"]) == ("490000018", "24413815")
    assert form["checkname"] == account.name_on_account
    assert form["sec_code"] == sec_code
    assert form["account_holder_type"] == holder
    assert form["account_type"] == kind
    assert form["amount"] == "10.00"
    assert "ccnumber" not in form


def test_vaulted_charge_sends_stored_credential_fields():
    replay = Replay(recorded.APPROVED)
    gateway_for(replay).sale(
        amount=Decimal("12.5"),
        order_id="pay-2-1",
        vault_id="256806849",
        stored_credential=StoredCredential(
            initiated_by="merchant", indicator="used", initial_transaction_id="2762757839"
        ),
    )
    form = replay.form
    assert form["customer_vault_id"] == "256806849"
    assert form["initiated_by"] == "merchant"
    assert form["stored_credential_indicator"] == "used"
    assert form["initial_transaction_id"] == "2762757839"
    assert "ccnumber" not in form


def test_vaulted_charge_defaults_to_customer_initiated_use():
    replay = Replay(recorded.APPROVED)
    gateway_for(replay).sale(amount=Decimal("1"), order_id="o", vault_id="1")
    assert replay.form["initiated_by"] == "customer"
    assert replay.form["stored_credential_indicator"] == "used"


def test_saving_a_card_with_a_sale_adds_the_customer_as_first_stored_use():
    replay = Replay(recorded.APPROVED + "&customer_vault_id=1641772517")
    result = card_sale(gateway_for(replay), save_to_vault=True)
    assert replay.form["customer_vault"] == "add_customer"
    assert replay.form["type"] == "sale"
    assert replay.form["stored_credential_indicator"] == "stored"
    assert result.customer_vault_id == "1641772517"


def test_echeck_void_and_refund_say_payment_check():
    replay = Replay(recorded.VOIDED)
    gateway = gateway_for(replay)
    gateway.void(transaction_id="1", kind=PaymentKind.ECHECK)
    assert replay.form["payment"] == "check"
    gateway.refund(transaction_id="1", kind=PaymentKind.ECHECK, amount=Decimal("3.1"))
    assert (replay.form["type"], replay.form["amount"], replay.form["payment"]) == (
        "refund",
        "3.10",
        "check",
    )


def test_dup_seconds_zero_is_sent_to_turn_the_check_off():
    replay = Replay(recorded.APPROVED)
    card_sale(gateway_for(replay, dup_seconds=0))
    assert replay.form["dup_seconds"] == "0"


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"card": CARD, "vault_id": "1"}, {"card": CARD, "bank_account": PERSONAL}],
)
def test_a_sale_needs_exactly_one_payment_method(kwargs):
    replay = Replay(recorded.APPROVED)
    with pytest.raises(ValueError, match="exactly one"):
        gateway_for(replay).sale(amount=Decimal("1"), order_id="o", **kwargs)
    assert replay.requests == []


# --- No answer, or no protocol answer -------------------------------------------------------------


@pytest.mark.parametrize(
    "exception", [httpx.ReadTimeout, httpx.WriteTimeout, httpx.RemoteProtocolError, httpx.ReadError]
)
def test_a_lost_answer_is_unknown_never_declined(exception):
    result = card_sale(gateway_for(Replay(raises=exception)))
    assert result.outcome == Outcome.UNKNOWN
    assert result.order_id == "pay-7-1"
    assert result.response_code == ""
    assert result.request_sent
    assert result.needs_lookup


@pytest.mark.parametrize("exception", [httpx.ConnectError, httpx.ConnectTimeout])
def test_a_connection_that_never_opened_is_an_error_with_nothing_sent(exception):
    result = card_sale(gateway_for(Replay(raises=exception)))
    assert result.outcome == Outcome.ERROR
    assert not result.request_sent
    assert not result.protocol_answer
    assert not result.needs_lookup


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (500, "Internal Server Error"),
        (502, "<html>Bad Gateway</html>"),
        (200, ""),
        (200, "   \r\n"),
        (200, "<html><body>Service unavailable</body></html>"),
        (200, "response=7&responsetext=SUCCESS"),
        (200, b"\x1f\x8b\x00\xff\xfe"),
    ],
)
def test_no_protocol_answer_is_an_error_without_a_response_code(status, body):
    result = card_sale(gateway_for(Replay(body, status=status)))
    assert result.outcome == Outcome.ERROR
    assert result.response_code == ""
    assert not result.protocol_answer
    assert result.needs_lookup  # the request went out: whether money moved is not known
    assert result.raw["http_status"] == str(status)


# --- Lenient parsing ------------------------------------------------------------------------------


def test_fields_in_any_order_with_extra_and_missing_ones():
    body = "response_code=200&type=sale&response=2&responsetext=Do Not Honor&newfield=x"
    result = result_from_answer(parse_answer(body))
    assert result.outcome == Outcome.DECLINED
    assert (result.response_code, result.response_text) == ("200", "Do Not Honor")
    assert result.transaction_id == ""
    assert result.raw["newfield"] == "x"


def test_an_answer_without_response_code_still_counts_as_a_protocol_answer():
    result = result_from_answer(parse_answer("response=1&responsetext=Customer Deleted"))
    assert result.outcome == Outcome.APPROVED
    assert result.response_code == "100"
    assert result.protocol_answer
    assert "response_code" not in result.raw


def test_url_encoded_answers_and_stray_whitespace():
    body = "\r\n response=3&responsetext=Invalid+amount%20REFID%3A1&response_code=300 \n"
    fields = parse_answer(body)
    assert fields["response"] == "3"
    assert fields["responsetext"] == "Invalid amount REFID:1"
    assert fields["response_code"] == "300"


def test_a_raw_ampersand_inside_the_text_stays_in_the_text():
    fields = parse_answer("response=2&responsetext=AVS & CVV mismatch&response_code=200")
    assert fields["responsetext"] == "AVS & CVV mismatch"
    assert fields["response_code"] == "200"


def test_upper_case_names_and_repeated_fields():
    fields = parse_answer("RESPONSE=1&response=3&ResponseText=SUCCESS")
    assert fields == {"response": "1", "responsetext": "SUCCESS"}


# --- Masking and logging --------------------------------------------------------------------------


def test_raw_masks_anything_sensitive_the_gateway_echoes():
    body = (
        recorded.APPROVED
        + "&ccnumber=4111111111111111&cvv=999&checkaccount=24413815&checkaba=490000018"
        + f"&security_key={KEY}&merchant_defined_field_1=card 5431 1111 1111 1111"
    )
    result = card_sale(gateway_for(Replay(body)))
    raw = dict(result.raw)
    assert raw["ccnumber"] == "••••1111"
    assert raw["cvv"] == "•••"
    assert raw["checkaccount"] == "••••3815"
    assert raw["checkaba"] == "•••"
    assert raw["security_key"] == "•••"
    assert "5431" not in raw["merchant_defined_field_1"]
    assert raw["merchant_defined_field_1"].endswith("1111")
    flat = repr(result)
    for secret in ("4111111111111111", "24413815", "490000018", KEY):
        assert secret not in flat
    assert raw["transactionid"] == "2762757839"  # identifiers are kept


def test_raw_is_immutable():
    result = card_sale(gateway_for(Replay(recorded.APPROVED)))
    with pytest.raises(TypeError):
        result.raw["response"] = "2"  # type: ignore[index]


def test_nothing_sensitive_reaches_the_logs(caplog):
    caplog.set_level(logging.DEBUG)
    gateway = gateway_for(Replay(recorded.APPROVED))
    card_sale(gateway)
    gateway.sale(amount=Decimal("5"), order_id="pay-3-1", bank_account=PERSONAL)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "pay-7-1" in logged  # the client does log its calls...
    for secret in ("4111111111111111", "999", "24413815", "490000018", KEY):
        assert secret not in logged  # ...but never what it sent
    assert KEY not in repr(gateway)


# --- query.php ------------------------------------------------------------------------------------


def test_query_report_is_read_into_transactions_and_actions():
    replay = Replay(recorded.QUERY_REPORT)
    found = gateway_for(replay).query(order_id="pay-42-1")
    assert str(replay.requests[0].url) == f"{BASE}/api/query.php"
    assert replay.form == {"security_key": KEY, "order_id": "pay-42-1"}
    card, check = found
    assert card.transaction_id == "1176380853"
    assert card.order_id == "pay-42-1"
    assert card.transaction_type == "cc"
    assert card.condition == Condition.PENDING_SETTLEMENT
    assert card.auth_code == "123456"
    assert card.customer_vault_id == "279963267"
    assert card.masked_number == "4xxxxxxxxxxx1111"
    assert card.sale_approved
    (sale,) = card.actions
    assert (sale.action_type, sale.amount, sale.date, sale.success) == (
        "sale",
        Decimal("1.00"),
        "20100118171243",
        True,
    )
    assert check.condition == Condition.FAILED
    assert [a.action_type for a in check.actions] == ["sale", "settle", "check_return"]
    assert check.return_code == "R01"
    assert check.masked_number == "xxxxxx0001"


def test_query_with_nothing_found_is_an_empty_list():
    assert gateway_for(Replay(recorded.QUERY_EMPTY)).query(transaction_id="1") == []


def test_an_unknown_condition_is_read_as_unknown():
    xml = "<nm_response><transaction><condition>weird</condition></transaction></nm_response>"
    (found,) = gateway_for(Replay(xml)).query(order_id="x")
    assert found.condition == Condition.UNKNOWN
    assert found.actions == ()


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (recorded.QUERY_REFUSED, 200),
        ("<nm_response><transaction>", 200),
        ("response=3&responsetext=Authentication Failed", 200),
        ("<other/>", 200),
        ('<!DOCTYPE x [<!ENTITY a "aaaa">]><nm_response>&a;</nm_response>', 200),
        (recorded.QUERY_EMPTY, 500),
    ],
)
def test_unreadable_or_refused_queries_raise(body, status):
    with pytest.raises(GatewayLookupError):
        gateway_for(Replay(body, status=status)).query(order_id="x")


@pytest.mark.parametrize("exception", [httpx.ReadTimeout, httpx.ConnectError])
def test_a_query_without_answer_raises(exception):
    with pytest.raises(GatewayLookupError):
        gateway_for(Replay(raises=exception)).query(order_id="x")


# --- Connections ----------------------------------------------------------------------------------


def test_gateways_for_the_same_url_share_one_client():
    one = NmiGateway("https://a.example", "k1")
    two = NmiGateway("https://a.example/", "k2", read_timeout=3)
    other = NmiGateway("https://b.example", "k1")
    assert one._client is two._client is shared_client("https://a.example")
    assert other._client is not one._client


def test_timeouts_are_explicit_on_every_request():
    replay = Replay(recorded.APPROVED)
    card_sale(gateway_for(replay, connect_timeout=1.5, read_timeout=7))
    timeout = replay.requests[0].extensions["timeout"]
    assert timeout["connect"] == 1.5
    assert timeout["read"] == 7
