"""The fault bench: Remit's whole stack under concurrency, gateway faults and killed processes, then
reconciled and checked against the gateway. Anyone can run it:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<any database of yours> \\
        .venv/bin/python bench/faults.py            # the full run (about 1,000 faults)
    .venv/bin/python bench/faults.py --small        # seconds; what `make test` runs

It creates a scratch database next to DATABASE_URL's (`<name>_faults_<random>`, dropped at the end;
SQLite in a temporary directory without a PostgreSQL DATABASE_URL), starts the sandbox gateway,
gunicorn (`--workers`, sync) and one `remit worker`, each on a free port, and then, over HTTP as the
browser does (open Make a Payment, post it confirmed, with a new card):

1. concurrent payers: `--payers` people at once on each of `--invoices` invoices;
2. faults, each payment on its own invoice (the sandbox's fault modes, docs/gateway.md): approved
   then the connection dropped, timeouts (the answer later than Remit's read timeout), HTTP 500,
   garbage — with the worker stopped, so that reconciliation has work to do in step 4;
3. a web worker killed (SIGKILL) while it waits on the gateway, `--web-kills` times;
4. the worker started, and killed (SIGKILL) while it reconciles; a new one started;
5. reconciliation: the worker drains, then `remit reconcile`, then a last sweep of what a killed
   web worker left `processing` (younger than the reconciler's one-minute guard).

Then it counts, from Remit's database and the gateway's records: double charges (more than one
approved sale for an invoice), orphans (payments left processing or unknown) and mismatches (an
invoice's amount paid or a payment's state differing from the gateway, or a sale Remit does not
know). Any of them non-zero, or more than one sale for an invoice in step 1, exits 1.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import threading
import time
from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import _stack
from _payers import Payer, pay_all

SMALL = {"invoices": 2, "payers": 5, "drops": 8, "timeouts": 2, "http500": 3, "garbage": 3}
FULL = {"invoices": 20, "payers": 50, "drops": 1000, "timeouts": 50, "http500": 50, "garbage": 50}


_STARTED = time.monotonic()


def say(message: str) -> None:
    print(f"[{time.monotonic() - _STARTED:5.1f} s] {message}", flush=True)


# --- Data ----------------------------------------------------------------------------------------


class Data:
    """The run's organization, people and invoices (made in-process, through Remit's services)."""

    def __init__(self):
        from remit.accounts.models import Organization
        from remit.accounts.services import ensure_system_security_levels
        from remit.core.models import Provider

        provider = Provider.load()
        provider.name, provider.country, provider.internal_currency = "Bench IT", "US", "USD"
        provider.save()
        self.level = ensure_system_security_levels()["Manager"]
        self.organization = Organization.objects.create(name="Fault bench")
        self.cents = 1000  # every invoice its own amount: the gateway's duplicate check stays out

    def invoice(self, label: str) -> int:
        from remit.billing.services import LineSpec, invoice_create

        self.cents += 1
        return invoice_create(
            organization=self.organization,
            number=f"F-{label}-{self.cents}",
            invoice_date=date.today(),
            due_date=date.today(),
            lines=[LineSpec("Managed services", Decimal(1), Decimal(self.cents) / 100)],
        ).pk

    def session(self, n: int) -> str:
        """A signed-in payer's session cookie (made directly: no password hashing per payer)."""
        from django.conf import settings
        from django.test import Client

        from remit.accounts.models import User

        user = User.objects.create_user(
            f"payer{n}@faults.example",
            None,
            organization=self.organization,
            security_level=self.level,
            first_name="Payer",
            last_name=str(n),
        )
        client = Client()
        client.force_login(user)
        return client.cookies[settings.SESSION_COOKIE_NAME].value


def line(label: str, tried: int, outcomes: Counter) -> None:
    detail = ", ".join(f"{count} {name}" for name, count in outcomes.most_common())
    say(f"  {label:<34} {tried:>5} tried: {detail}")


# --- The run -------------------------------------------------------------------------------------


