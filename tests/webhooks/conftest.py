"""A webhook receiver: a real HTTP server on localhost, in a thread. It checks every signature (with
Remit's helper and, independently, with hmac itself), keeps every request, and answers from a
script: e.g. [500, 200] answers 500 first, then 200."""

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from remit.webhooks import signing
from remit.webhooks.models import WebhookEndpoint
from tests.api.conftest import pay_several  # noqa: F401  (one payment of several invoices)
from tests.payments.conftest import due_invoice, pay  # noqa: F401  (the sandbox gateway's)

SECRET = "whsec_test-receiver-secret"


class Receiver:
    def __init__(self, secret: str = SECRET):
        self.secret = secret
        self.script: list[int | tuple[int, float]] = []  # status, or (status, seconds to wait)
        self.requests: list[dict] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_port}/hooks/remit"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def _handler(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append(receiver.check(dict(self.headers), body))
                step = receiver.script.pop(0) if receiver.script else 200
                status, wait = step if isinstance(step, tuple) else (step, 0)
                if wait:
                    time.sleep(wait)
                reply = b'{"ok": true}' if status < 300 else b"receiver says no"
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(reply)))
                    self.end_headers()
                    self.wfile.write(reply)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the sender gave up waiting

            def log_message(self, *args):
                pass

        return Handler

    def check(self, headers: dict, body: bytes) -> dict:
        header = headers.get(signing.SIGNATURE_HEADER, "")
        try:
            signing.verify(self.secret, header, body)
            helper_ok = True
        except signing.SignatureError:
            helper_ok = False
        parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
        expected = hmac.new(
            self.secret.encode(), parts.get("t", "").encode() + b"." + body, hashlib.sha256
        ).hexdigest()
        return {
            "headers": headers,
            "body": body,
            "json": json.loads(body),
            "signed": helper_ok and hmac.compare_digest(expected, parts.get("v1", "")),
        }

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._server.shutdown()
        self._server.server_close()

    @property
    def events(self) -> list[str]:
        return [r["json"]["type"] for r in self.requests]


@pytest.fixture
def receiver():
    receiver = Receiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture
def endpoint(receiver, db):
    return WebhookEndpoint.objects.create(url=receiver.url, secret=SECRET, description="PSA")
