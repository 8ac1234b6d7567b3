"""Remit's gateway client for the NMI protocol (BNG and other NMI-platform gateways).

Two endpoints: `POST <base>/api/transact.php` (transactions and the Customer Vault, answered with a
query string) and `POST <base>/api/query.php` (look-ups, answered with XML). See docs/gateway.md.

What a caller can rely on:
- every answer becomes an immutable `GatewayResult`; nothing here raises on a gateway or network
  failure except `query()`, which raises `GatewayLookupError`;
- a timeout or a connection lost once the request went out is `Outcome.UNKNOWN`, never DECLINED;
- an HTTP error status or a body that is not a protocol answer is `Outcome.ERROR` with an empty
  `response_code` (`result.protocol_answer` is False); a connection that could not be opened is the
  same with `request_sent=False`;
- request bodies are never logged, and `raw` holds the answer with anything sensitive masked.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from urllib.parse import unquote_plus

import httpx
from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

from remit.core.logging import mask_numbers
from remit.gateway.base import (
    BankAccount,
    Billing,
    Card,
    Condition,
    GatewayLookupError,
    GatewayResult,
    GatewayTransaction,
    Outcome,
    PaymentKind,
    PaymentToken,
    StoredCredential,
    TransactionAction,
)

logger = logging.getLogger(__name__)

TRANSACT_PATH = "/api/transact.php"
QUERY_PATH = "/api/query.php"
CURRENCY = "USD"

_RESPONSE_OUTCOMES = {"1": Outcome.APPROVED, "2": Outcome.DECLINED, "3": Outcome.ERROR}
# When an answer carries `response` but no `response_code`, the code of its class stands in, so
# that `protocol_answer` stays true for every real answer (the raw mapping keeps what was sent).
_GENERIC_CODES = {"1": "100", "2": "200", "3": "300"}

# Fields that must never be kept readable, should a gateway ever echo them.
_SECRET_FIELDS = {
    "security_key",
    "password",
    "cvv",
    "ccnumber",
    "checkaccount",
    "checkaba",
    "payment_token",
}
# Identifiers that are long digit strings by nature; everything else is passed through the
# card-number mask as a last line of defence.
_ID_FIELDS = {"transactionid", "orderid", "customer_vault_id", "authcode", "response_code"}

# A field separator is an `&` followed by something shaped like a field name and `=`. An `&` inside
# a raw response text ("AVS & CVV mismatch") is not followed by `name=` and stays part of the text.
_FIELD_SPLIT = re.compile(r"&(?=[A-Za-z0-9_\-\[\]]+=)")


# --- Answers --------------------------------------------------------------------------------------


def parse_answer(body: str) -> dict[str, str]:
    """Read a transact.php answer leniently: raw spaces, raw `&` in texts, any field order, missing
    or extra fields, stray whitespace and line ends. Keys are lower-cased; the first value wins."""
    fields: dict[str, str] = {}
    text = body.strip().lstrip("?")
    if not text:
        return fields
    for part in _FIELD_SPLIT.split(text):
        name, sep, value = part.partition("=")
        name = name.strip().lower()
        if not sep or not name:
            continue
        fields.setdefault(name, unquote_plus(value).strip())
    return fields


def mask_fields(fields: Mapping[str, str]) -> dict[str, str]:
    """The fields as they may be stored and logged."""
    masked = {}
    for name, value in fields.items():
        if name in _SECRET_FIELDS:
            masked[name] = _mask_secret(name, value)
        elif name in _ID_FIELDS:
            masked[name] = value
        else:
            masked[name] = mask_numbers(value)
    return masked


def _mask_secret(name: str, value: str) -> str:
    if not value:
        return ""
    digits = re.sub(r"\D", "", value)
    if name in {"ccnumber", "checkaccount"} and len(digits) >= 8:
        return "••••" + digits[-4:]
    return "•••"


def result_from_answer(fields: Mapping[str, str]) -> GatewayResult:
    """Classify a parsed transact.php answer. A body without a readable `response` is ERROR with
    no protocol answer."""
    response = fields.get("response", "").strip()
    outcome = _RESPONSE_OUTCOMES.get(response)
    raw = mask_fields(fields)
    if outcome is None:
        return GatewayResult(
            outcome=Outcome.ERROR, response_text="Unreadable answer from the gateway", raw=raw
        )
    code = fields.get("response_code", "").strip() or _GENERIC_CODES[response]
    transaction_id = fields.get("transactionid", "").strip()
    if not transaction_id.strip("0"):
        # Older NMI-platform gateways answer `transactionid=0` on refusals and vault actions: a
        # placeholder, not a transaction (`raw` still shows it).
        transaction_id = ""
    return GatewayResult(
        outcome=outcome,
        response_code=code,
        response_text=fields.get("responsetext", ""),
        transaction_id=transaction_id,
        auth_code=fields.get("authcode", ""),
        avs_response=fields.get("avsresponse", ""),
        cvv_response=fields.get("cvvresponse", ""),
        order_id=fields.get("orderid", ""),
        customer_vault_id=fields.get("customer_vault_id", ""),
        action_type=fields.get("type", ""),
        raw=raw,
    )


def _excerpt(body: str) -> str:
    return mask_numbers(body[:200])


# --- query.php XML --------------------------------------------------------------------------------


def parse_query_xml(body: str | bytes) -> list[GatewayTransaction]:
    """Read a query.php report leniently (unknown elements ignored, missing ones empty).

    Raises GatewayLookupError for an unreadable document or an `<error_response>`.
    """
    try:
        root = ElementTree.fromstring(body)
    except (ElementTree.ParseError, DefusedXmlException, ValueError) as exc:
        raise GatewayLookupError(f"unreadable query answer ({type(exc).__name__})") from None
    if root.tag != "nm_response":
        raise GatewayLookupError(f"unexpected query answer <{root.tag}>")
    error = root.find("error_response")
    if error is not None:
        raise GatewayLookupError(f"gateway refused the query: {_text(error)}")
    return [_transaction(element) for element in root.iter("transaction")]


def _text(element, name: str | None = None) -> str:
    node = element if name is None else element.find(name)
    return (node.text or "").strip() if node is not None else ""


def _transaction(element) -> GatewayTransaction:
    condition = _text(element, "condition").lower()
    try:
        parsed_condition = Condition(condition)
    except ValueError:
        parsed_condition = Condition.UNKNOWN
    return GatewayTransaction(
        transaction_id=_text(element, "transaction_id"),
        order_id=_text(element, "order_id"),
        transaction_type=_text(element, "transaction_type").lower(),
        condition=parsed_condition,
        actions=tuple(_action(a) for a in element.findall("action")),
        auth_code=_text(element, "authorization_code"),
        customer_vault_id=_text(element, "customerid") or _text(element, "customer_vault_id"),
        masked_number=_text(element, "cc_number") or _text(element, "check_account"),
        card_type=_text(element, "cc_type").lower(),
        card_exp=_text(element, "cc_exp"),
        card_bin=_text(element, "cc_bin"),
        account_type=_text(element, "account_type").lower(),
        account_holder_type=_text(element, "account_holder_type").lower(),
        check_name=_text(element, "check_name"),
    )


def _action(element) -> TransactionAction:
    try:
        amount = Decimal(_text(element, "amount") or "0")
    except InvalidOperation:
        amount = Decimal("0")
    return TransactionAction(
        action_type=_text(element, "action_type").lower(),
        amount=amount,
        date=_text(element, "date"),
        success=_text(element, "success").lower() in {"1", "true", "yes"},
        response_text=_text(element, "response_text"),
        response_code=_text(element, "response_code"),
    )


# --- Connections ----------------------------------------------------------------------------------

_clients: dict[tuple[int, str], httpx.Client] = {}
_clients_lock = threading.Lock()


def shared_client(base_url: str) -> httpx.Client:
    """One client (one connection pool) per gateway URL and process, so connections are reused.

    Keyed by process id too: a client must not cross a fork (pre-forking servers).
    """
    key = (os.getpid(), base_url)
    with _clients_lock:
        client = _clients.get(key)
        if client is None or client.is_closed:
            client = httpx.Client(
                base_url=base_url,
                trust_env=False,  # no proxy or netrc from the environment on the payment path
                follow_redirects=False,
                limits=httpx.Limits(max_connections=20, max_keepalive_connections=10),
                headers={"User-Agent": "Remit (+NMI protocol)"},
            )
            _clients[key] = client
        return client


def close_shared_clients() -> None:
    with _clients_lock:
        for client in _clients.values():
            client.close()
        _clients.clear()


def _money(amount: Decimal) -> str:
    return str(Decimal(amount).quantize(Decimal("0.01")))


# --- The gateway ----------------------------------------------------------------------------------


class NmiGateway:
    """`remit.gateway.base.Gateway` over NMI's Direct Post and Query APIs."""

    def __init__(
        self,
        base_url: str,
        security_key: str,
        *,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        dup_seconds: int = 120,
        client: httpx.Client | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._security_key = security_key
        self.dup_seconds = dup_seconds
        self.timeout = httpx.Timeout(
            connect=connect_timeout, read=read_timeout, write=read_timeout, pool=connect_timeout
        )
        self._client = client if client is not None else shared_client(self.base_url)

    def __repr__(self) -> str:  # never the key
        return f"NmiGateway({self.base_url!r})"

    # -- transact.php ------------------------------------------------------------------------------

    def sale(
        self,
        *,
        amount: Decimal,
        order_id: str,
        card: Card | None = None,
        bank_account: BankAccount | None = None,
        payment_token: PaymentToken | None = None,
        vault_id: str = "",
        billing: Billing | None = None,
        save_to_vault: bool = False,
        stored_credential: StoredCredential | None = None,
        ip_address: str = "",
        description: str = "",
        po_number: str = "",
        surcharge: Decimal | None = None,
        sec_code: str = "",
    ) -> GatewayResult:
        """`sec_code` names the SEC code of a vaulted eCheck's debit (CCD, WEB); new accounts
        take theirs from the holder type."""
        if sum(bool(x) for x in (card, bank_account, payment_token, vault_id)) != 1:
            raise ValueError(
                "a sale needs exactly one of card, bank_account, payment_token or vault_id"
            )
        if save_to_vault and vault_id:
            raise ValueError("a vaulted method is already saved")
        fields: dict[str, str] = {
            "type": "sale",
            "amount": _money(amount),
            "currency": CURRENCY,
            "orderid": order_id,
            "order_description": description,
            "ponumber": po_number,
            "ipaddress": ip_address,
            "dup_seconds": str(self.dup_seconds),
        }
        if surcharge:  # part of amount, on a card sale only (NMI; docs/gateway.md)
            fields["surcharge"] = _money(surcharge)
        fields |= _payment_fields(card, bank_account)
        fields |= _token_fields(payment_token)
        fields |= _billing_fields(billing)
        if vault_id:
            fields["customer_vault_id"] = vault_id
            if sec_code:
                fields["sec_code"] = sec_code
            stored_credential = stored_credential or StoredCredential()
        elif save_to_vault:
            fields["customer_vault"] = "add_customer"
            is_card = card is not None or (
                payment_token is not None and payment_token.kind == PaymentKind.CARD
            )
            if is_card:  # first use of a card that will be kept on file
                stored_credential = stored_credential or StoredCredential(indicator="stored")
        if stored_credential is not None:
            fields |= {
                "initiated_by": stored_credential.initiated_by,
                "stored_credential_indicator": stored_credential.indicator,
                "initial_transaction_id": stored_credential.initial_transaction_id,
                "billing_method": stored_credential.billing_method,
            }
        return self._transact("sale", fields)

    def vault_add(
        self,
        *,
        card: Card | None = None,
        bank_account: BankAccount | None = None,
        billing: Billing | None = None,
    ) -> GatewayResult:
        if (card is None) == (bank_account is None):
            raise ValueError("vault_add needs exactly one of card or bank_account")
        fields = {"customer_vault": "add_customer"}
        fields |= _payment_fields(card, bank_account)
        fields |= _billing_fields(billing)
        return self._transact("vault_add", fields)

    def vault_update(self, *, vault_id: str, billing: Billing) -> GatewayResult:
        fields = {"customer_vault": "update_customer", "customer_vault_id": vault_id}
        fields |= _billing_fields(billing)
        return self._transact("vault_update", fields)

    def vault_delete(self, *, vault_id: str) -> GatewayResult:
        fields = {"customer_vault": "delete_customer", "customer_vault_id": vault_id}
        return self._transact("vault_delete", fields)

    def void(self, *, transaction_id: str, kind: PaymentKind, order_id: str = "") -> GatewayResult:
        fields = {"type": "void", "transactionid": transaction_id, "orderid": order_id}
        if kind == PaymentKind.ECHECK:
            fields["payment"] = "check"
        return self._transact("void", fields)

    def refund(
        self,
        *,
        transaction_id: str,
        kind: PaymentKind,
        amount: Decimal | None = None,
        order_id: str = "",
    ) -> GatewayResult:
        fields = {"type": "refund", "transactionid": transaction_id, "orderid": order_id}
        if amount is not None:
            fields["amount"] = _money(amount)
        if kind == PaymentKind.ECHECK:
            fields["payment"] = "check"
        return self._transact("refund", fields)

    def validate(
        self, *, card: Card, billing: Billing | None = None, order_id: str = ""
    ) -> GatewayResult:
        fields = {"type": "validate", "orderid": order_id}
        fields |= _payment_fields(card, None)
        fields |= _billing_fields(billing)
        return self._transact("validate", fields)

    def _transact(self, operation: str, fields: dict[str, str]) -> GatewayResult:
        data = {"security_key": self._security_key}
        data |= {name: value for name, value in fields.items() if value != ""}
        order_id = fields.get("orderid", "")
        try:
            response = self._client.post(
                self.base_url + TRANSACT_PATH, data=data, timeout=self.timeout
            )
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            # The connection was never opened: not a byte of the request left this process.
            result = GatewayResult(
                outcome=Outcome.ERROR,
                response_text=f"Gateway unreachable ({type(exc).__name__})",
                order_id=order_id,
                request_sent=False,
            )
        except httpx.UnsupportedProtocol:
            result = GatewayResult(
                outcome=Outcome.ERROR,
                response_text="Gateway URL is not http(s)",
                order_id=order_id,
                request_sent=False,
            )
        except httpx.DecodingError as exc:
            result = GatewayResult(
                outcome=Outcome.ERROR,
                response_text=f"Unreadable answer from the gateway ({type(exc).__name__})",
                order_id=order_id,
            )
        except httpx.TransportError as exc:
            # Read timeout, connection reset or closed without an answer, write failure: the
            # gateway may have acted. Never a decline; the order must be looked up.
            result = GatewayResult(
                outcome=Outcome.UNKNOWN,
                response_text=f"No answer from the gateway ({type(exc).__name__})",
                order_id=order_id,
            )
        else:
            result = self._read_answer(response, order_id)
        logger.info(
            "gateway %s order=%s outcome=%s code=%s transaction=%s",
            operation,
            order_id or "-",
            result.outcome,
            result.response_code or "-",
            result.transaction_id or "-",
        )
        return result

    @staticmethod
    def _read_answer(response: httpx.Response, order_id: str) -> GatewayResult:
        if not response.is_success:
            return GatewayResult(
                outcome=Outcome.ERROR,
                response_text=f"Gateway answered HTTP {response.status_code}",
                order_id=order_id,
                raw={"http_status": str(response.status_code), "body": _excerpt(response.text)},
            )
        body = response.content.decode("utf-8", errors="replace")
        result = result_from_answer(parse_answer(body))
        if not result.protocol_answer:
            return GatewayResult(
                outcome=Outcome.ERROR,
                response_text=result.response_text,
                order_id=order_id,
                raw={"http_status": str(response.status_code), "body": _excerpt(body)},
            )
        return result

    # -- query.php ---------------------------------------------------------------------------------

    def query(self, *, order_id: str = "", transaction_id: str = "") -> list[GatewayTransaction]:
        if not order_id and not transaction_id:
            raise ValueError("query needs an order_id or a transaction_id")
        data = {"security_key": self._security_key}
        if order_id:
            data["order_id"] = order_id
        if transaction_id:
            data["transaction_id"] = transaction_id
        try:
            response = self._client.post(
                self.base_url + QUERY_PATH, data=data, timeout=self.timeout
            )
        except httpx.HTTPError as exc:
            raise GatewayLookupError(f"no answer from the gateway ({type(exc).__name__})") from None
        if not response.is_success:
            raise GatewayLookupError(f"gateway answered HTTP {response.status_code}")
        return parse_query_xml(response.content)


def _payment_fields(card: Card | None, bank_account: BankAccount | None) -> dict[str, str]:
    if card is not None:
        return {"ccnumber": card.number, "ccexp": card.ccexp, "cvv": card.cvv}
    if bank_account is not None:
        return {
            "payment": "check",
            "checkname": bank_account.name_on_account,
            "checkaba": bank_account.routing_number,
            "checkaccount": bank_account.account_number,
            "account_holder_type": str(bank_account.holder_type),
            "account_type": str(bank_account.account_type),
            "sec_code": bank_account.sec_code,
        }
    return {}


def _token_fields(token: PaymentToken | None) -> dict[str, str]:
    """`payment_token` in place of the card or check fields; an eCheck keeps its other fields."""
    if token is None:
        return {}
    fields = {"payment_token": token.token}
    if token.kind == PaymentKind.ECHECK:
        fields |= {
            "payment": "check",
            "account_holder_type": str(token.holder_type),
            "account_type": str(token.account_type),
            "sec_code": token.sec_code,
        }
    return fields


def _billing_fields(billing: Billing | None) -> dict[str, str]:
    if billing is None:
        return {}
    return {
        "first_name": billing.first_name,
        "last_name": billing.last_name,
        "company": billing.company,
        "address1": billing.address1,
        "address2": billing.address2,
        "city": billing.city,
        "state": billing.state,
        "zip": billing.zip,
        "country": billing.country,
        "email": billing.email,
        "phone": billing.phone,
    }
