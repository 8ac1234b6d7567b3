"""The sandbox gateway's HTTP side: NMI's two endpoints, the test control endpoints, and faults.

Stdlib only. Every request is answered by the protocol or with a short plain-text status; a fault
in the sandbox itself answers `500 Internal Server Error`, never a stack trace. Request bodies are
never logged; log lines carry the method, the path without its query string, and the status.
"""

from __future__ import annotations

import json
import re
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from sandbox_gateway import hosted
from sandbox_gateway.cards import RETURN_REASONS
from sandbox_gateway.engine import Sandbox, format_answer
from sandbox_gateway.faults import (
    DEFAULT_FAULT_DELAY,
    FAULT_FIELD,
    FAULT_MODES,
    GARBAGE,
    Fault,
    Faults,
    parse_seconds,
)

__all__ = ["DEFAULT_FAULT_DELAY", "FAULT_FIELD", "FAULT_MODES", "SandboxServer"]

MAX_BODY = 256 * 1024
_LONG_NUMBER = re.compile(r"\d[\d -]{10,}\d")


def _mask(text: str) -> str:
    return _LONG_NUMBER.sub(lambda m: "••••" + re.sub(r"\D", "", m.group())[-4:], text)


class SandboxServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(
        self,
        address: tuple[str, int],
        sandbox: Sandbox,
        *,
        run_fault: str | None = None,
        fault_delay: float = DEFAULT_FAULT_DELAY,
        quiet: bool = False,
    ) -> None:
        super().__init__(address, Handler)
        self.sandbox = sandbox
        self.faults = Faults(run_fault, fault_delay)
        self.hosted = sandbox.hosted
        self.fault_delay = fault_delay
        self.quiet = quiet

    def set_fault(self, mode: str, count: int, delay: float) -> None:
        self.faults.set(mode, count, delay)

    def take_fault(self, form: dict[str, str]) -> Fault | None:
        return self.faults.take(form)

    def handle_error(self, request, client_address) -> None:  # no traceback, ever
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)):
            return
        self.log(f"error: {type(exc).__name__}")

    def log(self, line: str) -> None:
        sys.stderr.write(_mask(line) + "\n")
        sys.stderr.flush()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: clients reuse their connection
    server_version = "SandboxGateway/1.0"
    sys_version = ""
    timeout = 60  # idle keep-alive connections are closed after this
    disable_nagle_algorithm = True  # headers and body leave at once, no 40 ms delayed-ACK stall
    server: SandboxServer

    # -- routing --

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path == "/_sandbox/health":
            self._json(200, {"status": "ok", **self.server.sandbox.counts()})
        elif path.startswith("/token/"):
            answer = hosted.handle_get(path, dict(parse_qsl(urlsplit(self.path).query)))
            if answer is None:
                self._send(404, b"Not Found\n")
            else:
                self._send(answer.status, answer.body, answer.content_type, dict(answer.headers))
        elif path in ("", "/"):
            self._send(200, b"Remit sandbox gateway (NMI protocol). See docs/gateway.md.\n")
        elif path in ("/api/transact.php", "/api/query.php") or path.startswith("/_sandbox/"):
            self._send(405, b"Method Not Allowed\n", extra={"Allow": "POST"})
        else:
            self._send(404, b"Not Found\n")

    def do_POST(self) -> None:
        try:
            self._post()
        except Exception as exc:
            self.server.log(
                f"error in {self.command} {urlsplit(self.path).path}: {type(exc).__name__}"
            )
            self._send(500, b"Internal Server Error\n")

    def _post(self) -> None:
        path = urlsplit(self.path).path
        form = self._read_form()
        if form is None:
            return
        if path == "/api/transact.php":
            self._transact(form)
        elif path == "/api/query.php":
            self._send(200, self.server.sandbox.query(form), "text/xml; charset=UTF-8")
        elif path.startswith("/_sandbox/"):
            self._control(path, form)
        elif path.startswith("/token/api/"):
            origin = self.headers.get("Origin", "")
            answer = hosted.handle_post(self.server.hosted, path, form, origin)
            if answer is None:
                self._send(404, b"Not Found\n")
            else:
                self._send(answer.status, answer.body, answer.content_type, dict(answer.headers))
        else:
            self._send(404, b"Not Found\n")

    def _read_form(self) -> dict[str, str] | None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.close_connection = True
            self._send(411, b"Length Required\n")
            return None
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY:
            self.close_connection = True
            self._send(413, b"Request Entity Too Large\n")
            return None
        body = self.rfile.read(length).decode("utf-8", errors="replace")
        form: dict[str, str] = {}
        for name, value in parse_qsl(body, keep_blank_values=True):
            form.setdefault(name.strip(), value)
        return form

    # -- transact.php, with faults --

    def _transact(self, form: dict[str, str]) -> None:
        fault = self.server.take_fault(form)
        mode = fault.mode if fault else ""
        if mode == "http_500":  # nothing is processed
            self._send(500, b"Internal Server Error\n")
            return
        if mode == "garbage":  # nothing is processed
            self._send(200, GARBAGE, "text/html")
            return
        answer = format_answer(self.server.sandbox.transact(form)).encode()
        if mode == "drop_after_approve":
            # Processed and recorded; the connection is closed without a byte of answer.
            self.close_connection = True
            return
        if mode == "timeout":
            time.sleep(fault.delay)
        self._send(200, answer, "text/html; charset=UTF-8")

    # -- control endpoints (tests) --

    def _control(self, path: str, form: dict[str, str]) -> None:
        sandbox = self.server.sandbox
        if not sandbox.authorized(form.get("security_key", "")):
            self._json(403, {"error": "Authentication Failed"})
            return
        if path == "/_sandbox/fault":
            mode = form.get("mode", "").strip()
            if mode not in (*FAULT_MODES, "none"):
                self._json(400, {"error": f"mode must be one of {', '.join(FAULT_MODES)}, none"})
                return
            count = max(int(parse_seconds(form.get("count", ""), 1)), 1)
            delay = parse_seconds(form.get("delay", ""), self.server.fault_delay)
            self.server.set_fault(mode, count, delay)
            self._json(200, {"mode": mode, "count": count, "delay": delay})
        elif path == "/_sandbox/settle":
            transaction_id = form.get("transaction_id", "").strip() or None
            if transaction_id and not sandbox.transaction_exists(transaction_id):
                self._json(404, {"error": "Invalid Transaction ID specified"})
                return
            self._json(200, sandbox.settle(transaction_id))
        elif path == "/_sandbox/return":
            transaction_id = form.get("transaction_id", "").strip()
            code = form.get("code", "R01").strip().upper()
            if code not in RETURN_REASONS:
                self._json(400, {"error": f"code must be one of {', '.join(RETURN_REASONS)}"})
                return
            if not sandbox.transaction_exists(transaction_id):
                self._json(404, {"error": "Invalid Transaction ID specified"})
                return
            answer = sandbox.return_check(transaction_id, code)
            self._json(200 if answer["returned"] else 409, answer)
        elif path == "/_sandbox/credentials":
            self._json(200, {"charges": sandbox.credentials(form.get("order_id", "").strip())})
        elif path == "/_sandbox/reset":
            sandbox.reset()
            self.server.hosted.reset()
            self.server.set_fault("none", 0, 0)
            self._json(200, {"status": "reset"})
        else:
            self._json(404, {"error": "Not Found"})

    # -- answers --

    def _json(self, status: int, data: dict) -> None:
        self._send(status, json.dumps(data).encode() + b"\n", "application/json")

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str = "text/plain; charset=UTF-8",
        extra: dict[str, str] | None = None,
    ) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in (extra or {}).items():
                self.send_header(name, value)
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)
        except (ConnectionError, TimeoutError):
            self.close_connection = True  # the client went away (e.g. it timed out first)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if not self.server.quiet:
            self.server.log(f"{self.command} {urlsplit(self.path).path} {code}")

    def log_message(self, format: str, *args) -> None:
        if not self.server.quiet:
            self.server.log(format % args)
