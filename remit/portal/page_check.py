"""Change detection for the payment page (PCI DSS 6.4.3 / 11.6.1, SAQ A's "not susceptible to
attacks from scripts"; docs/pci.md).

`check_payment_page()` fetches the payment page as a browser would — the Make a Payment window
with the gateway's hosted fields, through every middleware — lists each script it loads, fetches
each one and hashes what was served, and keeps the security headers. The inventory is compared
with the newest approved one; on a difference staff are alerted (an audit event and an email) and
the new set waits in the back office for a person to approve it.

Fetching: over HTTP from `PAYMENT_PAGE_CHECK_URL` (the portal's public address — what clients
get, proxies included) when set, else in-process through Django's whole stack. The page is
`/pay/page-check/<signature>/`: the real template, view code, scripts and headers, with a
stand-in invoice (no login, no data); the signature (from SECRET_KEY) keeps it to the checker.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import logging
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urljoin

import httpx
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from remit.audit.services import record_event
from remit.core.models import PaymentPageSnapshot

logger = logging.getLogger(__name__)

SECURITY_HEADERS = (
    "content-security-policy",
    "content-security-policy-report-only",
    "x-frame-options",
    "x-content-type-options",
    "referrer-policy",
    "strict-transport-security",
    "cross-origin-opener-policy",
    "permissions-policy",
)


def signature() -> str:
    return hmac.new(
        settings.SECRET_KEY.encode(), b"payment-page-check", hashlib.sha256
    ).hexdigest()[:32]


def check_path() -> str:
    return reverse("payment_page_check", args=[signature()])


# --- The page, as the checker sees it -----------------------------------------------------------


def payment_page_view(request, sig: str):
    """The Make a Payment window with a new card, for a stand-in invoice (nothing from the
    database but the provider's settings)."""
    from types import SimpleNamespace

    from remit.portal.payment_forms import NEW_CARD, BankForm, CardForm, PayForm
    from remit.portal.payment_views import _hosted_fields, _render

    if not hmac.compare_digest(sig, signature()):
        raise Http404
    today = timezone.localdate()
    invoice = SimpleNamespace(
        pk=0,
        number="PAGE-CHECK",
        invoice_date=today,
        due_date=today,
        amount_due=100,
        total=100,
        amount_paid=0,
    )
    provider = request.provider
    context = {
        "invoice": invoice,
        "methods": [],
        "blocked": None,
        "nav": "reports",
        "hosted": _hosted_fields(provider),
        "form": PayForm(
            initial={"attempt_key": PayForm.new_attempt_key(), "method": NEW_CARD, "amount": 100},
            methods=[],
            offers_card=True,
            offers_echeck=provider.offers_echeck,
        ),
        "card_form": CardForm(prefix="card"),
        "bank_form": BankForm(prefix="bank"),
        "show": NEW_CARD,
        "authorization_text": "",
    }
    response = _render(request, context)
    response["X-Robots-Tag"] = "noindex"
    return response


# --- Fetching and hashing ------------------------------------------------------------------------


class _Scripts(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[dict[str, str]] = []
        self._inline: dict[str, str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag != "script":
            return
        attrs = dict(attrs)
        entry = {"src": attrs.get("src") or "", "integrity": attrs.get("integrity") or ""}
        self.found.append(entry)
        if not entry["src"]:
            self._inline = entry
            entry["inline"] = ""

    def handle_data(self, data):
        if self._inline is not None:
            self._inline["inline"] += data

    def handle_endtag(self, tag):
        if tag == "script":
            self._inline = None


@dataclass(frozen=True)
class Fetched:
    status: int
    headers: dict[str, str]
    body: bytes


def _fetch(url: str, base: str) -> Fetched:
    """An absolute URL (the gateway, or the portal over HTTP) with httpx; a path in-process."""
    if url.startswith(("http://", "https://")):
        answer = httpx.get(url, timeout=10.0, follow_redirects=False)
        return Fetched(
            answer.status_code, {k.lower(): v for k, v in answer.headers.items()}, answer.content
        )
    from django.test import Client

    host = next((h for h in settings.ALLOWED_HOSTS if h and "*" not in h), "localhost").lstrip(".")
    client = Client(HTTP_HOST=host)
    response = client.get(url, secure=not settings.DEBUG and settings.SECURE_SSL_REDIRECT)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return Fetched(response.status_code, {k.lower(): v for k, v in response.items()}, body)


def sha384(body: bytes) -> str:
    import base64

    return "sha384-" + base64.b64encode(hashlib.sha384(body).digest()).decode()


def page_inventory(base_url: str = "") -> dict:
    """The payment page's scripts (each fetched and hashed) and security headers."""
    base = base_url.rstrip("/")
    page_url = (base + check_path()) if base else check_path()
    page = _fetch(page_url, base)
    if page.status != 200:
        raise RuntimeError(f"the payment page answered HTTP {page.status}")
    parser = _Scripts()
    parser.feed(page.body.decode("utf-8", "replace"))
    scripts = []
    for entry in parser.found:
        if not entry["src"]:
            scripts.append({"inline": sha384(entry["inline"].encode())})
            continue
        src = entry["src"]
        # Relative sources from the portal (over HTTP when checking its public address).
        src_url = urljoin(base + "/", src) if base else src
        served = _fetch(src_url, base)
        scripts.append(
            {
                "src": entry["src"],
                "integrity": entry["integrity"],
                "status": served.status,
                "sha384": sha384(served.body),
            }
        )
    headers = {name: page.headers[name] for name in SECURITY_HEADERS if name in page.headers}
    return {"scripts": scripts, "headers": headers}


def digest_of(inventory: dict) -> str:
    return hashlib.sha256(json.dumps(inventory, sort_keys=True).encode()).hexdigest()


# --- Checking, alerting, approving ---------------------------------------------------------------


@dataclass(frozen=True)
class CheckResult:
    status: str  # unchanged | changed | first (nothing approved yet)
    snapshot: PaymentPageSnapshot
    differences: list[str]


def differences(old: dict, new: dict) -> list[str]:
    """What changed, one line each, for people."""
    lines = []
    old_scripts = {s.get("src") or s.get("inline"): s for s in old.get("scripts", [])}
    new_scripts = {s.get("src") or s.get("inline"): s for s in new.get("scripts", [])}
    for key in new_scripts.keys() - old_scripts.keys():
        lines.append(f"new script: {key}")
    for key in old_scripts.keys() - new_scripts.keys():
        lines.append(f"script gone: {key}")
    for key in new_scripts.keys() & old_scripts.keys():
        if new_scripts[key] != old_scripts[key]:
            lines.append(f"script changed: {key}")
    old_headers, new_headers = old.get("headers", {}), new.get("headers", {})
    for name in sorted(old_headers.keys() | new_headers.keys()):
        if old_headers.get(name) != new_headers.get(name):
            lines.append(
                f"header {name}: {old_headers.get(name, '(none)')!r} -> {new_headers.get(name, '(none)')!r}"
            )
    return sorted(lines)


def check_payment_page(*, base_url: str | None = None, alert: bool = True) -> CheckResult:
    """Compare what the page loads now with the approved set. `alert=False` (approving what
    you just deployed) records the set without alerting anyone."""
    base_url = settings.PAYMENT_PAGE_CHECK_URL if base_url is None else base_url
    inventory = page_inventory(base_url)
    digest = digest_of(inventory)
    approved = PaymentPageSnapshot.objects.filter(approved_at__isnull=False).first()
    if approved is not None and approved.digest == digest:
        return CheckResult("unchanged", approved, [])
    with transaction.atomic():
        latest = PaymentPageSnapshot.objects.filter(approved_at__isnull=True).first()
        if latest is not None and latest.digest == digest:
            snapshot, new = latest, False  # already reported, still waiting for approval
        else:
            snapshot, new = (
                PaymentPageSnapshot.objects.create(digest=digest, inventory=inventory),
                True,
            )
        changes = (
            differences(approved.inventory, inventory) if approved else ["nothing approved yet"]
        )
        if new and alert:
            record_event(
                "payment_page.changed",
                outcome="failure",
                obj=snapshot,
                summary="The payment page's scripts or security headers changed: "
                + "; ".join(changes)[:250],
                changes=changes,
            )
            transaction.on_commit(lambda: _email_staff(changes))
    return CheckResult("changed" if approved else "first", snapshot, changes)


def _email_staff(changes: list[str]) -> None:
    from remit.accounts.models import User

    recipients = list(
        User.objects.filter(is_staff=True, is_active=True).values_list("email", flat=True)
    )
    if not recipients:
        logger.warning("payment page changed, and no staff to tell")
        return
    send_mail(
        "Payment page changed: review and approve it in the back office",
        "The payment page's scripts or security headers are not the approved set any more:\n\n"
        + "\n".join(f"- {line}" for line in changes)
        + "\n\nIf you made this change (a deployment, a gateway update), approve the new set in "
        "the back office (Payment page checks). If you did not, treat it as an incident: the "
        "payment page may have been tampered with.\n",
        None,
        recipients,
    )


def approve_snapshot(snapshot: PaymentPageSnapshot, *, user, request=None) -> None:
    with transaction.atomic():
        snapshot.approved_at = timezone.now()
        snapshot.approved_by = user
        snapshot.save(update_fields=["approved_at", "approved_by"])
        record_event(
            "payment_page.approved",
            actor=user,
            request=request,
            obj=snapshot,
            summary=f"Payment page set {snapshot.digest[:12]} approved",
        )


def stale(snapshot: PaymentPageSnapshot, days: int = 7) -> bool:
    return snapshot.checked_at < timezone.now() - datetime.timedelta(days=days)
