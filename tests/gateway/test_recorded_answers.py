"""Conformance, client side: every recorded real transact.php answer and query.php document of
`../shared/nmi-recorded/` read by Remit's `NmiGateway` (over an httpx MockTransport), as
`transact_expected.json` says. The corpus is data beside the repository, never copied in."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from remit.gateway.base import Card, Condition, GatewayLookupError, PaymentKind
from remit.gateway.nmi import NmiGateway
from tests.gateway import nmi_recorded as corpus

corpus.require_corpus()

CARD = Card(number="4111111111111111", exp_month=12, exp_year=2031, cvv="999")


def gateway_answering(body: bytes) -> NmiGateway:
    client = httpx.Client(
        transport=httpx.MockTransport(lambda _: httpx.Response(200, content=body))
    )
    return NmiGateway("https://gateway.example", "key", client=client)


def send(gateway: NmiGateway, recorded_type: str):
    """The call that would have drawn this answer (all answers are read the same way)."""
    if recorded_type == "void":
        return gateway.void(transaction_id="1", kind=PaymentKind.CARD)
    if recorded_type == "refund":
        return gateway.refund(transaction_id="1", kind=PaymentKind.CARD)
    if recorded_type in ("validate", "verify"):
        return gateway.validate(card=CARD)
    if recorded_type == "":
        return gateway.vault_add(card=CARD)
    return gateway.sale(amount=Decimal("10.00"), order_id="conformance", card=CARD)


def test_the_corpus_is_complete():
    assert len(corpus.transact_files()) == corpus.TRANSACT_ANSWERS
    assert len(corpus.query_files()) == corpus.QUERY_DOCUMENTS
    assert len(corpus.request_files()) == corpus.REQUEST_SETS
    assert {p.name for p in corpus.transact_files()} == set(corpus.transact_expected())


@pytest.mark.parametrize("path", corpus.transact_files(), ids=corpus.ids(corpus.transact_files()))
def test_a_recorded_transact_answer_is_read_as_expected(path: Path):
    expected = corpus.transact_expected()[path.name]
    body = path.read_bytes()
    recorded_type = re.search(rb"(?:^|&)type=([a-z_]*)", body)
    result = send(gateway_answering(body), recorded_type.group(1).decode() if recorded_type else "")

    # A placeholder `transactionid=0` (older NMI-platform gateways send it on refusals and vault
    # actions) is no transaction id; the corpus records the field as sent.
    expected_id = "" if expected["transaction_id"] == "0" else expected["transaction_id"]
    assert {
        "outcome": result.outcome.value,
        "response_code": result.response_code,
        "response_text": result.response_text,
        "transaction_id": result.transaction_id,
        "auth_code": result.auth_code,
        "avs_response": result.avs_response,
        "cvv_response": result.cvv_response,
        "customer_vault_id": result.customer_vault_id,
        "is_duplicate": result.is_duplicate,
    } == expected | {"transaction_id": expected_id}
    assert result.protocol_answer
    assert not result.needs_lookup or result.is_duplicate


def test_a_placeholder_transaction_id_is_kept_only_in_raw():
    path = corpus.CORPUS / "transact" / "bt_integration_core__top__L7.txt"
    result = send(gateway_answering(path.read_bytes()), "sale")
    assert result.transaction_id == ""
    assert result.raw["transactionid"] == "0"  # what was sent, for the record


def _blocks(text: str, tag: str) -> list[str]:
    return re.findall(rf"<{tag}>(.*?)</{tag}>", text, re.S)


def _element(block: str, tag: str) -> str:
    found = re.search(rf"<{tag}>(.*?)</{tag}>", block, re.S)
    return found.group(1).strip() if found else ""


@pytest.mark.parametrize("path", corpus.query_files(), ids=corpus.ids(corpus.query_files()))
def test_a_recorded_query_document_is_read(path: Path):
    text = path.read_text()
    gateway = gateway_answering(path.read_bytes())
    errors = _blocks(text, "error_response")
    if errors:
        with pytest.raises(GatewayLookupError) as refused:
            gateway.query(order_id="conformance")
        assert errors[0].strip() in str(refused.value)
        return

    transactions = gateway.query(order_id="conformance")
    # What the document holds, read with plain patterns rather than the parser under test.
    blocks = _blocks(text, "transaction")
    assert len(transactions) == len(blocks)
    for parsed, block in zip(transactions, blocks, strict=True):
        assert parsed.transaction_id == _element(block, "transaction_id")
        assert parsed.order_id == _element(block, "order_id")
        condition = _element(block, "condition")
        if condition:
            assert parsed.condition == Condition(condition)
        actions = _blocks(block, "action")
        assert [a.amount for a in parsed.actions] == [
            Decimal(_element(a, "amount") or "0") for a in actions
        ]
        assert [a.action_type for a in parsed.actions] == [
            _element(a, "action_type") for a in actions
        ]
