"""Test-only middleware (remit/test_settings.py): keeps every request body that reaches Remit, so
a browser test can prove that no card number, CVV or account number was ever among them."""

from __future__ import annotations

import threading

_lock = threading.Lock()
_bodies: list[tuple[str, str, bytes]] = []


def recorded() -> list[tuple[str, str, bytes]]:
    """(method, path with query, body) of every request since the last clear()."""
    with _lock:
        return list(_bodies)


def clear() -> None:
    with _lock:
        _bodies.clear()


class RequestBodyRecorder:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        with _lock:
            _bodies.append((request.method, request.get_full_path(), request.body))
        return self.get_response(request)
