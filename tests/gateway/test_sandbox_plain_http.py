"""The sandbox driven with plain form posts exactly as NMI documents them: httpx and the standard
library on the client side, no Remit code. Only the `sandbox_gateway` fixture (which starts the
process) comes from Remit's test support."""

from datetime import UTC, datetime
from urllib.parse import parse_qs

import httpx
import pytest
from defusedxml import ElementTree

DEMO_KEY = "6457Thfj624V5r7WUwc5v6a68Zsd6YEm"
EXPIRY = f"10{(datetime.now(UTC).year + 2) % 100:02d}"
DOCUMENTED_ORDER = [
    "response",
    "responsetext",
    "authcode",
    "transactionid",
    "avsresponse",
    "cvvresponse",
    "orderid",
    "type",
    "response_code",
]


@pytest.fixture
def http(sandbox_gateway):
    sandbox_gateway.reset()
    with httpx.Client(base_url=sandbox_gateway.url, timeout=5, trust_env=False) as client:
        yield client


def post(http, **fields) -> tuple[str, dict[str, str]]:
    response = http.post("/api/transact.php", data={"security_key": DEMO_KEY, **fields})
    assert response.status_code == 200
    parsed = parse_qs(response.text, keep_blank_values=True)
    return response.text, {name: values[0] for name, values in parsed.items()}


def names_in_order(body: str) -> list[str]:
    return [part.split("=", 1)[0] for part in body.split("&")]


def test_a_documented_sale_gets_the_documented_answer(http):
    body, answer = post(
        http,
        type="sale",
        amount="10.00",
        ccnumber="4111111111111111",
        ccexp=EXPIRY,
        cvv="999",
        orderid="1",
        first_name="John",
        address1="888 First St",
        zip="77777",
    )
    assert names_in_order(body) == DOCUMENTED_ORDER
    assert answer["response"] == "1"
    assert answer["responsetext"] == "SUCCESS"
    assert answer["response_code"] == "100"
    assert answer["authcode"] == "123456"
    assert answer["transactionid"].isdigit()
    assert (answer["avsresponse"], answer["cvvresponse"]) == ("Y", "M")
    assert (answer["orderid"], answer["type"]) == ("1", "sale")


def test_a_small_amount_declines_and_an_invalid_card_errors_with_raw_spaces(http):
    _, declined = post(http, type="sale", amount="0.50", ccnumber="4111111111111111", ccexp=EXPIRY)
    assert (declined["response"], declined["responsetext"], declined["response_code"]) == (
        "2",
        "DECLINE",
        "200",
    )
    body, invalid = post(
        http, type="sale", amount="1.00", ccnumber="4111111111111112", ccexp=EXPIRY
    )
    assert "responsetext=Invalid Credit Card Number REFID:" in body  # raw spaces, as NMI sends
    assert (invalid["response"], invalid["response_code"], invalid["transactionid"]) == (
        "3",
        "300",
        "",
    )


def test_a_wrong_or_missing_key_fails_authentication(http):
    for key in ("wrong", ""):
        response = http.post("/api/transact.php", data={"security_key": key, "type": "sale"})
        answer = parse_qs(response.text, keep_blank_values=True)
        assert answer["response"] == ["3"]
        assert answer["responsetext"] == ["Authentication Failed"]


def test_an_echeck_sale_as_documented(http):
    _, answer = post(
        http,
        type="sale",
        amount="12.00",
        payment="check",
        checkname="John Smith",
        checkaba="490000018",
        checkaccount="24413815",
        account_holder_type="personal",
        account_type="checking",
        sec_code="WEB",
        orderid="ck",
    )
    assert answer["response"] == "1"


def test_customer_vault_add_charge_and_delete(http):
    body, added = post(
        http, customer_vault="add_customer", ccnumber="4111111111111111", ccexp=EXPIRY
    )
    assert names_in_order(body) == [*DOCUMENTED_ORDER, "customer_vault_id"]
    assert (added["response"], added["responsetext"], added["type"]) == ("1", "Customer Added", "")
    vault_id = added["customer_vault_id"]
    _, sale = post(http, type="sale", customer_vault_id=vault_id, amount="5.00")
    assert sale["response"] == "1"
    _, chosen = post(
        http,
        customer_vault="add_customer",
        customer_vault_id="my-id-1",
        payment_token="00000000-000000-000000-000000000000",
    )
    assert chosen["customer_vault_id"] == "my-id-1"
    _, deleted = post(http, customer_vault="delete_customer", customer_vault_id=vault_id)
    assert (deleted["response"], deleted["responsetext"]) == ("1", "Customer Deleted")


def test_query_by_order_id_returns_the_documented_xml(http):
    _, sale = post(
        http, type="sale", amount="7.00", ccnumber="4111111111111111", ccexp=EXPIRY, orderid="q-1"
    )
    response = http.post("/api/query.php", data={"security_key": DEMO_KEY, "order_id": "q-1"})
    assert response.text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    root = ElementTree.fromstring(response.content)
    assert root.tag == "nm_response"
    (transaction,) = root.findall("transaction")
    assert transaction.findtext("transaction_id") == sale["transactionid"]
    assert transaction.findtext("condition") == "pendingsettlement"
    assert transaction.findtext("transaction_type") == "cc"
    assert transaction.findtext("cc_number") == "4xxxxxxxxxxx1111"
    (action,) = transaction.findall("action")
    assert action.findtext("action_type") == "sale"
    assert action.findtext("amount") == "7.00"
    assert action.findtext("success") == "1"
    assert len(action.findtext("date")) == 14

    refused = http.post("/api/query.php", data={"security_key": "nope", "order_id": "q-1"})
    assert ElementTree.fromstring(refused.content).findtext("error_response") == (
        "Authentication Failed"
    )


