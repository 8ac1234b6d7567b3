"""Every client page side by side with two floor views served by the same gunicorn (a benchmark).

The floors (remit/core/bench_floor.py, switched on for this run only by REMIT_BENCH_FLOOR_VIEWS=1):
a plain `HttpResponse("ok")` and a `login_required` view rendering a one-line template. Every page
and both floors are measured in one run, interleaved: each round requests every page for
--seconds with N clients, the order reversed every other round, so that whatever else the machine
does falls on all of them alike. Printed per page: req/s, p50 and p99 latency, SQL queries per
request (one extra request in-process with Django's test client on the same database), and the
ratio of its req/s to each floor.

Commands (from the repository root; a database filled by `remit seed-scale`, see bench/README.md):

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/remit_scale
    .venv/bin/python bench/pages.py                       # 1 and 8 clients, 3 rounds of 2 s
    .venv/bin/python bench/pages.py --clients 1 --rounds 4 --seconds 3 \\
        --compare-email manager@small-org.example          # + that user's default Invoices page

Signed in (a session made directly, no password hashing) as the Manager of the organization with
the most invoices unless --email. gunicorn runs with --workers (default 2, sync) and production
settings (DEBUG off), started and stopped by the bench. The load generator is this process: one
thread per client, a new connection per request (gunicorn's sync workers close each one).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))
sys.path.insert(0, str(BENCH))

os.environ.update(
    DJANGO_SETTINGS_MODULE="remit.settings",
    DEBUG="0",
    SECRET_KEY=os.environ.get("SECRET_KEY", "bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwx"),
    ALLOWED_HOSTS="127.0.0.1,localhost,testserver",
    SECURE_SSL_REDIRECT="0",
    SESSION_COOKIE_SECURE="0",
    CSRF_COOKIE_SECURE="0",
    SECURE_HSTS_SECONDS="0",
    REMIT_BENCH_FLOOR_VIEWS="1",
    LOG_LEVEL="WARNING",
    STATIC_ROOT=tempfile.mkdtemp(prefix="remit-pages-static-"),  # collected below, removed at exit
)  # fmt: skip

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from remit.accounts.models import User  # noqa: E402
from remit.billing.models import Invoice  # noqa: E402

PLAIN, SIGNED_IN = "plain floor", "signed-in floor"


@dataclass
class Page:
    name: str
    path: str
    user: User
    cookie: str = ""
    latencies: dict[int, list[float]] = field(default_factory=dict)  # clients -> ms
    elapsed: dict[int, float] = field(default_factory=dict)  # clients -> measured seconds
    queries: int | None = None


def session_cookie(user: User) -> str:
    """A signed-in session made directly, as django.contrib.auth.login would store it."""
    from importlib import import_module

    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "remit.accounts.backends.RemitBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.save()
    return store.session_key


def manager_of_largest_organization() -> User:
    from invoice_list_latency import largest_organization_manager

    return largest_organization_manager()[1]


def deep_page_path(user: User, query: str, fraction: float = 0.9) -> tuple[str, int, int]:
    """The Reports > Invoices page `fraction` of the way through, as a visitor reaches it by
    following Next: with keyset pagination the link the page before it gives."""
    from remit.billing.access import invoices_for
    from remit.portal.views import INVOICES_PER_PAGE

    show_paid = "show_paid=on" in query
    visible = invoices_for(user)
    if not show_paid:
        visible = visible.filter(state=Invoice.State.ISSUED, amount_due__gt=0)
    pages = max(1, -(-visible.count() // INVOICES_PER_PAGE))
    page = max(1, int(pages * fraction))
    try:
        from remit.portal.keyset import link_to_page
    except ImportError:  # OFFSET pagination (before keyset): the page number is the link
        return f"/reports/invoices/?{query}&page={page}", page, pages
    return link_to_page(user, query, page), page, pages


def pages_to_measure(user: User, compare: User | None) -> list[Page]:
    invoices = Invoice.objects.filter(organization_id=user.organization_id).exclude(
        state=Invoice.State.DRAFT
    )
    newest = invoices.order_by("-invoice_date", "-id").first()
    if newest is None:
        sys.exit(f"{user.email}'s organization has no invoices.")
    deep_date, page, pages = deep_page_path(user, "show_paid=on")
    deep_amount, _, _ = deep_page_path(user, "show_paid=on&sort=-amount")
    listed = [
        Page(PLAIN, "/_bench/floor/plain", user),
        Page(SIGNED_IN, "/_bench/floor/signed-in", user),
        Page("Home", "/", user),
        Page("Reports > Invoices", "/reports/invoices/", user),
        Page("Invoices, show paid, by amount", "/reports/invoices/?show_paid=on&sort=-amount", user),
        Page(f"Invoices, show paid, page {page}/{pages}", deep_date, user),
        Page(f"Invoices, by amount, page {page}/{pages}", deep_amount, user),
        Page("invoice detail", f"/invoices/{newest.pk}/", user),
        Page("invoice PDF", f"/invoices/{newest.pk}/pdf/", user),
        Page("Payments", "/payments/", user),
        Page("Statement", "/reports/statement/", user),
        Page("Payment methods", "/payment-methods/", user),
        Page("Account", "/account/", user),
    ]  # fmt: skip
    if compare is not None:
        listed.append(Page("Invoices of --compare-email", "/reports/invoices/", compare))
    return listed


def count_queries(page: Page) -> int:
    client = Client(HTTP_HOST="127.0.0.1")
    client.cookies[settings.SESSION_COOKIE_NAME] = page.cookie
    client.get(page.path)  # warm: connection, templates, caches
    with CaptureQueriesContext(connection) as captured:
        response = client.get(page.path)
    if response.status_code != 200:
        sys.exit(f"{page.name}: {page.path} answered {response.status_code} in-process.")
    return len(captured)


def one_request(port: int, path: str, cookie: str) -> float:
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers={"Cookie": f"{settings.SESSION_COOKIE_NAME}={cookie}"})
        response = conn.getresponse()
        response.read()
    finally:
        conn.close()
    if response.status != 200:
        raise RuntimeError(f"{path}: HTTP {response.status}")
    return (time.perf_counter() - started) * 1000


def drive(port: int, page: Page, clients: int, seconds: float, warm_up: int) -> None:
    """`clients` threads requesting the page back to back for `seconds`."""
    for _ in range(warm_up):  # unmeasured: each gunicorn worker's first requests
        one_request(port, page.path, page.cookie)
    deadline = time.perf_counter() + seconds
    samples: list[list[float]] = [[] for _ in range(clients)]
    errors: list[BaseException] = []

    def client(mine: list[float]) -> None:
        try:
            while time.perf_counter() < deadline:
                mine.append(one_request(port, page.path, page.cookie))
        except BaseException as error:
            errors.append(error)

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(s,)) for s in samples]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    page.elapsed[clients] = page.elapsed.get(clients, 0.0) + time.perf_counter() - started
    page.latencies.setdefault(clients, []).extend(ms for s in samples for ms in s)


def report(pages: list[Page], clients: int) -> None:
    rate = {p.name: len(p.latencies[clients]) / p.elapsed[clients] for p in pages}
    plain, signed = rate[PLAIN], rate[SIGNED_IN]
    print(f"\n{clients} client{'s' if clients > 1 else ''}:")
    print(
        f"{'page':<38} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'queries':>7} "
        f"{'/plain':>7} {'/signed-in':>10}"
    )
    for page in pages:
        ms = sorted(page.latencies[clients])
        p99 = statistics.quantiles(ms, n=100, method="inclusive")[98] if len(ms) > 1 else ms[0]
        print(
            f"{page.name:<38} {rate[page.name]:>7.1f} {statistics.median(ms):>7.1f} {p99:>7.1f} "
            f"{page.queries:>7} {rate[page.name] / plain:>7.2f} {rate[page.name] / signed:>10.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", default="1,8", help="comma-separated (default 1,8)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=2.0, help="per page per round")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--email", help="default: the Manager of the largest organization")
    parser.add_argument("--compare-email", help="add this user's default Invoices page")
    args = parser.parse_args()
    try:
        run(args)
    finally:
        shutil.rmtree(os.environ["STATIC_ROOT"], ignore_errors=True)


def run(args) -> None:
    from django.core.management import call_command

    call_command("collectstatic", interactive=False, verbosity=0)
    client_counts = [int(n) for n in args.clients.split(",")]

    from _stack import Process, free_port

    user = User.objects.get(email=args.email) if args.email else manager_of_largest_organization()
    compare = User.objects.get(email=args.compare_email) if args.compare_email else None
    pages = pages_to_measure(user, compare)
    cookies = {u.pk: session_cookie(u) for u in {p.user.pk: p.user for p in pages}.values()}
    for page in pages:
        page.cookie = cookies[page.user.pk]
        page.queries = count_queries(page)
    total = Invoice.objects.filter(organization_id=user.organization_id).count()
    print(
        f"{user.organization.name}: {total:,} invoices; signed in as {user.email}; "
        f"gunicorn --workers {args.workers}; {args.rounds} rounds of {args.seconds:g} s a page, "
        f"order reversed every other round; {connection.vendor}"
    )

    port = free_port()
    with tempfile.TemporaryDirectory(prefix="remit-pages-") as scratch:
        env = dict(os.environ)
        command = [
            sys.executable, "-m", "gunicorn", "remit.wsgi", "--bind", f"127.0.0.1:{port}",
            "--workers", str(args.workers), "--preload", "--log-level", "warning",
        ]  # fmt: skip
        server = Process("gunicorn", command, env, Path(scratch)).start()
        try:
            for _ in range(300):
                with contextlib.suppress(OSError):
                    one_request(port, "/_bench/floor/plain", "")
                    break
                time.sleep(0.1)
            for clients in client_counts:
                for round_ in range(args.rounds):
                    for page in pages if round_ % 2 == 0 else reversed(pages):
                        drive(port, page, clients, args.seconds, warm_up=2 * args.workers)
                report(pages, clients)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
