"""Latency of the statement and aging pages on a database filled by `remit seed-scale` (a benchmark,
not a test): the client's Statement (`/reports/statement/`, as the Manager of the organization with
the most invoices), and the back office's dashboard (`/backoffice/`) and aging report
(`/backoffice/reports/aging/`, on screen and as CSV), as provider staff.

Staff sign in the way staff do — email and password, then a TOTP code — as a bench-only staff
member this script creates in the bench database (`bench-staff@remit.invalid`, a superuser with an
authenticator device whose secret the script holds to compute the code). Nothing in Remit changes
for it; drop the bench database afterwards.

As in bench/invoice_list_latency.py: 100 requests per scenario with one httpx client against a
real gunicorn process (after 3 unmeasured warm-up requests), wall-clock median, p95 and max; the
query count and SQL time of one extra request made in-process with Django's test client.

Exact commands (from the repository root; 2 cores, PostgreSQL on 127.0.0.1), after the
seed-scale steps of bench/README.md:

    .venv/bin/gunicorn remit.wsgi -b 127.0.0.1:8765 -w 2 &
    .venv/bin/python bench/reports_latency.py --url http://127.0.0.1:8765
    kill %1

Options: --requests (default 100), --password (seed-scale's, for the Manager).
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
# Django set up, the largest organization's Manager and the client sign-in: shared with the
# invoice list's bench.
from invoice_list_latency import largest_organization_manager, measure, sign_in

# isort: split

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from remit.accounts.models import User
from remit.billing.models import Invoice
from remit.core.management.commands.seed_scale import SCALE_PASSWORD

STAFF_EMAIL = "bench-staff@remit.invalid"
STAFF_PASSWORD = "bench-staff-password-2026"


def bench_staff() -> tuple[User, TOTPDevice]:
    staff = User.objects.filter(email=STAFF_EMAIL).first()
    if staff is None:
        staff = User.objects.create_superuser(STAFF_EMAIL, STAFF_PASSWORD)
    device, _ = TOTPDevice.objects.get_or_create(
        user=staff, confirmed=True, defaults={"name": "bench"}
    )
    return staff, device


def _post_form(client: httpx.Client, path: str, data: dict[str, str]) -> httpx.Response:
    page = client.get(path)
    page.raise_for_status()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    if not token:
        sys.exit(f"No CSRF token on {page.url}.")
    return client.post(
        page.url.raw_path.decode(),
        data={**data, "csrfmiddlewaretoken": token[1]},
        headers={"Referer": str(page.url)},
    )


def sign_in_staff(client: httpx.Client, device: TOTPDevice) -> None:
    """Email and password, then the current code of the authenticator app."""
    signed = _post_form(
        client, "/backoffice/login/", {"username": STAFF_EMAIL, "password": STAFF_PASSWORD}
    )
    if signed.status_code != 302 or "/mfa/verify/" not in signed.headers.get("location", ""):
        sys.exit(f"Staff sign-in refused (HTTP {signed.status_code}).")
    device.refresh_from_db()
    code = f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"
    verified = _post_form(client, signed.headers["location"], {"code": code})
    if verified.status_code != 302 or "/mfa/" in verified.headers.get("location", ""):
        sys.exit(f"The TOTP code was refused (HTTP {verified.status_code}).")


def queries_per_request(client: Client, path: str) -> tuple[int, float]:
    client.get(path)  # warm the connection and the template cache
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200, response.status_code
    return len(captured), sum(float(q["time"]) for q in captured.captured_queries) * 1000


def report(name: str, timings: list[float], queries: int, sql_ms: float) -> None:
    p95 = statistics.quantiles(timings, n=100, method="inclusive")[94]
    print(
        f"{name:<44} {statistics.median(timings):>6.1f}ms {p95:>6.1f}ms "
        f"{max(timings):>6.1f}ms {queries:>8} {sql_ms:>7.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8765")
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--password", default=SCALE_PASSWORD)
    args = parser.parse_args()

    organization, manager = largest_organization_manager()
    staff, device = bench_staff()
    open_count = Invoice.objects.filter(state="issued", amount_due__gt=0).count()
    print(
        f"{Invoice.objects.count():,} invoices, {open_count:,} open; statement: "
        f"{organization.name} ({organization.invoice_count:,} invoices) as {manager.email}; "
        f"back office as {STAFF_EMAIL}; {args.requests} requests per scenario, one client, "
        f"{args.url}"
    )
    print(f"{'scenario':<44} {'median':>8} {'p95':>8} {'max':>8} {'queries':>8} {'SQL ms':>7}")

    in_process = Client(HTTP_HOST="127.0.0.1")
    in_process.force_login(manager)
    with httpx.Client(base_url=args.url, timeout=60) as client:
        sign_in(client, manager.email, args.password)
        for name, path, expect in [
            ("client Statement (as of today)", "/reports/statement/", "Aging"),
            (
                "client Statement, as of a year ago",
                "/reports/statement/?as_of=2025-12-01",
                "Aging",
            ),
        ]:
            report(
                name,
                measure(client, path, args.requests, expect),
                *queries_per_request(in_process, path),
            )

    in_process = Client(HTTP_HOST="127.0.0.1")
    in_process.force_login(staff)
    session = in_process.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    with httpx.Client(base_url=args.url, timeout=60) as client:
        sign_in_staff(client, device)
        for name, path, expect in [
            ("back-office dashboard", "/backoffice/", "Aging of all organizations"),
            ("aging report, largest total first", "/backoffice/reports/aging/", "Aging report"),
            (
                "aging report by name, page 5",
                "/backoffice/reports/aging/?sort=organization&page=5",
                "Aging report",
            ),
            ("aging report CSV (every organization)", "/backoffice/reports/aging.csv", "Total"),
        ]:
            report(
                name,
                measure(client, path, args.requests, expect),
                *queries_per_request(in_process, path),
            )


if __name__ == "__main__":
    main()
