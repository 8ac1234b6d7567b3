"""How long the autopay job takes for N invoices due today, on PostgreSQL, against the sandbox
gateway (a subprocess), with one or more workers running the job at once.

    createdb -h 127.0.0.1 -U postgres remit_autopay_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/remit_autopay_bench \\
        .venv/bin/python bench/autopay_job.py [--invoices 10000] [--organizations 100] [--workers 1]

The database is migrated and given fresh data on every run: `--organizations` organizations, each
with a manager whose Visa is in the sandbox's vault and enrolled in autopay (on the due date), and
`--invoices` invoices between them, all due today (distinct amounts, so the gateway's duplicate
check never fires). Then `--workers` processes run `run_autopay()` at the same moment; the wall
time until all have finished is the job's time. Afterwards it checks what the tests check, for this
run's invoices (earlier runs' rows stay in the database): every invoice has one attempt, charged,
and nothing left due; the sandbox (fresh each run) holds one sale per invoice. Any check failing
exits 1."""

from __future__ import annotations

import argparse
import multiprocessing
import os
import secrets
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def setup_django(sandbox_url: str, security_key: str) -> None:
    from _env import LIMITS

    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "remit.settings",
            "DEBUG": "0",
            "SECRET_KEY": "bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
            "ALLOWED_HOSTS": "127.0.0.1",
            "GATEWAY_URL": sandbox_url,
            "GATEWAY_SECURITY_KEY": security_key,
            "LOG_LEVEL": "WARNING",
            **{f"LIMIT_{limit}": "1000000" for limit in LIMITS},
        }
    )
    import django

    django.setup()


def prepare(organizations: int, invoices: int) -> str:
    """Returns the prefix of this run's invoice numbers."""
    from django.core.management import call_command
    from django.utils import timezone

    from remit.accounts.models import Organization, User
    from remit.accounts.services import ensure_system_security_levels
    from remit.autopay.services import enrol
    from remit.billing.models import Invoice
    from remit.core.models import Provider
    from remit.gateway import get_gateway
    from remit.gateway.base import Card
    from remit.payments.models import PaymentMethod
    from remit.testing.cards import VISA

    call_command("migrate", verbosity=0)
    provider = Provider.load()
    provider.name, provider.country, provider.internal_currency = "Bench IT", "US", "USD"
    provider.autopay_enabled = True
    provider.autopay_on_due_date = True
    provider.save()
    levels = ensure_system_security_levels()
    gateway = get_gateway(provider)
    today = timezone.localdate(timezone=provider.zone)
    run = secrets.token_hex(3)
    year = today.year + 3
    rows = []
    for o in range(organizations):
        organization = Organization.objects.create(name=f"Bench {run} {o}")
        user = User.objects.create_user(
            f"bench-{run}-{o}@bench.example",
            None,
            organization=organization,
            security_level=levels["Manager"],
        )
        vault = gateway.vault_add(card=Card(VISA, 12, year, "123"))
        method = PaymentMethod.objects.create(
            owner=user,
            kind="card",
            vault_id=vault.customer_vault_id,
            brand="Visa",
            last4=VISA[-4:],
            exp_month=12,
            exp_year=year,
            initial_transaction_id=vault.transaction_id or "3000000000",
        )
        enrol(user=user, method=method, trigger="due_date", cap=None, ip_address=None)
        per = invoices // organizations + (1 if o < invoices % organizations else 0)
        for i in range(per):
            amount = Decimal(1000 + i) + Decimal(o % 100) / 100
            rows.append(
                Invoice(
                    organization=organization,
                    number=f"B{run}-{o}-{i}",
                    invoice_date=today - timedelta(days=30),
                    due_date=today,
                    subtotal=amount,
                    total=amount,
                    issued_at=timezone.now(),
                )
            )
    Invoice.objects.bulk_create(rows, batch_size=2000)
    print(f"prepared {len(rows)} invoices due {today} in {organizations} organizations")
    return f"B{run}-"


def worker(barrier, results, sandbox_url, security_key):
    setup_django(sandbox_url, security_key)
    from remit.autopay.charge import run_autopay

    barrier.wait()
    started = time.perf_counter()
    counts = run_autopay()
    results.put((time.perf_counter() - started, counts))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--invoices", type=int, default=10_000)
    parser.add_argument("--organizations", type=int, default=100)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("set DATABASE_URL to a PostgreSQL database of its own (see the docstring)")

    from remit.testing import SandboxGatewayProcess

    with SandboxGatewayProcess() as sandbox:
        setup_django(sandbox.url, sandbox.security_key)
        prefix = prepare(args.organizations, args.invoices)
        from django.db import connections

        connections.close_all()
        context = multiprocessing.get_context("fork")
        barrier = context.Barrier(args.workers + 1)
        results = context.Queue()
        processes = [
            context.Process(
                target=worker, args=(barrier, results, sandbox.url, sandbox.security_key)
            )
            for _ in range(args.workers)
        ]
        for process in processes:
            process.start()
        barrier.wait()
        started = time.perf_counter()
        outcomes = [results.get() for _ in processes]
        wall = time.perf_counter() - started
        for process in processes:
            process.join()

        from django.db.models import Count, Sum

        from remit.autopay.models import Attempt
        from remit.billing.models import Invoice

        mine = Attempt.objects.filter(invoice__number__startswith=prefix)
        by_state = dict(mine.values_list("state").annotate(n=Count("id")))
        per_invoice = set(
            mine.values("invoice").annotate(n=Count("id")).values_list("n", flat=True)
        )
        left_due = Invoice.objects.filter(number__startswith=prefix).aggregate(s=Sum("amount_due"))
        sales = sandbox.health()
        print(f"workers: {args.workers}")
        for seconds, counts in outcomes:
            print(f"  one worker: {seconds:.1f} s  {counts}")
        print(f"this run's attempts by state: {by_state}; attempts per invoice: {per_invoice}")
        print(f"left due on this run's invoices: {left_due['s']}")
        print(f"sandbox: {sales}")
        charged = by_state.get("charged", 0)
        print(f"wall time: {wall:.1f} s for {charged} charges ({charged / wall:.1f} per second)")
        failures = []
        if by_state != {"charged": args.invoices}:
            failures.append(f"expected {args.invoices} attempts, all charged")
        if per_invoice != {1}:
            failures.append("an invoice with more than one attempt")
        if left_due["s"] != 0:
            failures.append("an invoice left with something due")
        if sales.get("transactions") != args.invoices:
            failures.append(f"expected {args.invoices} sales at the sandbox")
        if failures:
            sys.exit("FAIL: " + "; ".join(failures))
        print("OK: every invoice charged once, one sale each at the gateway")


if __name__ == "__main__":
    main()
