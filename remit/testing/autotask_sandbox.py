"""Run the Autotask sandbox as a real subprocess for tests and benchmarks.

    with AutotaskSandboxProcess(companies=5, invoices=20) as sandbox:
        client = AutotaskClient(sandbox.credentials(), zone_lookup_url=sandbox.zone_lookup_url)
        sandbox.set_fault("rate_limit", after=2)

The process gets a temporary SQLite file, listens on a free port, and is stopped (its files
removed) by `stop()`. Nothing here imports Django.
"""

from __future__ import annotations

import secrets

import httpx

from remit.testing.process import SandboxError, SandboxProcess


class AutotaskSandboxError(SandboxError):
    pass


class AutotaskSandboxProcess(SandboxProcess):
    module = "autotask_sandbox"
    what = "the Autotask sandbox"
    error = AutotaskSandboxError
    database = "autotask.sqlite3"
    prefix = "remit-autotask-"
    client_timeout = 30.0

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
        super().__init__(start_timeout=start_timeout)
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

    def arguments(self) -> list[str]:
        return [
            "--username",
            self.username,
            "--secret",
            self.secret,
            "--integration-code",
            self.integration_code,
            *[str(part) for option, value in self.book.items() for part in (option, value)],
            *([] if self.anomalies else ["--no-anomalies"]),
        ]

    def _post_control(self, client: httpx.Client, path: str, fields: dict) -> httpx.Response:
        return client.post(path, json=fields, headers={"Secret": self.secret})

    @property
    def zone_lookup_url(self) -> str:
        """Where ZoneInformation is asked (like https://webservices.autotask.net/atservicesrest)."""
        return f"{self.url}/atservicesrest"

    # -- control endpoints --

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