@pytest.mark.parametrize(
    ("mode", "expect"),
    [("http_500", 500), ("garbage", 200)],
)
def test_per_request_faults_in_merchant_defined_field_20(http, mode, expect):
    response = http.post(
        "/api/transact.php",
        data={"security_key": DEMO_KEY, "merchant_defined_field_20": f"sandbox_fault:{mode}"},
    )
    assert response.status_code == expect
    assert "response" not in parse_qs(response.text)  # no protocol answer


def test_per_request_drop_closes_the_connection_without_an_answer(http, sandbox_gateway):
    fields = {
        "security_key": DEMO_KEY,
        "type": "sale",
        "amount": "3.00",
        "ccnumber": "4111111111111111",
        "ccexp": EXPIRY,
        "orderid": "dropped",
        "merchant_defined_field_20": "sandbox_fault:drop_after_approve",
    }
    with pytest.raises(httpx.RemoteProtocolError):
        http.post("/api/transact.php", data=fields)
    xml = http.post("/api/query.php", data={"security_key": DEMO_KEY, "order_id": "dropped"})
    assert "<condition>pendingsettlement</condition>" in xml.text


def test_control_endpoints_need_the_key(http):
    assert http.get("/_sandbox/health").json()["status"] == "ok"
    for path in ("/_sandbox/fault", "/_sandbox/settle", "/_sandbox/reset"):
        assert http.post(path, data={"mode": "none"}).status_code == 403
    assert (
        http.post("/_sandbox/fault", data={"security_key": DEMO_KEY, "mode": "x"}).status_code
        == 400
    )


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("GET", "/api/transact.php", None, 405),
        ("POST", "/nowhere", b"", 404),
        ("POST", "/api/transact.php", b"\xff\xfe\x00%%%&&==", 200),
        ("POST", "/api/query.php", b"\x00\x01", 200),
    ],
)
def test_odd_requests_never_get_a_stack_trace(http, method, path, body, status):
    response = http.request(method, path, content=body)
    assert response.status_code == status
    assert "Traceback" not in response.text
    assert 'File "' not in response.text


def report(http, **filters) -> ElementTree:
    response = http.post("/api/query.php", data={"security_key": DEMO_KEY, **filters})
    return ElementTree.fromstring(response.content)


CARD = {"ccnumber": "4111111111111111", "ccexp": EXPIRY}


def test_legacy_field_names_are_read_as_the_current_ones(http):
    post(
        http,
        type="sale",
        amount="3.00",
        orderid="legacy-1",
        firstname="Longbob",
        lastname="Longsen",
        orderdescription="Store purchase",
        **CARD,
    )
    row = report(http, order_id="legacy-1").find("transaction")
    assert [row.findtext(n) for n in ("first_name", "last_name", "order_description")] == [
        "Longbob",
        "Longsen",
        "Store purchase",
    ]


def test_an_unsettled_sale_is_refunded_up_to_its_balance_and_all_of_it_settles(
    http, sandbox_gateway
):
    _, sale = post(http, type="sale", amount="50.00", orderid="rf-early", **CARD)
    sale_id = sale["transactionid"]
    _, part = post(http, type="refund", transactionid=sale_id, amount="20.00")
    assert (part["response"], part["responsetext"], part["type"]) == ("1", "SUCCESS", "refund")
    _, rest = post(http, type="refund", transactionid=sale_id, amount="0.00")  # = all that is left
    assert rest["response"] == "1"
    _, over = post(http, type="refund", transactionid=sale_id, amount="0.01")
    assert over["responsetext"].startswith("Refund amount may not exceed the transaction balance")
    assert over["transactionid"] == ""

    refunds = report(http, action_type="refund")
    assert sorted(t.findtext("action/amount") for t in refunds.iter("transaction")) == [
        "20.00",
        "30.00",
    ]
    sandbox_gateway.settle()
    conditions = {t.findtext("condition") for t in report(http, order_id="rf-early")}
    assert conditions == {"complete"}  # the sale and both refunds (which carry its order id)


def test_a_credit_gives_money_to_a_card_without_an_earlier_transaction(http, sandbox_gateway):
    _, credit = post(http, type="credit", amount="5.00", orderid="cr-1", **CARD)
    assert (credit["response"], credit["responsetext"], credit["authcode"]) == ("1", "SUCCESS", "")
    sandbox_gateway.settle()
    row = report(http, order_id="cr-1").find("transaction")
    assert row.findtext("condition") == "complete"
    assert [a.findtext("action_type") for a in row.iter("action")] == ["credit", "settle"]


def test_nmis_demo_username_and_password_authenticate_and_nothing_else_does(http):
    fields = {"type": "sale", "amount": "4.00", **CARD}
    demo = http.post(
        "/api/transact.php", data={"username": "demo", "password": "password", **fields}
    )
    assert parse_qs(demo.text)["response"] == ["1"]
    for username, password in (("demo", "wrong"), ("invalid", "no"), ("", "")):
        refused = http.post(
            "/api/transact.php", data={"username": username, "password": password, **fields}
        )
        assert parse_qs(refused.text)["responsetext"] == ["Authentication Failed"]
    query = http.post("/api/query.php", data={"username": "demo", "password": "password"})
    assert ElementTree.fromstring(query.content).find("error_response") is None
