"""Hosted payment fields for the sandbox: our own Collect.js, one iframe per field, single-use
payment tokens, the BIN table and the public tokenization keys.

How a token is made (docs/gateway.md, "Hosted fields"):

1. The merchant's page loads `GET /token/Collect.js` with `data-tokenization-key`; its
   `CollectJS.configure()` draws one iframe per field from `GET /token/inline.php` (this server's
   origin), each with a random session id shared by the page and its iframes.
2. `CollectJS.startPaymentRequest()` asks every iframe to send its value; each iframe posts it to
   `POST /token/api/field` (same origin as the iframe, so the merchant's page never sees it).
3. The page then posts `POST /token/api/create` (key and session): the fields are checked together,
   turned into a token, and the answer carries only masked values.
4. `transact.php` takes the token once (`HostedFields.take`), approved or declined: a used,
   expired or unknown token, or one made with another merchant's key, is refused.

Card and account numbers live here only in memory (sessions for 10 minutes, tokens for 24 hours),
never in the SQLite file and never in a log line.
"""

from __future__ import annotations

import hashlib
import html
import json
import secrets
import string
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from sandbox_gateway import cards

TOKEN_LIFETIME = 24 * 3600.0  # NMI: a token is good for 24 hours
SESSION_LIFETIME = 600.0  # typed values waiting for their token
MAX_SESSIONS = 10_000
STATIC = Path(__file__).resolve().parent / "static"
CARD_FIELDS = ("ccnumber", "ccexp", "cvv")
CHECK_FIELDS = ("checkname", "checkaccount", "checkaba")
FIELDS = CARD_FIELDS + CHECK_FIELDS
# What a field is called in an iframe that was given no title.
DEFAULT_TITLES = {
    "ccnumber": "Card number",
    "ccexp": "Expiration date",
    "cvv": "Security code",
    "checkname": "Name on account",
    "checkaccount": "Account number",
    "checkaba": "Routing number",
}

# --- Tokenization keys -----------------------------------------------------------------------------

_ALPHABET = string.ascii_letters + string.digits


def tokenization_key_for(security_key: str) -> str:
    """The public tokenization key that goes with a private security key, in NMI's shape
    (four groups of six). Derived one way: knowing it tells nothing about the security key."""
    digest = hashlib.sha256(b"sandbox-tokenization-key:" + security_key.encode()).digest()
    chars = [_ALPHABET[b % len(_ALPHABET)] for b in digest[:24]]
    return "-".join("".join(chars[i : i + 6]) for i in range(0, 24, 6))


# --- BIN table -------------------------------------------------------------------------------------

# The card category by BIN (the first six digits), as a BIN look-up would give it. The
# documented test cards of each category are in docs/gateway.md; any other BIN is "credit" when
# it belongs to a known brand's test range below, else "unknown".
BIN_CATEGORIES = {
    "411111": "credit",  # Visa 4111 1111 1111 1111
    "543111": "credit",  # Mastercard 5431 1111 1111 1111
    "341111": "credit",  # Amex 3411 111111 11111
    "601100": "credit",  # Discover 6011 0009 9130 0009
    "400000": "credit",  # the sandbox's Visa triggers 4000 0000 0000 ....
    "400005": "debit",  # Visa debit 4000 0566 5566 5556
    "555555": "debit",  # Mastercard debit 5555 5555 5555 4444
    "403587": "prepaid",  # Visa prepaid 4035 8740 0000 0005
    "511111": "prepaid",  # Mastercard prepaid 5111 1111 1111 1118
}


def card_category(number: str) -> str:
    """credit, debit, prepaid or unknown."""
    return BIN_CATEGORIES.get(number[:6], "unknown")


# --- Field checks (the iframes run the same rules in inline.js) ----------------------------------


def _digits(value: str) -> str:
    return value.replace(" ", "").replace("-", "")


