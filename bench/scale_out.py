"""Scale-out: two gunicorn instances and three `remit worker` processes on one PostgreSQL and one
Redis (docs/deploy.md), paid through over HTTP, then checked from the database that nothing ran
twice. Anyone can run it:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<any database of yours> \\
        .venv/bin/python bench/scale_out.py [--payments 400] [--clients 8] [--redis-db 12]

It creates a scratch database next to DATABASE_URL's (dropped at the end), starts the sandbox
gateway, two gunicorn instances (`--web-workers` sync workers each, own ports, the same database
and `CACHE_URL=redis://127.0.0.1:6379/<--redis-db>`) and three `remit worker` processes (each with
its scheduler: reconciliation every 60 s, as in production, or `--reconcile-every`), the processes
bench/faults.py uses (bench/_stack.py).

Each payment is its own signed-in payer on its own invoice, as the browser does it: the Make a
Payment window opened on one instance and the form posted to the other (alternating), so a session
and its CSRF token made by one instance must hold on the other. `--clients` payers at a time. The
receipts (one email job per payment) and the periodic jobs (reconciliation, …) are done by the
workers; the emails go to files (Django's file backend), one file per message sent. After the
last payment it waits (up to `--drain-seconds`) until every receipt is done with and no job is
waiting or running, then lets the schedulers run a few more seconds and stops everything.

Then, from Remit's database, the sandbox's records and the email files: one approved sale at the
gateway per order id and per invoice, no sale Remit does not know; one receipt row per payment,
sent at its first attempt, and exactly one message written for it; every job claimed at most
once (`worker_ids`: one worker) and finished, one email job per email, one periodic job per
(job, slot) row. Any of these failing exits 1.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import os
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import _stack
from _payers import Payer
from faults import Data, say

# The defaults of RECONCILE_EVERY and RECONCILE_NOT_FOUND_AFTER in remit/settings.py.
PRODUCTION_RECONCILE_EVERY = 60
PRODUCTION_RECONCILE_NOT_FOUND_AFTER = 300


def pay(payer: Payer, post_to: str) -> str:
    """Open the window on the payer's instance, post the form to the other one."""
    payer.open()
    payer.http.base_url = post_to
    return payer.post()


def drain(organization, payments: int, seconds: float) -> tuple[bool, float, str]:
    """Wait until every receipt is done with and no job at all is waiting or running (email or
    periodic: a worker stopped in the middle of one would fail the checks); whether that came
    within `seconds`, how long it took, and what was left when it stopped waiting."""
    from django_tasks_db.models import DBTaskResult

    from remit.outbox.models import EmailKind, EmailStatus, OutgoingEmail

    started = time.monotonic()
    left = ""
    while time.monotonic() - started < seconds:
        receipts = OutgoingEmail.objects.filter(
            kind=EmailKind.RECEIPT, payment__organization=organization
        )
        pending = payments - receipts.exclude(status=EmailStatus.PENDING).count()
        busy = Counter(
            DBTaskResult.objects.filter(status__in=["READY", "RUNNING"]).values_list(
                "task_path", flat=True
            )
        )
        if pending <= 0 and not busy:
            return True, time.monotonic() - started, ""
        left = f"{pending} receipts pending, jobs waiting or running: " + ", ".join(
            f"{n} {path.rsplit('.', 1)[-1]}" for path, n in busy.most_common()
        )
        time.sleep(0.2)
    return False, time.monotonic() - started, left


def messages(directory: Path) -> list[tuple[str, str]]:
    """(To, Subject) of every message the file backend wrote (a line of 79 dashes after each)."""
    found = []
    for path in sorted(directory.glob("*.log")):
        for chunk in path.read_text(errors="replace").split("\n" + "-" * 79 + "\n"):
            if chunk.strip():
                message = email.message_from_string(chunk, policy=email.policy.default)
                found.append((str(message["To"]), str(message["Subject"])))
    return found


