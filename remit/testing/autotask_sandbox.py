"""Run the Autotask sandbox as a real subprocess for tests and benchmarks.

    with AutotaskSandboxProcess(companies=5, invoices=20) as sandbox:
        client = AutotaskClient(sandbox.credentials(), zone_lookup_url=sandbox.zone_lookup_url)
        sandbox.set_fault("rate_limit", after=2)

The process gets a temporary SQLite file, listens on a free port, and is stopped (its files
removed) by `stop()`. Nothing here imports Django.
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

_URL_LINE = re.compile(r"listening on (http://\S+)")


class AutotaskSandboxError(RuntimeError):
    pass


class AutotaskSandboxProcess:
    def __init__(
        self,
        *,
        companies: int = 6,
        contacts_per_company: int = 2,
        invoices: int = 24,
        anomalies: bool = False,
        seed: int = 2026,
        start_timeout: float = 15.0,
    ) -> None:
        self.username = "api-user@sandbox.example"
        self.secret = f"secret-{secrets.token_hex(8)}"
        self.integration_code = f"CODE{secrets.token_hex(6).upper()}"
        self.book = {
            "--companies": companies,
            "--contacts-per-company": contacts_per_company,
            "--invoices": invoices,
            "--seed": seed,
        }
        self.anomalies = anomalies
        self.start_timeout = start_timeout
        self.url = ""
        self.process: subprocess.Popen[str] | None = None
        self._dir: str | None = None
        self._client: httpx.Client | None = None
        self._log = None

    @property
    def zone_lookup_url(self) -> str:
        """Where ZoneInformation is asked (like https://webservices.autotask.net/atservicesrest)."""
        return f"{self.url}/atservicesrest"

    def start(self) -> AutotaskSandboxProcess:
        self._dir = tempfile.mkdtemp(prefix="remit-autotask-")
        command = [
            sys.executable,
            "-m",
            "autotask_sandbox",
            "--port",
            "0",
            "--db",
            str(Path(self._dir) / "autotask.sqlite3"),
            "--username",
            self.username,
            "--secret",
            self.secret,
            "--integration-code",
            self.integration_code,
            *[str(part) for option, value in self.book.items() for part in (option, value)],
            *([] if self.anomalies else ["--no-anomalies"]),
        ]
        self._log = open(Path(self._dir) / "sandbox.log", "w")  # noqa: SIM115  (closed in stop)
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
            self._client = httpx.Client(base_url=self.url, timeout=30.0, trust_env=False)
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
                    return match.group(1)
                if not line and self.process.poll() is not None:
                    break
        raise AutotaskSandboxError(f"the Autotask sandbox did not start: {self.log_tail()}")

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
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def log_tail(self, lines: int = 20) -> str:
        path = Path(self._dir or "/nonexistent") / "sandbox.log"
        return "\n".join(path.read_text().splitlines()[-lines:]) if path.exists() else ""

    def __enter__(self) -> AutotaskSandboxProcess:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    # -- control endpoints --

    def _control(self, path: str, **body) -> dict:
        assert self._client is not None, "start() the sandbox first"
        response = self._client.post(path, json=body, headers={"Secret": self.secret})
        response.raise_for_status()
        return response.json()

    def set_fault(self, mode: str, *, count: int = 1, after: int = 0, **options) -> dict:
        """The next `count` queries (after letting `after` through) get `mode`: rate_limit,
        http_500, timeout (delay=seconds), malformed; or bad_zone (on=True/False), none."""
        return self._control("/_sandbox/fault", mode=mode, count=count, after=after, **options)

    def update(self, entity: str, record_id: int, **fields) -> dict:
        return self._control("/_sandbox/update", entity=entity, id=record_id, fields=fields)

    def insert(self, entity: str, **record) -> dict:
        return self._control("/_sandbox/insert", entity=entity, record=record)

    def generate(self, **options) -> dict:
        return self._control("/_sandbox/generate", **options)

    def health(self) -> dict:
        assert self._client is not None
        return self._client.get("/_sandbox/health").json()
