"""Back-office operations that are not money movements (those live in remit.payments.services)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from remit.core.models import Provider
from remit.gateway import (
    GatewayNotConfigured,
    gateway_configured,
    gateway_origin,
    get_gateway,
    tokenization_key,
)
from remit.gateway.base import GatewayLookupError

SECRET_SETTINGS = ("gateway_url", "gateway_security_key")


def mask_secret(value: str) -> str:
    """••••Ym: enough to recognise a value, never enough to use it."""
    value = (value or "").strip()
    if not value:
        return ""
    return "••••" + (value[-2:] if len(value) >= 8 else "")


@dataclass(frozen=True)
class ConnectionCheck:
    ok: bool
    code: str  # ok | not_configured | wrong_key | unreachable | refused
    message: str


_WRONG_KEY_MARKERS = ("authentication failed", "invalid username", "security key", "password")


def gateway_connection_check(provider: Provider) -> ConnectionCheck:
    """Ask the gateway's query API about an order id that cannot exist: an empty answer means the
    gateway accepted the key; "Authentication Failed" means a wrong key; no answer means the URL
    cannot be reached. Nothing is charged and nothing is stored."""
    if not gateway_configured(provider):
        return ConnectionCheck(
            False, "not_configured", "No gateway URL and security key are set yet."
        )
    try:
        gateway = get_gateway(provider)
        gateway.query(order_id=f"RMT-CONNECTION-TEST-{uuid.uuid4().hex[:12].upper()}")
    except GatewayNotConfigured:
        return ConnectionCheck(
            False, "not_configured", "No gateway URL and security key are set yet."
        )
    except GatewayLookupError as error:
        text = str(error)
        lowered = text.lower()
        if "refused the query" in lowered and any(m in lowered for m in _WRONG_KEY_MARKERS):
            return ConnectionCheck(
                False,
                "wrong_key",
                "The gateway refused the security key (Authentication Failed). Check the key.",
            )
        if lowered.startswith("no answer"):
            return ConnectionCheck(
                False,
                "unreachable",
                f"The gateway could not be reached ({text}). Check the gateway URL.",
            )
        return ConnectionCheck(False, "refused", f"The gateway did not accept the test: {text}.")
    return hosted_fields_check(provider)


def hosted_fields_check(provider: Provider) -> ConnectionCheck:
    """The public tokenization key is set, is not the private key, and the gateway serves
    Collect.js (the hosted fields). The gateway offers no API to check a tokenization key itself;
    a wrong one shows when the first card is typed."""
    import httpx

    key = tokenization_key(provider)
    if not key:
        return ConnectionCheck(
            False,
            "no_tokenization_key",
            "Connected: the gateway accepted the security key. The public tokenization key is "
            "not set, so new cards and bank accounts cannot be added (saved ones still pay).",
        )
    if key == (provider.gateway_security_key or "").strip():
        return ConnectionCheck(
            False,
            "tokenization_key_is_private",
            "The public tokenization key is the private security key. Replace it now with the "
            "gateway's public key: it is shown on the payment page.",
        )
    url = f"{gateway_origin(provider)}/token/Collect.js"
    try:
        answer = httpx.get(url, timeout=5.0, follow_redirects=False)
    except httpx.HTTPError as error:
        return ConnectionCheck(
            False,
            "collectjs_unreachable",
            f"Collect.js could not be loaded from {url} ({type(error).__name__}).",
        )
    if answer.status_code != 200 or "javascript" not in answer.headers.get("content-type", ""):
        return ConnectionCheck(
            False,
            "collectjs_unreachable",
            f"The gateway did not serve Collect.js at {url} (HTTP {answer.status_code}).",
        )
    return ConnectionCheck(
        True,
        "ok",
        "Connected: the gateway accepted the security key, and serves Collect.js for the "
        "public tokenization key.",
    )
