"""Latency of Reports > Invoices on a database filled by `remit seed-scale` (a benchmark, not a test).

Signs in as the Manager of the organization with the most invoices, then requests the page 100
times per scenario with one client (after a few unmeasured warm-up requests) against a real
gunicorn process, and prints median, p95 and max wall-clock latency per scenario. The number of SQL
queries per request, and their time, are measured separately in-process (Django's test client, the
same database) because the server does not report them.

Exact commands (from the repository root; 2 cores, PostgreSQL on 127.0.0.1):

    createdb -h 127.0.0.1 -U postgres remit_scale
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/remit_scale
    export DEBUG=0 SECRET_KEY=bench-only-secret ALLOWED_HOSTS=127.0.0.1 SECURE_SSL_REDIRECT=0 \\
           SESSION_COOKIE_SECURE=0 CSRF_COOKIE_SECURE=0
    .venv/bin/remit migrate
    time .venv/bin/remit seed-scale --organizations 1000 --invoices 1000000
    .venv/bin/remit collectstatic --noinput
    .venv/bin/gunicorn remit.wsgi -b 127.0.0.1:8765 -w 2 &
    .venv/bin/python bench/invoice_list_latency.py --url http://127.0.0.1:8765
    kill %1

Options: --requests (default 100), --password (default: seed-scale's), --email (default: the
Manager of the largest organization).
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import statistics
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "remit.settings")

import django

django.setup()
logging.getLogger("axes").setLevel(logging.WARNING)  # force_login below would log every sign-in

from django.db import connection  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from remit.accounts.models import Organization, SecurityLevel, User  # noqa: E402
from remit.billing.models import Invoice  # noqa: E402
from remit.core.management.commands.seed_scale import SCALE_PASSWORD  # noqa: E402
from remit.portal.views import INVOICES_PER_PAGE  # noqa: E402

PATH = "/reports/invoices/"
WARM_UP = 3


def largest_organization_manager() -> tuple[Organization, User]:
    organization = (
        Organization.objects.annotate(invoice_count=Count("invoices"))
        .order_by("-invoice_count")
        .first()
    )
    manager = User.objects.filter(
        organization=organization, security_level__name=SecurityLevel.MANAGER, is_active=True
    ).first()
    if organization is None or manager is None:
        sys.exit("No organization with a Manager: run `remit seed-scale` first.")
    return organization, manager


def scenarios(organization: Organization) -> list[tuple[str, str]]:
    visible = Invoice.objects.filter(organization=organization).exclude(state=Invoice.State.DRAFT)
    pages = max(1, -(-visible.count() // INVOICES_PER_PAGE))
    deep = max(1, pages * 9 // 10)
    return [
        ("default (open invoices, newest first)", PATH),
        ("show paid, largest amount due first", f"{PATH}?show_paid=on&sort=-amount"),
        (f"show paid, amount due, page {deep} of {pages}", f"{PATH}?show_paid=on&sort=-amount&page={deep}"),
        (f"show paid, newest first, page {deep} of {pages}", f"{PATH}?show_paid=on&page={deep}"),
    ]  # fmt: skip


def sign_in(client: httpx.Client, email: str, password: str) -> None:
    page = client.get("/login/")
    page.raise_for_status()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    if not token:
        sys.exit("No CSRF token on the sign-in page.")
    response = client.post(
        "/login/",
        data={"username": email, "password": password, "csrfmiddlewaretoken": token[1]},
        headers={"Referer": f"{client.base_url}/login/"},
    )
    if response.status_code != 302 or "/login/" in response.headers.get("location", ""):
        sys.exit(f"Could not sign in as {email} (HTTP {response.status_code}).")


def queries_per_request(manager: User, path: str) -> tuple[int, float]:
    """(queries, total SQL milliseconds) for one request, in-process."""
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(manager)
    client.get(path)  # warm the connection and the template cache
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200, response.status_code
    return len(captured), sum(float(q["time"]) for q in captured.captured_queries) * 1000


def measure(client: httpx.Client, path: str, requests: int, expect: str = "invoice") -> list[float]:
    """Wall-clock milliseconds of each request; stops if the page does not show `expect`."""
    for _ in range(WARM_UP):
        client.get(path).raise_for_status()
    timings = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(path)
        timings.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
        if expect not in response.text or "/login/" in str(response.url):
            sys.exit(f"{path} did not show {expect!r}.")
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8765")
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--email")
    parser.add_argument("--password", default=SCALE_PASSWORD)
    args = parser.parse_args()

    organization, manager = largest_organization_manager()
    email = args.email or manager.email
    print(
        f"{organization.name}: {organization.invoice_count:,} invoices "
        f"(of {Invoice.objects.count():,}); signed in as {email}; "
        f"{args.requests} requests per scenario, one client, {args.url}"
    )
    print(f"{'scenario':<44} {'median':>8} {'p95':>8} {'max':>8} {'queries':>8} {'SQL ms':>7}")
    with httpx.Client(base_url=args.url, timeout=30) as client:
        sign_in(client, email, args.password)
        for name, path in scenarios(organization):
            timings = measure(client, path, args.requests)
            p95 = statistics.quantiles(timings, n=100, method="inclusive")[94]
            queries, sql_ms = queries_per_request(manager, path)
            print(
                f"{name:<44} {statistics.median(timings):>6.1f}ms {p95:>6.1f}ms "
                f"{max(timings):>6.1f}ms {queries:>8} {sql_ms:>7.1f}"
            )


if __name__ == "__main__":
    main()
