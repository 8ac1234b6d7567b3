"""The sandbox's hosted fields: tokens (in-process, with a clock the tests move) and the HTTP side
the page and iframes use (over HTTP, against the sandbox process)."""

from datetime import UTC, datetime

import httpx
import pytest

from sandbox_gateway import hosted
from sandbox_gateway.engine import DEMO_SECURITY_KEY, Sandbox

START = datetime(2026, 3, 10, 12, 0, tzinfo=UTC).timestamp()
OTHER_KEY = "another-merchants-security-key"


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def sandbox(tmp_path, clock):
    sandbox = Sandbox(str(tmp_path / "sandbox.sqlite3"), security_keys=(OTHER_KEY,), clock=clock)
    yield sandbox
    sandbox.close()


def tokenize(sandbox, fields, security_key=DEMO_SECURITY_KEY) -> dict:
    key = hosted.tokenization_key_for(security_key)
    session = "s" * 32
    for name, value in fields.items():
        sandbox.hosted.save_field(key, session, name, value)
    kind = "check" if "checkaccount" in fields else "card"
    return sandbox.hosted.create_token(key, session, kind)


def card_token(sandbox, number="4111111111111111", **kwargs) -> str:
    return tokenize(sandbox, {"ccnumber": number, "ccexp": "12/29", "cvv": "123"}, **kwargs)[
        "token"
    ]


def sale(sandbox, token, security_key=DEMO_SECURITY_KEY, **fields) -> dict:
    form = {"security_key": security_key, "type": "sale", "amount": "10.00"}
    return sandbox.transact(form | {"payment_token": token} | fields)


class TestTokens:
    def test_a_token_pays_once(self, sandbox):
        token = card_token(sandbox)
        first = sale(sandbox, token, orderid="o-1")
        assert (first["response"], first["responsetext"]) == ("1", "SUCCESS")
        second = sale(sandbox, token, orderid="o-2")
        assert second["response"] == "3"
        assert second["responsetext"].startswith("Invalid Payment Token REFID:")

    def test_a_declined_sale_uses_the_token_up_too(self, sandbox):
        token = card_token(sandbox, "4000000000000002")
        assert sale(sandbox, token)["response"] == "2"
        assert sale(sandbox, token)["responsetext"].startswith("Invalid Payment Token")

    def test_a_token_of_another_tokenization_key_is_refused_and_left_alone(self, sandbox):
        theirs = card_token(sandbox, security_key=OTHER_KEY)
        assert sale(sandbox, theirs)["responsetext"].startswith("Invalid Payment Token")
        assert sale(sandbox, theirs, security_key=OTHER_KEY)["response"] == "1"

    def test_a_token_expires_after_24_hours(self, sandbox, clock):
        kept, late = card_token(sandbox), card_token(sandbox, "5431111111111111")
        clock.now += 24 * 3600 - 1
        assert sale(sandbox, kept)["response"] == "1"
        clock.now += 2
        assert sale(sandbox, late)["responsetext"].startswith("Invalid Payment Token")

    def test_an_unknown_token_is_refused(self, sandbox):
        assert sale(sandbox, "abcdefgh-123456-123456-123456789012")["response"] == "3"

    def test_a_token_saves_the_method_in_the_vault(self, sandbox):
        answer = sale(sandbox, card_token(sandbox), customer_vault="add_customer")
        assert answer["customer_vault_id"]
        report = sandbox.query(
            {"security_key": DEMO_SECURITY_KEY, "transaction_id": answer["transactionid"]}
        ).decode()
        assert "<cc_number>4xxxxxxxxxxx1111</cc_number>" in report
        assert "<cc_exp>1229</cc_exp>" in report
        assert "<cc_type>visa</cc_type>" in report

    def test_a_check_token_is_an_echeck(self, sandbox):
        fields = {"checkname": "Nancy", "checkaccount": "24413815", "checkaba": "490000018"}
        answer = tokenize(sandbox, fields)
        assert answer["check"] == {
            "name": "Nancy",
            "account": "****3815",
            "aba": "490000018",
            "hash": answer["check"]["hash"],
        }
        assert answer["card"]["number"] is None
        paid = sale(sandbox, answer["token"], account_type="savings", sec_code="WEB")
        assert paid["response"] == "1"
        report = sandbox.query(
            {"security_key": DEMO_SECURITY_KEY, "transaction_id": paid["transactionid"]}
        ).decode()
        assert "<transaction_type>ck</transaction_type>" in report
        assert "<account_type>savings</account_type>" in report