def field_problem(name: str, value: str, *, today: tuple[int, int]) -> str:
    """'' when the value is acceptable on its own, else the message for validationCallback."""
    value = value.strip()
    if name == "ccnumber":
        number = _digits(value)
        if not number:
            return "Card number is required"
        if not (12 <= len(number) <= 19) or not cards.luhn_valid(number):
            return "Card number is invalid"
        if not cards.card_brand(number):
            return "Card type is not accepted"
    elif name == "ccexp":
        expiry = cards.parse_ccexp(value.replace(" ", ""))
        if not value:
            return "Expiration date is required"
        if expiry is None:
            return "Expiration date must be MM/YY"
        if cards.expired(*expiry, *today):
            return "Card is expired"
    elif name == "cvv":
        if not value:
            return "Security code is required"
        if not (value.isdigit() and 3 <= len(value) <= 4):
            return "Security code must be 3 or 4 digits"
    elif name == "checkname":
        if not value:
            return "Name on account is required"
        if len(value) > 100:
            return "Name on account is too long"
    elif name == "checkaccount":
        if not value:
            return "Account number is required"
        if not cards.account_valid(_digits(value)):
            return "Account number must be 4 to 17 digits"
    elif name == "checkaba":
        if not value:
            return "Routing number is required"
        if not cards.routing_valid(_digits(value)):
            return "Routing number is invalid"
    else:
        return "Unknown field"
    return ""


# --- The store -------------------------------------------------------------------------------------


@dataclass
class Token:
    """What a payment token stands for. Kept in memory only; its repr shows no number."""

    key: str  # the tokenization key that made it
    kind: str  # card | check
    values: dict[str, str] = field(repr=False)
    created: float = 0.0


class TokenRefused(Exception):
    """transact.php refuses the token (unknown, used, expired, or another merchant's)."""


class FieldError(Exception):
    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field_name, self.message = field_name, message


class HostedFields:
    def __init__(
        self, security_keys: tuple[str, ...], *, clock: Callable[[], float] = time.time
    ) -> None:
        self.clock = clock
        self.lock = threading.Lock()
        self.keys = {tokenization_key_for(k): k for k in security_keys}
        self._sessions: dict[tuple[str, str], tuple[float, dict[str, str]]] = {}
        self._tokens: dict[str, Token] = {}

    def known_key(self, tokenization_key: str) -> bool:
        return tokenization_key in self.keys

    def _today(self) -> tuple[int, int]:
        now = datetime.fromtimestamp(self.clock(), UTC)
        return now.year, now.month

    def _purge(self, now: float) -> None:
        for key in [k for k, (t, _) in self._sessions.items() if now - t > SESSION_LIFETIME]:
            del self._sessions[key]
        for token in [t for t, v in self._tokens.items() if now - v.created > TOKEN_LIFETIME]:
            del self._tokens[token]

    def save_field(self, tokenization_key: str, session: str, name: str, value: str) -> None:
        """An iframe's value, kept until the page asks for its token. Raises FieldError."""
        if not self.known_key(tokenization_key):
            raise FieldError(name, "Invalid tokenization key")
        if name not in FIELDS or not (16 <= len(session) <= 64) or len(value) > 120:
            raise FieldError(name, "Invalid field")
        if problem := field_problem(name, value, today=self._today()):
            raise FieldError(name, problem)
        now = self.clock()
        with self.lock:
            self._purge(now)
            if len(self._sessions) >= MAX_SESSIONS:
                raise FieldError(name, "Too many requests")
            _, values = self._sessions.get((tokenization_key, session), (now, {}))
            values[name] = value.strip()
            self._sessions[(tokenization_key, session)] = (now, values)

    def create_token(self, tokenization_key: str, session: str, kind: str) -> dict:
        """The Collect.js response for this session's values (masked), or FieldError."""
        if not self.known_key(tokenization_key):
            raise FieldError("", "Invalid tokenization key")
        names = CARD_FIELDS if kind == "card" else CHECK_FIELDS
        now = self.clock()
        with self.lock:
            self._purge(now)
            _, values = self._sessions.pop((tokenization_key, session), (now, {}))
        for name in names:
            if name not in values:
                raise FieldError(name, DEFAULT_TITLES[name] + " is required")
        values = {name: values[name] for name in names}
        if kind == "card":
            number = _digits(values["ccnumber"])
            brand = cards.card_brand(number)
            if not cards.cvv_length_ok(values["cvv"], brand):
                digits = 4 if brand == "amex" else 3
                raise FieldError("cvv", f"Security code must be {digits} digits")
            month, year = cards.parse_ccexp(values["ccexp"].replace(" ", ""))  # checked on save
            values = {
                "ccnumber": number,
                "ccexp": f"{month:02d}{year % 100:02d}",
                "cvv": values["cvv"],
            }
        else:
            values["checkaccount"] = _digits(values["checkaccount"])
            values["checkaba"] = _digits(values["checkaba"])
        token = "-".join(
            "".join(secrets.choice(_ALPHABET) for _ in range(n)) for n in (8, 6, 6, 12)
        )
        with self.lock:
            self._tokens[token] = Token(tokenization_key, kind, values, now)
        return _response(token, kind, values)

    def take(self, token: str, security_key: str) -> Token:
        """The token for one transact.php call, destroyed by it whatever the outcome."""
        now = self.clock()
        with self.lock:
            found = self._tokens.get(token)
            if found is None or now - found.created > TOKEN_LIFETIME:
                self._tokens.pop(token, None)
                raise TokenRefused("Invalid Payment Token")
            if self.keys.get(found.key) != security_key:
                # Another merchant's token: refused and left alone (it is not theirs to destroy).
                raise TokenRefused("Invalid Payment Token")
            del self._tokens[token]
        return found

    def is_token(self, token: str) -> bool:
        with self.lock:
            return token in self._tokens

    def reset(self) -> None:
        with self.lock:
            self._sessions.clear()
            self._tokens.clear()


