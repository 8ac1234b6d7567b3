"""Webhook signatures. Each request carries

    Webhook-Id: <the event's id, the same on every attempt: deduplicate on it>
    Webhook-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, f"{t}.{raw body}")>

A receiver recomputes the HMAC over the raw body bytes as received (before parsing JSON), compares
in constant time, and refuses timestamps far from its clock (replays). `verify` does all three and
has no dependency on Django: copy it into a receiver if that helps."""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "Webhook-Signature"
ID_HEADER = "Webhook-Id"
DEFAULT_TOLERANCE = 300  # seconds


class SignatureError(ValueError):
    pass


def compute(secret: str, timestamp: int, body: bytes) -> str:
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, *, timestamp: int | None = None) -> str:
    """The Webhook-Signature header's value."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    return f"t={timestamp},v1={compute(secret, timestamp, body)}"


def verify(
    secret: str,
    header: str,
    body: bytes,
    *,
    tolerance: int = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> int:
    """Check a Webhook-Signature header against the raw body; return its timestamp, or raise
    SignatureError. Several v1 values may be present (one per secret, while rotating)."""
    timestamp, signatures = None, []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1" and value:
            signatures.append(value)
    if timestamp is None or not signatures:
        raise SignatureError("malformed signature header")
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance:
        raise SignatureError("timestamp outside the tolerance")
    expected = compute(secret, timestamp, body)
    if not any(hmac.compare_digest(expected, signature) for signature in signatures):
        raise SignatureError("signature mismatch")
    return timestamp
