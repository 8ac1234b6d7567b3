"""Autotask REST API client (httpx, explicit timeouts). Protocol notes: docs/autotask.md.

- Zone discovery: GET <lookup>/v1.0/ZoneInformation?user=<API user> answers the zone's base URL
  (`url`, e.g. https://webservices5.autotask.net/atservicesrest/); every other call goes there.
- Every call carries the headers ApiIntegrationCode, UserName and Secret.
- Queries: POST <zone>/v1.0/<Entity>/query with {"filter": [...], "IncludeFields": [...]};
  at most 500 items a page; `pageDetails.nextPageUrl` (GET) gives the next page until it is null.
- Retried with backoff: 429 (waiting Retry-After), 5xx, timeouts, connection errors and bodies that
  are not JSON. 401/403 are not retried. After the last attempt, AutotaskError says what failed.

Money comes as JSON numbers; it is parsed straight into Decimal, never through float.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx

logger = logging.getLogger(__name__)

DEFAULT_ZONE_LOOKUP = "https://webservices.autotask.net/atservicesrest"
PAGE_LIMIT = 500


@dataclass(frozen=True)
class Credentials:
    username: str
    secret: str
    integration_code: str

    def headers(self) -> dict[str, str]:
        return {
            "ApiIntegrationCode": self.integration_code,
            "UserName": self.username,
            "Secret": self.secret,
            "Content-Type": "application/json",
            "Accept": "application/json",
        }


class AutotaskError(Exception):
    """A call failed for good. `kind`: auth, zone, unreachable, rate_limited, server, timeout,
    malformed, bad_request. `message` is for staff (it never contains the secret)."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.message, self.kind = message, kind


def _errors(response: httpx.Response) -> str:
    try:
        body = json.loads(response.text)
    except ValueError:
        return response.text[:200].strip()
    if isinstance(body, dict) and isinstance(body.get("errors"), list):
        return "; ".join(str(error) for error in body["errors"])[:300]
    return response.text[:200].strip()


class AutotaskClient:
    def __init__(
        self,
        credentials: Credentials,
        *,
        zone_lookup_url: str = DEFAULT_ZONE_LOOKUP,
        zone_url: str = "",
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        attempts: int = 5,
        backoff: float = 1.0,
        max_wait: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.credentials = credentials
        self.zone_lookup_url = zone_lookup_url.rstrip("/")
        self.zone_url = zone_url.rstrip("/")
        self.attempts, self.backoff, self.max_wait, self.sleep = attempts, backoff, max_wait, sleep
        self.requests = 0
        self._http = httpx.Client(
            timeout=httpx.Timeout(read_timeout, connect=connect_timeout),
            headers=credentials.headers(),
            trust_env=False,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> AutotaskClient:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # -- zone --

    def discover_zone(self) -> str:
        """The zone's base URL for this API user (cached on the client)."""
        if self.zone_url:
            return self.zone_url
        url = f"{self.zone_lookup_url}/v1.0/ZoneInformation"
        try:
            body = self._call("GET", url, params={"user": self.credentials.username}, what="zone")
        except AutotaskError as error:
            if error.kind in ("bad_request", "auth"):
                raise AutotaskError(
                    f"Autotask does not know the API user {self.credentials.username!r} "
                    f"(zone lookup: {error.message})",
                    "zone",
                ) from None
            raise
        zone = body.get("url") if isinstance(body, dict) else None
        if not isinstance(zone, str) or not zone.startswith(("http://", "https://")):
            raise AutotaskError("The zone lookup answered without a zone URL.", "zone")
        self.zone_url = zone.rstrip("/")
        return self.zone_url

    # -- queries --

    def query(
        self,
        entity: str,
        filter: list[dict],
        include_fields: list[str] | None = None,
        *,
        max_records: int | None = None,
    ) -> Iterator[dict]:
        """Every item matching `filter`, page after page (following nextPageUrl)."""
        body: dict[str, Any] = {"filter": filter}
        if include_fields:
            body["IncludeFields"] = sorted({"id", *include_fields})
        if max_records:
            body["MaxRecords"] = max_records
        url = f"{self.discover_zone()}/v1.0/{entity}/query"
        page = self._call("POST", url, json=body, what=f"{entity}/query")
        pages = 1
        while True:
            items, next_url = self._page(page, entity)
            yield from items
            if not next_url or max_records:
                return
            if pages > 10_000:  # a server that never stops paging is a bug, not a book
                raise AutotaskError(f"{entity}: paging did not end.", "malformed")
            page = self._call("GET", next_url, what=f"{entity}/query (page {pages + 1})")
            pages += 1

    def query_all(self, entity: str, filter: list[dict], include_fields=None) -> list[dict]:
        return list(self.query(entity, filter, include_fields))

    @staticmethod
    def _page(page, entity: str) -> tuple[list[dict], str | None]:
        if not isinstance(page, dict) or not isinstance(page.get("items"), list):
            raise AutotaskError(f"{entity}: the answer has no 'items' list.", "malformed")
        details = page.get("pageDetails") or {}
        next_url = details.get("nextPageUrl") if isinstance(details, dict) else None
        return page["items"], next_url if isinstance(next_url, str) and next_url else None

    def test_connection(self) -> str:
        """Zone discovery and a one-record Companies query; what failed is in AutotaskError."""
        zone = self.discover_zone()
        list(self.query("Companies", [{"op": "gte", "field": "id", "value": 0}], max_records=1))
        return zone

    # -- HTTP with retries --

    def _call(self, method: str, url: str, *, what: str, **kwargs) -> Any:
        last: AutotaskError | None = None
        for attempt in range(1, self.attempts + 1):
            wait = self.backoff * 2 ** (attempt - 1)
            self.requests += 1
            try:
                response = self._http.request(method, url, **kwargs)
            except httpx.TimeoutException:
                last = AutotaskError(f"{what}: Autotask did not answer in time.", "timeout")
            except httpx.TransportError as error:
                host = httpx.URL(url).host
                last = AutotaskError(
                    f"{what}: cannot reach {host} ({type(error).__name__}).", "unreachable"
                )
            else:
                status = response.status_code
                if status in (401, 403):
                    raise AutotaskError(
                        f"{what}: Autotask refused the credentials ({status}): check the API "
                        f"user, the secret and the integration code. {_errors(response)}".strip(),
                        "auth",
                    )
                if status == 429:
                    wait = self._retry_after(response, wait)
                    last = AutotaskError(
                        f"{what}: Autotask's rate limit was hit (429) {attempt} times in a row; "
                        "the sync will try again at its next run.",
                        "rate_limited",
                    )
                elif status >= 500:
                    last = AutotaskError(
                        f"{what}: Autotask answered {status}: {_errors(response)}", "server"
                    )
                elif status >= 400:
                    raise AutotaskError(
                        f"{what}: Autotask refused the request ({status}): {_errors(response)}",
                        "bad_request",
                    )
                else:
                    try:
                        return json.loads(response.text, parse_float=Decimal)
                    except ValueError:
                        last = AutotaskError(f"{what}: Autotask's answer is not JSON.", "malformed")
            if attempt < self.attempts:
                logger.info("autotask %s failed (%s), retrying in %.1fs", what, last.kind, wait)
                self.sleep(min(wait, self.max_wait))
        assert last is not None
        raise last

    def _retry_after(self, response: httpx.Response, default: float) -> float:
        try:
            return min(max(float(response.headers.get("Retry-After", "")), 0.0), self.max_wait)
        except ValueError:
            return default
