"""Run the sandbox gateway as a real subprocess for tests and benchmarks.

    with SandboxGatewayProcess() as sandbox:
        gateway = NmiGateway(sandbox.url, sandbox.security_key, ...)
        sandbox.set_fault("timeout", delay=1.0)

The process gets a temporary SQLite file and a random security key of its own, listens on a free
port, and is stopped (and its files removed) by `stop()`. Nothing here imports Django.
"""

from __future__ import annotations

import os
import re
import secrets
import select
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from remit.gateway.base import GatewayTransaction
from remit.gateway.nmi import parse_answer, parse_query_xml

_URL_LINE = re.compile(r"listening on (http://\S+)")
_TOKENIZATION_PAIR = re.compile(r"(\S+)…=(\S+?)(?:,|$)")


class SandboxGatewayError(RuntimeError):
    pass


class SandboxGatewayProcess:
    def __init__(
        self,
        *,
        security_key: str | None = None,
        settle_after: float | None = None,
        extra_args: tuple[str, ...] = (),
        start_timeout: float = 15.0,
    ) -> None:
        self.security_key = security_key or f"sandbox-{secrets.token_hex(12)}"
        self.settle_after = settle_after
        self.extra_args = extra_args
        self.start_timeout = start_timeout
        self.url = ""
        self.tokenization_keys: dict[str, str] = {}  # first four characters of a key -> its key
        self.process: subprocess.Popen[str] | None = None
        self._dir: str | None = None
        self._client: httpx.Client | None = None

    # -- life --

    def start(self) -> SandboxGatewayProcess:
        self._dir = tempfile.mkdtemp(prefix="remit-sandbox-")
        command = [
            sys.executable,
            "-m",
            "sandbox_gateway",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--db",
            str(self.db_path),
            "--security-key",
            self.security_key,
            *(["--settle-after", str(self.settle_after)] if self.settle_after is not None else []),
            *self.extra_args,
        ]
        self._log = open(self.log_path, "w")  # noqa: SIM115  (closed in stop)
        self.process = subprocess.Popen(  # noqa: S603  (our own interpreter and module)
            command,
            stdout=subprocess.PIPE,
            stderr=self._log,
            stdin=subprocess.DEVNULL,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            self.url = self._read_url()
            self._client = httpx.Client(base_url=self.url, timeout=10.0, trust_env=False)
            self._wait_healthy()
        except BaseException:
            self.stop()
            raise
        return self

    def _read_url(self) -> str:
        assert self.process is not None
        assert self.process.stdout is not None
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.process.stdout], [], [], 0.1)
            if ready:
                line = self.process.stdout.readline()
                match = _URL_LINE.search(line)
                if match:
                    # The public tokenization keys follow at once on the next line (read straight
                    # on: it may sit in the file object's buffer, where select() cannot see it).
                    keys = self.process.stdout.readline().partition(": ")[2].strip()
                    self.tokenization_keys = dict(_TOKENIZATION_PAIR.findall(keys))
                    return match.group(1)
                if not line and self.process.poll() is not None:
                    break
        raise SandboxGatewayError(f"the sandbox gateway did not start: {self.log_tail()}")

    def _wait_healthy(self) -> None:
        assert self._client is not None
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            try:
                if self._client.get("/_sandbox/health").status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise SandboxGatewayError(f"the sandbox gateway is not healthy: {self.log_tail()}")

    def stop(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        if self.process is not None:
            if self.process.poll() is None:
                self.process.terminate()
                try:
                    self.process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait(timeout=5)
            if self.process.stdout is not None:
                self.process.stdout.close()
            self.process = None
        if getattr(self, "_log", None) is not None:
            self._log.close()
            self._log = None
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    @property
    def db_path(self) -> Path:
        """The sandbox's SQLite file (its -wal and -shm companions sit next to it)."""
        assert self._dir is not None
        return Path(self._dir) / "sandbox-gateway.sqlite3"

    @property
    def log_path(self) -> Path:
        """Where the sandbox's stderr (its request log) goes."""
        assert self._dir is not None
        return Path(self._dir) / "sandbox.log"

    def log_tail(self, lines: int = 20) -> str:
        if self._dir is None or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text().splitlines()[-lines:])

    def __enter__(self) -> SandboxGatewayProcess:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

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

    def _control(self, path: str, **fields: str) -> dict:
        assert self._client is not None, "start() the sandbox first"
        response = self._client.post(path, data={"security_key": self.security_key, **fields})
        response.raise_for_status()
        return response.json()

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

    def reset(self) -> None:
        self._control("/_sandbox/reset")

    def credentials(self, order_id: str = "") -> list[dict[str, str]]:
        """The sandbox's record of what each sale sent (of this order id, or all): its
        stored-credential fields (initiated_by, stored_credential_indicator, billing_method,
        initial_transaction_id) and SEC code."""
        return self._control("/_sandbox/credentials", order_id=order_id)["charges"]

    def health(self) -> dict:
        assert self._client is not None
        return self._client.get("/_sandbox/health").json()

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
