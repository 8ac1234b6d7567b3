"""Run the sandbox gateway as a real subprocess for tests and benchmarks.

    with SandboxGatewayProcess() as sandbox:
        gateway = NmiGateway(sandbox.url, sandbox.security_key, ...)
        sandbox.set_fault("timeout", delay=1.0)

The process gets a temporary SQLite file and a random security key of its own, listens on a free
port, and is stopped (and its files removed) by `stop()`. Nothing here imports Django.
"""

from __future__ import annotations

import re
import secrets
from typing import IO

import httpx

from remit.gateway.base import GatewayTransaction
from remit.gateway.nmi import parse_answer, parse_query_xml
from remit.testing.process import SandboxError, SandboxProcess

_TOKENIZATION_PAIR = re.compile(r"(\S+)…=(\S+?)(?:,|$)")


class SandboxGatewayError(SandboxError):
    pass


class SandboxGatewayProcess(SandboxProcess):
    module = "sandbox_gateway"
    what = "the sandbox gateway"
    error = SandboxGatewayError
    database = "sandbox-gateway.sqlite3"
    prefix = "remit-sandbox-"

    def __init__(
        self,
        *,
        security_key: str | None = None,
        settle_after: float | None = None,
        extra_args: tuple[str, ...] = (),
        start_timeout: float = 15.0,
    ) -> None:
        super().__init__(start_timeout=start_timeout)
        self.security_key = security_key or f"sandbox-{secrets.token_hex(12)}"
        self.settle_after = settle_after
        self.extra_args = extra_args
        self.tokenization_keys: dict[str, str] = {}  # first four characters of a key -> its key

    def arguments(self) -> list[str]:
        return [
            "--security-key",
            self.security_key,
            *(["--settle-after", str(self.settle_after)] if self.settle_after is not None else []),
            *self.extra_args,
        ]

    def _listening(self, stdout: IO[str]) -> None:
        # The public tokenization keys follow at once on the next line (read straight on: it may
        # sit in the file object's buffer, where select() cannot see it).
        keys = stdout.readline().partition(": ")[2].strip()
        self.tokenization_keys = dict(_TOKENIZATION_PAIR.findall(keys))

    def _post_control(self, client: httpx.Client, path: str, fields: dict) -> httpx.Response:
        return client.post(path, data={"security_key": self.security_key, **fields})

    @property
    def tokenization_key(self) -> str:
        """The public Collect.js key that goes with `security_key` (printed by the sandbox)."""
        return self.tokenization_keys[self.security_key[:4]]

    # -- hosted fields, as the field iframes speak to the gateway --

    def tokenize(self, fields: dict[str, str], *, tokenization_key: str | None = None) -> dict:
        """What Collect.js does for a page: each field's value posted as its iframe posts it,
        then the token asked for. Returns the callback's response (or {"error": ...})."""
        assert self._client is not None
        key = tokenization_key or self.tokenization_key
        session = secrets.token_hex(16)
        for name, value in fields.items():
            answer = self._client.post(
                "/token/api/field",
                data={"key": key, "session": session, "field": name, "value": value},
            ).json()
            if not answer["valid"]:
                return {"error": {"field": name, "message": answer["message"]}}
        payment = "check" if "checkaccount" in fields else "card"
        return self._client.post(
            "/token/api/create", data={"key": key, "session": session, "payment": payment}
        ).json()

    def card_token(self, number: str, exp: str = "1230", cvv: str = "123", **kwargs) -> str:
        """A payment token for this card (exp MMYY), as Collect.js would get it."""
        return self.tokenize({"ccnumber": number, "ccexp": exp, "cvv": cvv}, **kwargs)["token"]

    def check_token(self, account: str, routing: str, name: str = "Nancy Davolio", **kwargs) -> str:
        fields = {"checkname": name, "checkaccount": account, "checkaba": routing}
        return self.tokenize(fields, **kwargs)["token"]

    # -- control endpoints --

    def set_fault(self, mode: str, count: int = 1, delay: float | None = None) -> dict:
        """Apply `mode` (timeout, drop_after_approve, http_500, garbage, none) to the next
        `count` transact requests; `delay` is how long the timeout fault waits."""
        fields = {"mode": mode, "count": str(count)}
        if delay is not None:
            fields["delay"] = str(delay)
        return self._control("/_sandbox/fault", **fields)

    def settle(self, transaction_id: str | None = None) -> dict:
        """Settle one pending transaction, or all; returns {"settled": [...], "returned": [...]}."""
        fields = {"transaction_id": transaction_id} if transaction_id else {}
        return self._control("/_sandbox/settle", **fields)

    def return_check(self, transaction_id: str, code: str = "R01") -> dict:
        """The bank returns a settled eCheck sale later on (a late return, with this R-code)."""
        return self._control("/_sandbox/return", transaction_id=transaction_id, code=code)

    def credentials(self, order_id: str = "") -> list[dict[str, str]]:
        """The sandbox's record of what each sale sent (of this order id, or all): its
        stored-credential fields (initiated_by, stored_credential_indicator, billing_method,
        initial_transaction_id) and SEC code."""
        return self._control("/_sandbox/credentials", order_id=order_id)["charges"]

    # -- the protocol, raw --

    def transact(self, **fields: str) -> dict[str, str]:
        """POST transact.php with these fields (and the key); the parsed answer."""
        assert self._client is not None
        data = {"security_key": self.security_key, **fields}
        return parse_answer(self._client.post("/api/transact.php", data=data).text)

    def query_xml(self, **filters: str) -> str:
        """POST query.php with these filters (order_id, transaction_id, condition, ...): the XML."""
        assert self._client is not None
        data = {"security_key": self.security_key, **filters}
        return self._client.post("/api/query.php", data=data).text

    def query(self, *, order_id: str = "", transaction_id: str = "") -> list[GatewayTransaction]:
        filters = {"order_id": order_id, "transaction_id": transaction_id}
        return parse_query_xml(self.query_xml(**{k: v for k, v in filters.items() if v}))
