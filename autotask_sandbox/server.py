"""The Autotask sandbox's HTTP side (stdlib only).

    GET  /atservicesrest/v1.0/ZoneInformation?user=<api user>     the zone's base URL
    POST /webservices1/atservicesrest/v1.0/<Entity>/query         JSON filter, IncludeFields
    GET  /webservices1/atservicesrest/v1.0/<Entity>/query/next?paging=...   the next page
    /_sandbox/...                                                 health, faults, edits (tests)

Zone discovery is real: the API lives under the path the zone answer names, not where
ZoneInformation is asked. Every zone request must carry the three headers ApiIntegrationCode,
UserName and Secret; a wrong one is 401. Errors are `{"errors": [...]}` documents.
"""

from __future__ import annotations

import base64
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from autotask_sandbox.faults import FAULT_MODES, MALFORMED, Fault, Faults
from autotask_sandbox.store import ENTITIES, FilterError, Store, check_filter

ZONE_PATH = "/atservicesrest/v1.0/ZoneInformation"
ZONE_PREFIX = "/webservices1/atservicesrest/v1.0/"
PAGE_SIZE = 500
MAX_BODY = 1024 * 1024


class AutotaskSandboxServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        store: Store,
        *,
        username: str,
        secret: str,
        integration_code: str,
        run_fault: str | None = None,
        quiet: bool = False,
    ) -> None:
        super().__init__(address, Handler)
        self.store = store
        self.username, self.secret, self.integration_code = username, secret, integration_code
        self.faults = Faults(run_fault)
        self.quiet = quiet
        self.bad_zone = False
        self.queries = 0
        self._lock = threading.Lock()

    def count_query(self) -> None:
        with self._lock:
            self.queries += 1

    def handle_error(self, request, client_address) -> None:  # no traceback, ever
        exc = sys.exc_info()[1]
        if not isinstance(exc, (ConnectionError, TimeoutError)):
            self.log(f"error: {type(exc).__name__}")

    def log(self, line: str) -> None:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()


def _encode_paging(state: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(state, separators=(",", ":")).encode()).decode()


