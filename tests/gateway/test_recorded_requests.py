"""Conformance, sandbox side: every request field set of `../shared/nmi-recorded/requests/`, as a
third-party NMI client sends it, posted to the running sandbox over HTTP; its answer must read as
the real gateway's did (`expected_real`): `response`, `response_code`, the shape of `responsetext`
(the recorded text, or its pattern with the `REFID:` number free) and the other recorded fields.

Requests that act on an existing transaction or vault record name the real gateway's ids; the
`GIVEN` table creates the same kind of object first (an auth, an unsettled sale, a settled sale, a
vault record) and the request is sent with its id in place of the recorded one.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qsl

import httpx
import pytest

from sandbox_gateway.protocol import DEMO_SECURITY_KEY
from tests.gateway import nmi_recorded as corpus

corpus.require_corpus()

CARD = {"ccnumber": "4111111111111111", "ccexp": corpus.future_ccexp("1228"), "cvv": "123"}
CHECK = {
    "payment": "check",
    "checkname": "Test Person",
    "checkaba": "655060042",
    "checkaccount": "1234567890",
}


class Sandbox:
    def __init__(self, process) -> None:
        self.process = process

    def post(self, fields: dict[str, str]) -> dict[str, str | None]:
        """transact.php over HTTP; the answer's fields as sent (absent ones absent)."""
        body = httpx.post(self.process.url + "/api/transact.php", data=fields, timeout=10).text
        return dict(parse_qsl(body, keep_blank_values=True))

    def transact(self, **fields: str) -> dict[str, str | None]:
        answer = self.post({"security_key": DEMO_SECURITY_KEY, **fields})
        assert answer["response"] == "1", answer
        return answer


def sale(amount: str, *, settled: bool = False, payment: dict = CARD) -> Callable:
    def given(sandbox: Sandbox) -> str:
        transaction_id = sandbox.transact(type="sale", amount=amount, **payment)["transactionid"]
        if settled:
            sandbox.process.settle(transaction_id)
        return transaction_id

    return given


def auth(amount: str, payment: dict = CARD) -> Callable:
    def given(sandbox: Sandbox) -> str:
        return sandbox.transact(type="auth", amount=amount, **payment)["transactionid"]

    return given


def vault_record(vault_id: str) -> Callable:
    def given(sandbox: Sandbox) -> None:
        sandbox.transact(customer_vault="add_customer", customer_vault_id=vault_id, **CARD)

    return given


GIVEN: dict[str, Callable] = {
    "am_nmi_vault_capture_over": auth("1.00"),
    "dpm_check_refund_unsettled": sale("5.55", payment=CHECK),
    "nmigate_pay_with_customer_vault": vault_record("nmigate-user-1"),
    "nmigate_refund_amount_0": sale("22.00"),
    "nmigate_refund_amount_0_settled": sale("22.00", settled=True),
    "nmigate_vault_delete": vault_record("nmigate-user-1"),
    "nmigate_vault_update": vault_record("nmigate-user-1"),
    "nmigate_vault_validate": vault_record("nmigate-user-1"),
    "omnipay_capture": auth("10.00"),
    "omnipay_capture_of_sale": sale("10.50"),
    "omnipay_delete_card": vault_record("528367773"),
    "omnipay_refund_over": sale("10.50"),
    "omnipay_refund_unsettled": sale("10.50"),
    "omnipay_sale_by_vault": vault_record("528367773"),
    # The recorded auth of the same card and amount, just before.
    "omnipay_sale_same_amount_as_auth": auth("10.00"),
    "omnipay_update_card": vault_record("528367773"),
    "omnipay_void": sale("10.50"),
    "omnipay_void_settled": sale("10.50", settled=True),
}


def request_for(recorded: dict, given_id: str | None) -> tuple[dict[str, str], str]:
    """The recorded fields as they go out, and the recorded transaction id they name."""
    fields = dict(recorded["fields"])
    if fields.get("security_key") == "[DEMO-KEY]":
        fields["security_key"] = DEMO_SECURITY_KEY
    if "ccexp" in fields:
        fields["ccexp"] = corpus.future_ccexp(fields["ccexp"])
    recorded_id = fields.get("transactionid", "")
    if given_id is not None:
        fields["transactionid"] = given_id
    return fields, recorded_id


@pytest.fixture
def sandbox(sandbox_gateway) -> Sandbox:
    sandbox_gateway.reset()
    return Sandbox(sandbox_gateway)


@pytest.mark.parametrize("path", corpus.request_files(), ids=corpus.ids(corpus.request_files()))
def test_a_recorded_request_is_answered_as_the_real_gateway_did(sandbox: Sandbox, path: Path):
    recorded = corpus.load_request(path)
    given = GIVEN.get(path.stem)
    given_id = given(sandbox) if given else None
    fields, recorded_id = request_for(recorded, given_id)
    answer = sandbox.post(fields)

    expected = recorded["expected_real"]
    if expected.get("response", "") is None:
        # The real answer is not recorded (nmigate_pay_with_customer_vault): the sandbox must
        # answer in the protocol; nothing more can be compared.
        assert answer["response"] in ("1", "2", "3")
        return
    differences = {}
    for name, value in expected.items():
        if recorded_id and value == recorded_id:
            value = given_id  # the id of the object made above, as the real one was echoed
        if not corpus.matches(value, answer.get(name)):
            differences[name] = (value, answer.get(name))
    assert differences == {}, f"{recorded['source']}: expected vs sandbox {differences}"