def run(options, env: dict[str, str], sandbox, logs: Path) -> bool:
    from remit.payments.models import Payment

    data = Data()
    cookies = iter(data.session(n) for n in range(10**9))
    web = _stack.Web(env, logs, options.workers).start()
    work = _stack.worker(env, logs).start()
    try:
        say(
            f"Stack: gunicorn {options.workers} workers, 1 worker, {options.backend}, sandbox gateway"
        )
        # 1. Concurrent payers.
        invoices = [data.invoice("payers") for _ in range(options.invoices)]
        payers = [
            Payer(web.url, next(cookies), pk) for pk in invoices for _ in range(options.payers)
        ]
        outcomes = pay_all(payers, together=True)
        tried = len(payers)
        line(f"{options.payers} payers at once per invoice", len(payers), outcomes)
        sales = Counter(
            Payment.objects.filter(invoice__in=invoices).values_list("invoice", flat=True)
        )
        one_each = all(sales[pk] == 1 for pk in invoices) and outcomes["processed"] == len(invoices)

        # 2. Faults, with the worker stopped so reconciliation piles up for step 4.
        work.stop()
        for mode, count, label in [
            ("drop_after_approve", options.drops, "approved, then the connection dropped"),
            ("timeout", options.timeouts, "timeouts (answer after 3 s; Remit waits 2)"),
            ("http_500", options.http500, "HTTP 500"),
            ("garbage", options.garbage, "garbage answers"),
        ]:
            if not count:
                continue
            payers = [Payer(web.url, next(cookies), data.invoice(mode)) for _ in range(count)]
            sandbox.set_fault(mode, count=count, delay=3.0)
            outcomes = pay_all(payers, together=False)
            tried += count
            sandbox.set_fault("none")
            line(label, count, outcomes)

        # 3. A web worker killed while it waits on the gateway (the sale goes through there).
        killed = Counter()
        tried += options.web_kills
        for _ in range(options.web_kills):
            killed[
                kill_web_worker(web, sandbox, Payer(web.url, next(cookies), data.invoice("kill")))
            ] += 1
        if options.web_kills:
            line("web worker killed in the gateway call", options.web_kills, killed)

        # 4. The worker killed while it reconciles, then a new one.
        work = _stack.worker(env, logs).start()
        left, total = kill_while_reconciling(work, data.organization)
        say(
            f"  {'worker killed while reconciling':<34} with {left} of {total} payments still to finish"
        )
        work = _stack.worker(env, logs).start()

        # 5. Reconciliation.
        reconcile(env, data.organization, options.drain_seconds)
    finally:
        _stack.stop_all(work, web)
        say("stack stopped")
    return report(sandbox, data.organization, one_each, tried)


def kill_web_worker(web: _stack.Web, sandbox, payer: Payer) -> str:
    from remit.payments.models import Payment, PaymentState

    payer.open()
    log = Path(web.env["REMIT_BENCH_REQUEST_LOG"])
    seen = len(log.read_text().splitlines()) if log.exists() else 0
    sandbox.set_fault("timeout", count=1, delay=3.0)  # processed at once, answered late
    result: list[str] = []
    thread = threading.Thread(target=lambda: result.append(payer.post()))
    thread.start()
    path = f"POST /invoices/{payer.invoice}/pay/"
    outcome = "not caught in the gateway call"
    for _ in range(1000):  # up to 10 s; the worker waits 2 s on the gateway once it gets there
        lines = log.read_text().splitlines()[seen:] if log.exists() else []
        pid = next((int(x.split()[0]) for x in lines if x.endswith(path)), None)
        payment = Payment.objects.filter(invoice=payer.invoice).first()
        if payment is not None and payment.state != PaymentState.PROCESSING:
            break  # the call is over: too late
        # The gateway has charged and not answered yet: the worker is inside the call.
        if pid and payment is not None and sandbox.query(order_id=payment.order_id):
            _stack.kill_pid(pid)
            outcome = "killed after the gateway charged"
            break
        time.sleep(0.01)
    thread.join(timeout=30)
    sandbox.set_fault("none")
    return f"{outcome}, payer got {result[0] if result else 'nothing'}"


def _open(organization):
    from remit.payments.models import Payment, PaymentState

    return Payment.objects.filter(
        organization=organization, state__in=[PaymentState.PROCESSING, PaymentState.UNKNOWN]
    )


