"""Payments through the whole flow (Remit + the sandbox gateway) on PostgreSQL.

    createdb -h 127.0.0.1 -U postgres remit_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/remit_bench \\
        .venv/bin/python bench/payment_throughput.py [--payments 400] [--clients 4] [--workers 4]

1. Throughput: gunicorn (`--workers` sync workers) and the sandbox gateway run as subprocesses; each of
   `--clients` threads signs in as its own manager and pays its own invoices over HTTP exactly as the
   browser does (open the Make a Payment window, post the form confirmed): the first payment with a
   new card saved to the vault, the rest with that saved card. The clients sign in first, then the
   clock starts; gunicorn runs with `--preload`, as docs/deploy.md runs it. Prints payments per
   second.
2. Remit's own time per payment: the same requests made in-process (Django's test client, no HTTP
   server in between), with the gateway's HTTP round trip timed separately; Remit's time is the
   request's time minus the gateway's. Prints medians and p95.

The database is migrated and given fresh data (its own organization and invoices) on every run,
then VACUUM ANALYZEd (as autovacuum keeps a production database).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import subprocess
import sys
import threading
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

import httpx
from _env import bench_environment

from remit.testing.cards import VISA

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "bench-password-2026"
CARD = VISA


def environment(sandbox) -> dict[str, str]:
    return bench_environment(sandbox, LOG_LEVEL="WARNING")


AMOUNT_BASE = random.randrange(10_000, 5_000_000)  # cents; every amount of a run is distinct


def prepare(clients: int, per_client: int, run: str, offset: int = 0):
    """A provider, one organization, one manager per client and their invoices (distinct amounts,
    so the gateway's duplicate check never fires)."""
    from remit.accounts.models import Organization, User
    from remit.accounts.services import ensure_system_security_levels
    from remit.billing.services import LineSpec, invoice_create
    from remit.core.models import Provider

    provider = Provider.load()
    provider.name, provider.country, provider.internal_currency = "Bench IT", "US", "USD"
    provider.save()
    manager_level = ensure_system_security_levels()["Manager"]
    organization = Organization.objects.create(name=f"Bench {run}")
    today = date.today()
    plan = []
    for c in range(clients):
        user = User.objects.create_user(
            f"bench-{run}-{c}@bench.example",
            PASSWORD,
            organization=organization,
            security_level=manager_level,
            first_name="Bench",
            last_name=str(c),
        )
        invoices = []
        for i in range(per_client):
            amount = Decimal(AMOUNT_BASE + offset + c * per_client + i) / 100
            invoices.append(
                invoice_create(
                    organization=organization,
                    number=f"B{run}-{c}-{i}",
                    invoice_date=today,
                    due_date=today,
                    lines=[LineSpec("Managed services", Decimal(1), amount)],
                ).pk
            )
        plan.append((user.email, invoices))
    return plan


def settle_statistics() -> None:
    """VACUUM ANALYZE after the data is made: the tables as autovacuum keeps them in production
    (a reused bench database would otherwise carry the dead index entries and stale row estimates
    of its earlier runs — a seq scan where the planner thinks a table is small)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


SANDBOX = None  # the sandbox process of the run: new cards are tokenized there, as Collect.js does


def pay_form(window_html: str, card: bool) -> dict[str, str]:
    def field(name):
        return re.search(rf'name="{name}" value="([^"]*)"', window_html).group(1)

    data = {
        "csrfmiddlewaretoken": field("csrfmiddlewaretoken"),
        "attempt_key": field("attempt_key"),
        "amount": field("amount"),
        "confirmed": "yes",
    }
    if card:
        year = (date.today().year + 2) % 100
        data.update(
            {
                "method": "new_card",
                "payment_token": SANDBOX.card_token(CARD, exp=f"12{year:02d}"),
                "card-first_name": "Bench",
                "card-last_name": "Mark",
                "card-address1": "1 Main St",
                "card-city": "Seattle",
                "card-state": "WA",
                "card-zip": "98101",
                "card-country": "US",
                "card-save": "on",
            }
        )
    else:
        data["method"] = re.search(r'name="method" value="(saved:\d+)"', window_html).group(1)
    return data


def throughput(base_url: str, plan) -> tuple[int, float]:
    errors: list[str] = []
    # Every client signs in before the clock starts: a sign-in (a password hash, by design slow)
    # is not a payment. Until 2026-12-03 the sign-ins were inside the timed part.
    signed_in = threading.Barrier(len(plan) + 1)

    def client_run(email, invoices):
        with httpx.Client(base_url=base_url, timeout=60) as http:
            try:
                login = http.get("/login/")
                token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login.text)
                http.post(
                    "/login/",
                    data={
                        "csrfmiddlewaretoken": token.group(1),
                        "username": email,
                        "password": PASSWORD,
                    },
                )
            finally:
                signed_in.wait()
            for n, pk in enumerate(invoices):
                window = http.get(f"/invoices/{pk}/pay/" + ("?add=card" if n == 0 else ""))
                done = http.post(f"/invoices/{pk}/pay/", data=pay_form(window.text, card=n == 0))
                if "Payment has been processed" not in done.text:
                    errors.append(f"{email} invoice {pk}: {done.status_code}")

    threads = [threading.Thread(target=client_run, args=item) for item in plan]
    for thread in threads:
        thread.start()
    signed_in.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise SystemExit(f"{len(errors)} payments failed, e.g. {errors[:3]}")
    return sum(len(invoices) for _, invoices in plan), elapsed


def own_time(plan) -> tuple[list[float], list[float]]:
    """In-process: (request seconds, gateway seconds) per payment."""
    from django.test import Client

    from remit.gateway.nmi import NmiGateway

    gateway_time = threading.local()
    original = NmiGateway._transact

    def timed(self, operation, fields):
        started = time.perf_counter()
        try:
            return original(self, operation, fields)
        finally:
            gateway_time.value += time.perf_counter() - started

    NmiGateway._transact = timed
    totals, gateways = [], []
    try:
        for email, invoices in plan:
            client = Client()
            client.post("/login/", {"username": email, "password": PASSWORD})
            for n, pk in enumerate(invoices):
                window = client.get(f"/invoices/{pk}/pay/" + ("?add=card" if n == 0 else ""))
                data = pay_form(window.content.decode(), card=n == 0)
                gateway_time.value = 0.0
                started = time.perf_counter()
                response = client.post(f"/invoices/{pk}/pay/", data)
                totals.append(time.perf_counter() - started)
                gateways.append(gateway_time.value)
                assert b"Payment has been processed" in response.content, re.findall(
                    rb"banner[^>]*>([^<]+)", response.content
                )
    finally:
        NmiGateway._transact = original
    return totals, gateways


def ms(values, q=None):
    if q is None:
        return f"{statistics.median(values) * 1000:.1f} ms"
    return f"{statistics.quantiles(values, n=100)[q - 1] * 1000:.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--payments", type=int, default=400)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--own-time-payments", type=int, default=200)
    parser.add_argument("--port", type=int, default=8765)
    options = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        raise SystemExit("Set DATABASE_URL to a scratch PostgreSQL database (see the docstring).")

    sys.path.insert(0, str(ROOT))
    from remit.testing import SandboxGatewayProcess

    global SANDBOX
    with SandboxGatewayProcess(extra_args=("--quiet",)) as sandbox:
        SANDBOX = sandbox
        env = environment(sandbox)
        os.environ.update(env)
        subprocess.run([sys.executable, "-m", "remit", "migrate", "-v", "0"], env=env, check=True)
        subprocess.run(
            [sys.executable, "-m", "remit", "collectstatic", "--noinput", "-v", "0"],
            env=env,
            check=True,
        )
        import django

        django.setup()
        run = str(int(time.time()))
        per_client = max(options.payments // options.clients, 1)
        plan = prepare(options.clients, per_client, run)
        own_plan = prepare(1, options.own_time_payments, run + "o", offset=options.payments + 1)
        settle_statistics()

        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "remit.wsgi",
                "--preload",  # as docs/deploy.md runs it: loaded and warmed once, then forked
                "--bind",
                f"127.0.0.1:{options.port}",
                "--workers",
                str(options.workers),
                "--log-level",
                "warning",
            ],
            env=env,
            cwd=ROOT,
        )
        try:
            base = f"http://127.0.0.1:{options.port}"
            for _ in range(100):
                try:
                    httpx.get(base + "/healthz", timeout=1)
                    break
                except httpx.HTTPError:
                    time.sleep(0.1)
            count, elapsed = throughput(base, plan)
        finally:
            server.terminate()
            server.wait(timeout=10)

        totals, gateways = own_time(own_plan)
        remit = [t - g for t, g in zip(totals, gateways, strict=True)]

    print(f"Throughput: {count} payments in {elapsed:.1f} s = {count / elapsed:.1f} payments/s")
    print(
        f"  ({options.clients} clients, gunicorn {options.workers} sync workers, PostgreSQL, sandbox gateway;"
    )
    print("   each client's first payment with a new card saved to the vault, the rest with it)")
    print(f"Per payment, in-process ({len(totals)} payments, one after another):")
    print(f"  whole request  median {ms(totals)}, p95 {ms(totals, 95)}")
    print(f"  gateway HTTP   median {ms(gateways)}, p95 {ms(gateways, 95)}")
    print(f"  Remit's own    median {ms(remit)}, p95 {ms(remit, 95)}")


if __name__ == "__main__":
    main()