def _response(token: str, kind: str, values: Mapping[str, str]) -> dict:
    """Collect.js's callback argument: masked values only."""
    empty = {"number": None, "bin": None, "exp": None, "hash": None, "type": None, "category": None}
    card, check = dict(empty), {"name": None, "account": None, "aba": None, "hash": None}
    if kind == "card":
        number = values["ccnumber"]
        card = {
            "number": number[:6] + "*" * (len(number) - 10) + number[-4:],
            "bin": number[:6],
            "exp": values["ccexp"],
            "hash": hashlib.sha256(b"sandbox-card:" + number.encode()).hexdigest()[:32],
            "type": cards.card_brand(number),
            "category": card_category(number),
        }
    else:
        account = values["checkaccount"]
        check = {
            "name": values["checkname"],
            "account": "*" * (len(account) - 4) + account[-4:],
            "aba": values["checkaba"],
            "hash": hashlib.sha256(b"sandbox-check:" + account.encode()).hexdigest()[:32],
        }
    return {"tokenType": "inline", "token": token, "card": card, "check": check}


# --- HTTP ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    content_type: str
    headers: tuple[tuple[str, str], ...] = ()


STATIC_FILES = {
    "/token/Collect.js": ("collect.js", "application/javascript; charset=UTF-8"),
    "/token/inline.js": ("inline.js", "application/javascript; charset=UTF-8"),
    "/token/inline.css": ("inline.css", "text/css; charset=UTF-8"),
    "/token/styles.css": ("styles.css", "text/css; charset=UTF-8"),
}
# The field iframe's own page: only its own script and style, framed by anyone (the merchant's
# origin is checked in postMessage, both ways).
INLINE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'"
)