def kill_while_reconciling(work: _stack.Process, organization) -> tuple[int, int]:
    """SIGKILL the worker once it has finished a third of the open payments (at least one)."""
    total = left = _open(organization).count()
    target = total - max(1, total // 3)
    for _ in range(12000):  # up to 120 s: the reconcile jobs run 15 s after an unknown outcome
        left = _open(organization).count()
        if left <= target:
            break
        time.sleep(0.01)
    work.kill()
    return _open(organization).count(), total


def reconcile(env: dict[str, str], organization, drain_seconds: float) -> None:
    from django.core.management import call_command

    from remit.payments.models import PaymentState

    deadline = time.monotonic() + drain_seconds
    while (
        time.monotonic() < deadline
        and _open(organization).exclude(state=PaymentState.PROCESSING).exists()
    ):
        time.sleep(0.5)
    say(f"  after the worker: {_open(organization).count()} payments still open")
    output = io.StringIO()
    call_command("reconcile", stdout=output)  # `remit reconcile`, in this process
    for out in output.getvalue().splitlines():
        say(f"  remit reconcile: {out.strip()}")
    from remit.payments.services import reconcile_payment

    swept = [reconcile_payment(pk) for pk in _open(organization).values_list("pk", flat=True)]
    if swept:
        say(f"  last sweep (younger than the one-minute guard): {dict(Counter(swept))}")


def report(sandbox, organization, one_each: bool, tried: int) -> bool:
    from remit.billing.models import Invoice
    from remit.gateway.nmi import parse_query_xml
    from remit.payments.models import APPLIED_STATES, Payment

    say("checking against the gateway")
    payments = {p.order_id: p for p in Payment.objects.filter(organization=organization)}
    approved_sales: Counter = Counter()  # invoice -> approved sales at the gateway
    gateway_paid: dict[int, Decimal] = {}
    gateway_approved: dict[str, bool] = {}
    strays = 0  # sales the gateway has and Remit does not know
    for sale in parse_query_xml(sandbox.query_xml(action_type="sale")):
        payment = payments.get(sale.order_id)
        if payment is None:
            strays += 1
            continue
        gateway_approved[sale.order_id] = gateway_approved.get(sale.order_id) or sale.sale_approved
        if sale.sale_approved:
            approved_sales[payment.invoice_id] += 1
            paid = gateway_paid.get(payment.invoice_id, Decimal("0.00"))
            gateway_paid[payment.invoice_id] = paid + payment.amount
    doubles = sum(n - 1 for n in approved_sales.values() if n > 1)
    states = sum(
        gateway_approved.get(order, False) != (payment.state in APPLIED_STATES)
        for order, payment in payments.items()
    )
    invoices = list(Invoice.objects.filter(organization=organization))
    amounts = sum(
        invoice.amount_paid != gateway_paid.get(invoice.pk, Decimal("0.00")) for invoice in invoices
    )
    mismatches = strays + states + amounts
    orphans = _open(organization).count()
    by_state = Counter(p.state for p in payments.values())
    say(f"Payments: {len(payments)} ({', '.join(f'{n} {s}' for s, n in by_state.most_common())})")
    say(
        f"Checked against the gateway: {len(invoices)} invoices, {len(payments)} payments "
        f"(mismatches: {strays} unknown sales, {states} states, {amounts} amounts paid)"
    )
    say(f"tried {tried}, doubles {doubles}, orphans {orphans}, mismatches {mismatches}")
    if not one_each:
        say("FAIL: concurrent payers did not make exactly one sale per invoice")
    return one_each and doubles == 0 and orphans == 0 and mismatches == 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="a few of each, for make test")
    for name, value in FULL.items():
        parser.add_argument(f"--{name}", type=int, default=None, help=f"default {value}")
    parser.add_argument("--web-kills", type=int, default=None, help="default 5")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--drain-seconds", type=float, default=90.0)
    parser.add_argument("--keep-database", action="store_true")
    options = parser.parse_args()
    sizes = SMALL if options.small else FULL
    for name, value in sizes.items():
        if getattr(options, name) is None:
            setattr(options, name, value)
    if options.web_kills is None:
        options.web_kills = 1 if options.small else 5

    options.backend = (
        "PostgreSQL" if os.environ.get("DATABASE_URL", "").startswith("postgres") else "SQLite"
    )
    return _stack.run_bench(options, run, say)


if __name__ == "__main__":
    sys.exit(main())
