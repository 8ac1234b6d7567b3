"""Time of an Autotask sync from the sandbox: 10,000 invoices with about 40,000 billing items (a
benchmark, not a test). Runs the first sync (everything created), then a second one with no change
(everything skipped), on the database DATABASE_URL names, and prints both with their counts.

Exact commands (from the repository root; PostgreSQL on 127.0.0.1, an empty database):

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/h16
    export DEBUG=0 SECRET_KEY=bench-only-secret ALLOWED_HOSTS=127.0.0.1
    .venv/bin/remit migrate
    .venv/bin/python bench/psa_sync.py --invoices 10000 --companies 250

Options: --invoices (10000), --companies (250, 90 % of them customers), --contacts (2 per company).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "remit.settings")

import django

django.setup()
logging.getLogger("remit").setLevel(logging.WARNING)

from django.db import connection  # noqa: E402

from remit.billing.models import InvoiceLine  # noqa: E402
from remit.core.models import Provider  # noqa: E402
from remit.psa.models import PsaConnection, SyncRun  # noqa: E402
from remit.psa.sync import run_sync  # noqa: E402
from remit.testing.autotask_sandbox import AutotaskSandboxProcess  # noqa: E402


def timed_sync(connection_row: PsaConnection) -> tuple[float, SyncRun]:
    run = SyncRun.objects.create(connection=connection_row, trigger="bench")
    started = time.perf_counter()
    run = run_sync(run.pk)
    return time.perf_counter() - started, run


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--invoices", type=int, default=10_000)
    parser.add_argument("--companies", type=int, default=250)
    parser.add_argument("--contacts", type=int, default=2)
    options = parser.parse_args()
    Provider.load()
    if PsaConnection.objects.exists():
        sys.exit("This database already has a PSA connection: use an empty, migrated database.")
    with AutotaskSandboxProcess(
        companies=options.companies,
        contacts_per_company=options.contacts,
        invoices=options.invoices,
        start_timeout=120,
    ) as sandbox:
        counts = sandbox.health()
        print(
            f"sandbox: {counts['Companies']} companies, {counts['Contacts']} contacts, "
            f"{counts['Invoices']} invoices, {counts['BillingItems']} billing items"
        )
        row = PsaConnection(
            username=sandbox.username,
            integration_code=sandbox.integration_code,
            zone_lookup_url=sandbox.zone_lookup_url,
            company_types=[1],
        )
        row.secret = sandbox.secret
        row.save()
        for label in ("first sync (creates)", "second sync (no change)"):
            seconds, run = timed_sync(row)
            print(
                f"{label}: {seconds:.1f} s, status {run.status}, {run.requests} Autotask requests; "
                + "; ".join(
                    f"{entity} " + "/".join(str(run.counts[entity][k]) for k in run.counts[entity])
                    for entity in ("companies", "contacts", "invoices")
                )
                + " (created/updated/skipped/failed/flagged)"
            )
    print(f"invoice lines in Remit: {InvoiceLine.objects.count()} ({connection.vendor})")


if __name__ == "__main__":
    main()