def _decode_paging(token: str) -> dict:
    try:
        state = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, UnicodeDecodeError):
        raise FilterError("The paging token is not valid.") from None
    if not isinstance(state, dict):
        raise FilterError("The paging token is not valid.")
    return state


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "AutotaskSandbox/1.0"
    sys_version = ""
    timeout = 60
    disable_nagle_algorithm = True
    server: AutotaskSandboxServer

    # -- routing --

    def do_GET(self) -> None:
        self._guard(self._get)

    def do_POST(self) -> None:
        self._guard(self._post)

    def _guard(self, handler) -> None:
        try:
            handler()
        except Exception as exc:
            self.server.log(f"error in {self.command} {urlsplit(self.path).path}: {exc!r}")
            self._json(500, {"errors": ["Internal Server Error"]})

    def _get(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/_sandbox/health":
            self._json(
                200, {"status": "ok", "queries": self.server.queries, **self.server.store.counts()}
            )
        elif url.path.lower() == ZONE_PATH.lower():
            self._zone(parse_qs(url.query).get("user", [""])[0])
        elif url.path.startswith(ZONE_PREFIX) and url.path.endswith("/query/next"):
            entity = url.path[len(ZONE_PREFIX) : -len("/query/next")]
            token = parse_qs(url.query).get("paging", [""])[0]
            self._query(entity, paging=token)
        elif url.path in ("", "/"):
            self._send(200, b"Remit's Autotask sandbox (REST API subset). See docs/autotask.md.\n")
        else:
            self._json(404, {"errors": ["Not Found"]})

    def _post(self) -> None:
        path = urlsplit(self.path).path
        if path.startswith("/_sandbox/"):
            self._control(path)
        elif path.startswith(ZONE_PREFIX) and path.endswith("/query"):
            self._query(path[len(ZONE_PREFIX) : -len("/query")], paging=None)
        else:
            self._json(404, {"errors": ["Not Found"]})

    def _read_json(self):
        length = int(self.headers.get("Content-Length") or 0)
        if not 0 <= length <= MAX_BODY:
            self.close_connection = True
            raise FilterError("The request body is too large.")
        raw = self.rfile.read(length)
        try:
            return json.loads(raw or b"{}")
        except ValueError:
            raise FilterError("The request body is not JSON.") from None

    # -- zone information --

    def _base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def _zone(self, user: str) -> None:
        if user.lower() != self.server.username.lower():
            self._json(404, {"errors": [f"Zone information could not be determined for {user!r}."]})
            return
        # The bad_zone switch names a zone nobody listens on (port 9 is "discard").
        base = "http://127.0.0.1:9" if self.server.bad_zone else self._base_url()
        self._json(
            200,
            {
                "zoneName": "Sandbox Zone 1",
                "url": f"{base}/webservices1/atservicesrest/",
                "webUrl": f"{base}/",
                "ci": 1,
            },
        )

    # -- queries --

    def _authorized(self) -> bool:
        headers, server = self.headers, self.server
        return (
            headers.get("ApiIntegrationCode", "") == server.integration_code
            and headers.get("UserName", "").lower() == server.username.lower()
            and headers.get("Secret", "") == server.secret
        )

    def _query(self, entity: str, *, paging: str | None) -> None:
        if paging is None:
            body = self._read_json_or_error()
            if body is _ERROR:
                return
        if not self._authorized():
            self._json(
                401,
                {"errors": ["Unauthorized: the API user, secret or integration code is wrong."]},
            )
            return
        canonical = next((name for name in ENTITIES if name.lower() == entity.lower()), None)
        if canonical is None:
            self._json(404, {"errors": [f"Unknown entity {entity!r}."]})
            return
        self.server.count_query()
        fault = self.server.faults.take()
        if fault is not None:
            if fault.mode == "rate_limit":
                self._json(
                    429,
                    {"errors": ["Rate limit exceeded: too many requests. Retry later."]},
                    extra={"Retry-After": str(fault.retry_after)},
                )
                return
            if fault.mode == "http_500":
                self._json(500, {"errors": ["An unexpected error occurred."]})
                return
            if fault.mode == "malformed":
                self._send(200, MALFORMED, "application/json; charset=utf-8")
                return
            if fault.mode == "timeout":
                time.sleep(fault.delay)
        try:
            if paging is None:
                if not isinstance(body, dict):
                    raise FilterError("The request body must be a JSON object.")
                lowered = {key.lower(): value for key, value in body.items()}
                state = {
                    "f": check_filter(lowered.get("filter")),
                    "i": lowered.get("includefields") or [],
                    "m": lowered.get("maxrecords") or PAGE_SIZE,
                    "a": 0,
                }
                if not isinstance(state["m"], int) or not 1 <= state["m"] <= PAGE_SIZE:
                    raise FilterError(f"MaxRecords must be between 1 and {PAGE_SIZE}.")
                if not isinstance(state["i"], list):
                    raise FilterError("IncludeFields must be a list of field names.")
            else:
                state = _decode_paging(paging)
                check_filter(state.get("f"))
            items, more = self.server.store.query(
                canonical, state["f"], after_id=int(state["a"]), limit=int(state["m"])
            )
        except FilterError as error:
            self._json(500, {"errors": [str(error)]})
            return
        if state["i"]:
            wanted = {name.lower() for name in state["i"]} | {"id"}
            items = [{k: v for k, v in item.items() if k.lower() in wanted} for item in items]
        next_url = None
        if more and items:
            token = _encode_paging({**state, "a": items[-1]["id"]})
            next_url = f"{self._base_url()}{ZONE_PREFIX}{canonical}/query/next?paging={token}"
        self._json(
            200,
            {
                "items": items,
                "pageDetails": {
                    "count": len(items),
                    "requestCount": state["m"],
                    "prevPageUrl": None,
                    "nextPageUrl": next_url,
                },
            },
        )

    def _read_json_or_error(self):
        try:
            return self._read_json()
        except FilterError as error:
            self._json(400, {"errors": [str(error)]})
            return _ERROR

    # -- control (tests and the demo) --

    def _control(self, path: str) -> None:
        body = self._read_json_or_error()
        if body is _ERROR:
            return
        if self.headers.get("Secret", "") != self.server.secret:
            self._json(403, {"errors": ["The control endpoints need the sandbox's Secret header."]})
            return
        store = self.server.store
        if path == "/_sandbox/fault":
            mode = body.get("mode", "none")
            if mode == "bad_zone":
                self.server.bad_zone = bool(body.get("on", True))
                self._json(200, {"bad_zone": self.server.bad_zone})
                return
            if mode not in (*FAULT_MODES, "none"):
                self._json(
                    400,
                    {"errors": [f"mode must be one of {', '.join(FAULT_MODES)}, bad_zone, none"]},
                )
                return
            fault = None
            if mode != "none":
                fault = Fault(mode, float(body.get("delay", 5.0)), int(body.get("retry_after", 1)))
            self.server.faults.set(fault, int(body.get("count", 1)), int(body.get("after", 0)))
            self._json(200, {"mode": mode})
        elif path == "/_sandbox/update":
            record = store.update(
                body.get("entity", ""), int(body.get("id", 0)), body.get("fields", {})
            )
            if record is None:
                self._json(404, {"errors": ["No such record."]})
            else:
                self._json(200, record)
        elif path == "/_sandbox/insert":
            entity, record = body.get("entity", ""), dict(body.get("record", {}))
            if entity not in ENTITIES:
                self._json(400, {"errors": [f"entity must be one of {', '.join(ENTITIES)}"]})
                return
            record.setdefault("id", store.next_id(entity))
            store.insert_many(entity, [record])
            self._json(200, record)
        elif path == "/_sandbox/generate":
            from autotask_sandbox.book import generate

            store.reset()
            book = generate(**{key: body[key] for key in body if key in GENERATE_OPTIONS})
            for entity, records in book.items():
                store.insert_many(entity, records)
            self._json(200, store.counts())
        elif path == "/_sandbox/reset":
            store.reset()
            self.server.faults.set(None)
            self.server.bad_zone = False
            self._json(200, {"status": "reset"})
        else:
            self._json(404, {"errors": ["Not Found"]})

    # -- answers --

    def _json(self, status: int, data, extra: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(data).encode(), "application/json; charset=utf-8", extra)

    def _send(
        self, status: int, body: bytes, content_type: str = "text/plain; charset=utf-8", extra=None
    ) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in (extra or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)
        except (ConnectionError, TimeoutError):
            self.close_connection = True

    def log_request(self, code="-", size="-") -> None:
        if not self.server.quiet:
            self.server.log(f"{self.command} {urlsplit(self.path).path} {code}")

    def log_message(self, format: str, *args) -> None:
        if not self.server.quiet:
            self.server.log(format % args)


_ERROR = object()
GENERATE_OPTIONS = ("companies", "contacts_per_company", "invoices", "seed", "anomalies")