class TestTheResponse:
    @pytest.mark.parametrize(
        ("number", "brand", "category"),
        [
            ("4111111111111111", "visa", "credit"),
            ("4000056655665556", "visa", "debit"),
            ("5555555555554444", "mastercard", "debit"),
            ("4035874000000009", "visa", "prepaid"),
            ("5111111111111118", "mastercard", "prepaid"),
            ("3530111333300000", "jcb", "unknown"),
        ],
    )
    def test_masked_card_with_its_bin_category(self, sandbox, number, brand, category):
        answer = tokenize(sandbox, {"ccnumber": number, "ccexp": "0130", "cvv": "123"})
        assert answer["tokenType"] == "inline"
        card = answer["card"]
        assert card["number"] == number[:6] + "******" + number[-4:]
        assert (card["bin"], card["exp"], card["type"], card["category"]) == (
            number[:6],
            "0130",
            brand,
            category,
        )
        assert number not in str(answer)

    @pytest.mark.parametrize(
        ("name", "value", "message"),
        [
            ("ccnumber", "4111111111111112", "Card number is invalid"),
            ("ccnumber", "", "Card number is required"),
            ("ccexp", "13/29", "Expiration date must be MM/YY"),
            ("ccexp", "01/25", "Card is expired"),
            ("cvv", "12", "Security code must be 3 or 4 digits"),
            ("checkaba", "490000017", "Routing number is invalid"),
            ("checkaccount", "12", "Account number must be 4 to 17 digits"),
        ],
    )
    def test_a_bad_field_gets_its_message(self, sandbox, name, value, message):
        with pytest.raises(hosted.FieldError) as error:
            sandbox.hosted.save_field(
                hosted.tokenization_key_for(DEMO_SECURITY_KEY), "s" * 32, name, value
            )
        assert error.value.message == message

    def test_an_amex_needs_four_digits(self, sandbox):
        with pytest.raises(hosted.FieldError) as error:
            tokenize(sandbox, {"ccnumber": "341111111111111", "ccexp": "1229", "cvv": "123"})
        assert (error.value.field_name, error.value.message) == (
            "cvv",
            "Security code must be 4 digits",
        )

    def test_an_unknown_tokenization_key_makes_nothing(self, sandbox):
        with pytest.raises(hosted.FieldError):
            sandbox.hosted.save_field("nope", "s" * 32, "ccnumber", "4111111111111111")


def test_tokenization_keys_are_per_security_key_and_in_nmis_shape():
    one, two = hosted.tokenization_key_for("a"), hosted.tokenization_key_for("b")
    assert one != two
    assert [len(part) for part in one.split("-")] == [6, 6, 6, 6]
    assert hosted.tokenization_key_for("a") == one


class TestOverHttp:
    def test_collect_js_and_the_field_page(self, sandbox_gateway):
        script = httpx.get(f"{sandbox_gateway.url}/token/Collect.js")
        assert script.status_code == 200
        assert script.headers["content-type"].startswith("application/javascript")
        assert "window.CollectJS" in script.text
        page = httpx.get(
            f"{sandbox_gateway.url}/token/inline.php",
            params={"field": "ccnumber", "parent": "http://portal.example:8000", "title": "<b>"},
        )
        assert page.status_code == 200
        csp = page.headers["content-security-policy"]
        assert "script-src 'self'" in csp
        assert "unsafe" not in csp
        assert 'data-parent="http://portal.example:8000"' in page.text
        assert 'aria-label="&lt;b&gt;"' in page.text  # the title is escaped

    def test_the_field_page_needs_a_parent_origin(self, sandbox_gateway):
        page = httpx.get(f"{sandbox_gateway.url}/token/inline.php", params={"field": "ccnumber"})
        assert page.status_code == 400

    def test_the_token_answer_is_readable_by_the_page_origin_only(self, sandbox_gateway):
        sandbox_gateway.reset()
        origin = "http://portal.example:8000"
        answer = httpx.post(
            f"{sandbox_gateway.url}/token/api/create",
            data={"key": sandbox_gateway.tokenization_key, "session": "x" * 32},
            headers={"Origin": origin},
        )
        assert answer.headers["access-control-allow-origin"] == origin
        assert answer.json()["error"]["field"] == "ccnumber"  # nothing was typed

    def test_card_numbers_never_reach_the_sandboxs_file_or_log(self, sandbox_gateway):
        sandbox_gateway.reset()
        number = "5431111111111111"
        token = sandbox_gateway.card_token(number, cvv="737")
        assert (
            sandbox_gateway.transact(type="sale", amount="3.00", payment_token=token)["response"]
            == "1"
        )
        stored = b"".join(
            path.read_bytes() for path in sandbox_gateway.db_path.parent.glob("*sqlite3*")
        )
        assert number.encode() not in stored
        assert number not in sandbox_gateway.log_tail(1000)