def check(sandbox, organization, mail_dir: Path, workers: int) -> bool:
    from django_tasks_db.models import DBTaskResult

    from remit.core.models import PeriodicRun
    from remit.core.periodic import periodic_jobs
    from remit.gateway.nmi import parse_query_xml
    from remit.outbox.models import EmailKind, EmailStatus, OutgoingEmail
    from remit.payments.models import APPLIED_STATES, Payment

    payments = {p.order_id: p for p in Payment.objects.filter(organization=organization)}
    approved = [p for p in payments.values() if p.state in APPLIED_STATES]
    sales = [s for s in parse_query_xml(sandbox.query_xml(action_type="sale"))]
    per_order = Counter(s.order_id for s in sales if s.sale_approved)
    strays = sum(order not in payments for order in per_order)
    per_invoice = Counter(payments[o].invoice_id for o in per_order if o in payments)
    sales_ok = (
        strays == 0
        and all(per_order[p.order_id] == 1 for p in approved)
        and all(n == 1 for n in per_invoice.values())
        and len(per_order) == len(approved)
    )
    say(
        f"Payments: {len(payments)}, {len(approved)} approved; approved sales at the sandbox: "
        f"{sum(per_order.values())} for {len(per_order)} order ids "
        f"(most for one order id: {max(per_order.values(), default=0)}, for one invoice: "
        f"{max(per_invoice.values(), default=0)}), {strays} Remit does not know"
    )

    receipts = list(
        OutgoingEmail.objects.filter(kind=EmailKind.RECEIPT, payment__organization=organization)
    )
    per_payment = Counter(r.payment_id for r in receipts)
    written = messages(mail_dir)
    written_count = Counter(written)
    expected = Counter((", ".join(r.recipients), r.subject) for r in receipts)
    mail_ok = (
        len(receipts) == len(approved)
        and all(n == 1 for n in per_payment.values())
        and all(r.status == EmailStatus.SENT and r.attempts == 1 for r in receipts)
        and written_count == expected
    )
    say(
        f"Receipts: {len(receipts)} rows for {len(per_payment)} payments, "
        f"{sum(r.status == EmailStatus.SENT for r in receipts)} sent, attempts "
        f"{dict(Counter(r.attempts for r in receipts))}; messages written: {len(written)} "
        f"(most for one (To, Subject): {max(written_count.values(), default=0)})"
    )

    results = list(DBTaskResult.objects.all())
    runs = Counter(len(r.worker_ids) for r in results)
    by_status = Counter(r.status for r in results)
    by_task = Counter(r.task_path.rsplit(".", 1)[-1] for r in results)
    by_worker = Counter(r.worker_ids[0] for r in results if r.worker_ids)
    email_jobs = Counter(
        r.args_kwargs["args"][0] for r in results if r.task_path.endswith("send_email")
    )
    periodic = Counter(PeriodicRun.objects.values_list("name", flat=True))
    paths = Counter(r.task_path for r in results)
    once_per_slot = all(
        paths[path] == periodic[name] for name, (path, _) in periodic_jobs().items()
    )
    # A job enqueued by a scheduler in its last slots may still wait (READY, never claimed) when
    # the workers stop; every claimed one must have been claimed once and finished.
    tasks_ok = (
        all(
            (r.status == "SUCCESSFUL" and len(r.worker_ids) == 1)
            or (r.status == "READY" and not r.worker_ids)
            for r in results
        )
        and all(n == 1 for n in email_jobs.values())
        and len(email_jobs) == len(receipts)
        and once_per_slot
        and len(by_worker) == workers
    )
    say(
        f"Jobs: {len(results)} ({', '.join(f'{n} {t}' for t, n in by_task.most_common())}); "
        f"status {dict(by_status)}; claimed by how many workers each: {dict(runs)}; "
        f"per worker {sorted(by_worker.values(), reverse=True)}"
    )
    for r in results:
        if r.status not in ("SUCCESSFUL", "READY"):
            say(f"  {r.status}: {r.task_path} {r.exception_class_path} {r.traceback[-300:]!r}")
    say(
        f"Email jobs: {len(email_jobs)} for {len(receipts)} receipts (most for one email: "
        f"{max(email_jobs.values(), default=0)}); periodic runs (one per job and slot): "
        f"{dict(periodic)}"
    )
    return sales_ok and mail_ok and tasks_ok