def handle_get(path: str, query: Mapping[str, str]) -> Answer | None:
    """GET /token/...; None when the path is not ours."""
    if path in STATIC_FILES:
        name, content_type = STATIC_FILES[path]
        headers = (("Access-Control-Allow-Origin", "*"), ("Cache-Control", "no-cache"))
        return Answer(200, (STATIC / name).read_bytes(), content_type, headers)
    if path == "/token/inline.php":
        return _inline_page(query)
    return None


def _inline_page(query: Mapping[str, str]) -> Answer:
    name = query.get("field", "")
    parent = query.get("parent", "")
    parts = urlsplit(parent)
    if name not in FIELDS or parts.scheme not in ("http", "https") or not parts.netloc:
        return Answer(400, b"Bad Request\n", "text/plain; charset=UTF-8")
    data = {
        "field": name,
        "parent": f"{parts.scheme}://{parts.netloc}",
        "session": query.get("session", ""),
        "key": query.get("key", ""),
        "instance": query.get("instance", ""),
    }
    title = query.get("title", "") or DEFAULT_TITLES[name]
    placeholder = query.get("placeholder", "")
    mode = {"ccnumber": "numeric", "ccexp": "numeric", "cvv": "numeric", "checkname": "text"}
    autocomplete = {
        "ccnumber": "cc-number",
        "ccexp": "cc-exp",
        "cvv": "cc-csc",
        "checkname": "name",
    }.get(name, "off")
    attrs = " ".join(f'data-{k}="{html.escape(v)}"' for k, v in data.items())
    body = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>{html.escape(title)}</title>
<link rel="stylesheet" href="/token/inline.css">
<script src="/token/inline.js" defer></script>
</head><body {attrs}>
<input id="field" name="{name}" aria-label="{html.escape(title)}" placeholder="{html.escape(placeholder)}"
 inputmode="{mode.get(name, "numeric")}" autocomplete="{autocomplete}" spellcheck="false" maxlength="{100 if name == "checkname" else 24}">
</body></html>
"""
    headers = (("Content-Security-Policy", INLINE_CSP), ("Cache-Control", "no-store"))
    return Answer(200, body.encode(), "text/html; charset=UTF-8", headers)


def handle_post(
    hosted: HostedFields, path: str, form: Mapping[str, str], origin: str
) -> Answer | None:
    """POST /token/api/...; None when the path is not ours. Answers are JSON."""
    if path == "/token/api/field":
        try:
            hosted.save_field(
                form.get("key", ""),
                form.get("session", ""),
                form.get("field", ""),
                form.get("value", ""),
            )
        except FieldError as error:
            return _json(200, {"valid": False, "message": error.message}, origin)
        return _json(200, {"valid": True}, origin)
    if path == "/token/api/create":
        kind = "check" if form.get("payment", "") == "check" else "card"
        try:
            answer = hosted.create_token(form.get("key", ""), form.get("session", ""), kind)
        except FieldError as error:
            return _json(
                200, {"error": {"field": error.field_name, "message": error.message}}, origin
            )
        return _json(200, answer, origin)
    return None


def _json(status: int, data: dict, origin: str) -> Answer:
    # The page (another origin) reads the token answer: CORS for that origin only, no cookies.
    headers = [("Cache-Control", "no-store")]
    if origin:
        headers += [("Access-Control-Allow-Origin", origin), ("Vary", "Origin")]
    return Answer(status, json.dumps(data).encode() + b"\n", "application/json", tuple(headers))


def form_with_token(hosted: HostedFields, form: Mapping[str, str]) -> dict[str, str]:
    """transact.php's form with its payment_token replaced by the card or check fields it stands
    for (in memory, for this one call). Raises TokenRefused; the token is used up either way."""
    taken = hosted.take(form.get("payment_token", "").strip(), form.get("security_key", "").strip())
    merged = {k: v for k, v in form.items() if k != "payment_token"}
    for name in (*CARD_FIELDS, *CHECK_FIELDS):
        merged.pop(name, None)
    merged.update(taken.values)
    if taken.kind == "check":
        merged["payment"] = "check"
    return merged