def run(options, env: dict[str, str], sandbox, logs: Path) -> bool:
    data = Data()
    webs = [_stack.Web(env, logs, options.web_workers, name=f"gunicorn{n}").start() for n in (1, 2)]
    workers = [_stack.worker(env, logs, name=f"worker{n}").start() for n in (1, 2, 3)]
    try:
        say(
            f"Stack: 2 gunicorn instances ({options.web_workers} sync workers each, ports "
            f"{webs[0].port} and {webs[1].port}), 3 remit workers, PostgreSQL, "
            f"{env['CACHE_URL']}, sandbox gateway"
        )
        jobs = []
        for n in range(options.payments):
            first, other = webs[n % 2], webs[(n + 1) % 2]
            jobs.append((Payer(first.url, data.session(n), data.invoice("scale")), other.url))
        say(f"{options.payments} payers signed in, each with an invoice of its own")
        started = time.monotonic()
        with ThreadPoolExecutor(options.clients) as pool:
            outcomes = Counter(pool.map(lambda job: pay(*job), jobs))
        elapsed = time.monotonic() - started
        say(
            f"{options.payments} payments, {options.clients} at a time, over both instances: "
            f"{elapsed:.1f} s, {options.payments / elapsed:.1f} payments/s; {dict(outcomes)}"
        )
        drained, waited, left = drain(data.organization, options.payments, options.drain_seconds)
        if drained:
            say(f"receipts sent and queue empty {waited:.1f} s after the last payment")
        else:
            say(f"NOT drained {waited:.1f} s after the last payment: {left}")
        time.sleep(options.settle_seconds)  # the schedulers' next slots, on all three workers
        for web in webs:
            with Path(web.log_path).open() as log:
                errors = [x for x in log if "Traceback" in x or "Error" in x]
            if errors:
                say(f"{web.name}: {len(errors)} error lines in its log")
    finally:
        _stack.stop_all(*workers, *webs)
        say("stack stopped")
    ok = outcomes.get("processed", 0) == options.payments and drained
    return check(sandbox, data.organization, Path(env["REMIT_BENCH_MAIL_DIR"]), len(workers)) and ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--payments", type=int, default=400)
    parser.add_argument("--clients", type=int, default=8, help="payers at a time")
    parser.add_argument("--web-workers", type=int, default=2, help="per gunicorn instance")
    parser.add_argument("--redis-db", type=int, default=12)
    parser.add_argument(
        "--reconcile-every",
        type=int,
        default=PRODUCTION_RECONCILE_EVERY,
        help=f"seconds between reconciliation slots (production: {PRODUCTION_RECONCILE_EVERY})",
    )
    parser.add_argument(
        "--drain-seconds",
        type=float,
        default=120.0,
        help="how long to wait after the last payment for the receipts and every job",
    )
    parser.add_argument("--settle-seconds", type=float, default=6.0)
    parser.add_argument("--keep-database", action="store_true")
    options = parser.parse_args()
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith("postgres"):
        parser.error("DATABASE_URL must be a PostgreSQL database (the workers share its queue)")

    def extra_env(logs: Path) -> dict[str, str]:
        (logs / "mail").mkdir()
        return {
            "CACHE_URL": f"redis://127.0.0.1:6379/{options.redis_db}",
            # Reconciliation as in production (bench/faults.py's 2 s and 3 s are for its faults;
            # here nothing is lost, and 2 s slots put a pass over the open payments in the
            # workers' queue every 2 s, competing with the receipts).
            "RECONCILE_EVERY": str(options.reconcile_every),
            "RECONCILE_NOT_FOUND_AFTER": str(PRODUCTION_RECONCILE_NOT_FOUND_AFTER),
            "EMAIL_BACKEND": "bench._mail.EmailBackend",  # files, one per message sent
            "REMIT_BENCH_MAIL_DIR": str(logs / "mail"),
        }

    return _stack.run_bench(options, run, say, extra_env=extra_env)


if __name__ == "__main__":
    sys.exit(main())
