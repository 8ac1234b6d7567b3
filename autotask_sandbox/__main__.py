"""`python -m autotask_sandbox --port 8002 --db var/autotask-sandbox.sqlite3 [options]`."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from autotask_sandbox.book import generate
from autotask_sandbox.server import AutotaskSandboxServer
from autotask_sandbox.store import Store

DEFAULT_DB = "var/autotask-sandbox.sqlite3"
DEFAULT_PORT = 8002
DEFAULT_USERNAME = "api-user@sandbox.example"
DEFAULT_SECRET = "sandbox-secret"  # noqa: S105  (the sandbox's demo secret)
DEFAULT_INTEGRATION_CODE = "REMITSANDBOXINTEGRATION"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The sandbox's options; `remit autotask-sandbox` offers the same ones."""
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="0 picks a free port")
    parser.add_argument("--db", default=DEFAULT_DB, help="SQLite file of the sandbox's book")
    parser.add_argument("--username", default=DEFAULT_USERNAME, help="the API user (UserName)")
    parser.add_argument("--secret", default=DEFAULT_SECRET, help="the API user's Secret")
    parser.add_argument("--integration-code", default=DEFAULT_INTEGRATION_CODE)
    parser.add_argument("--companies", type=int, default=40, help="generated on an empty book")
    parser.add_argument("--contacts-per-company", type=int, default=3)
    parser.add_argument("--invoices", type=int, default=300)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--no-anomalies", action="store_true", help="generate a book without bad records"
    )
    parser.add_argument("--quiet", action="store_true", help="do not log requests")


def run(options: argparse.Namespace) -> None:
    if options.db != ":memory:":
        Path(options.db).parent.mkdir(parents=True, exist_ok=True)
    store = Store(options.db)
    if store.is_empty():
        book = generate(
            companies=options.companies,
            contacts_per_company=options.contacts_per_company,
            invoices=options.invoices,
            seed=options.seed,
            anomalies=not options.no_anomalies,
        )
        for entity, records in book.items():
            store.insert_many(entity, records)
    server = AutotaskSandboxServer(
        (options.host, options.port),
        store,
        username=options.username,
        secret=options.secret,
        integration_code=options.integration_code,
        quiet=options.quiet,
    )
    host, port = server.server_address[:2]

    def stop(signum, frame):
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, stop)
    print(f"Autotask sandbox listening on http://{host}:{port}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        store.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="autotask_sandbox", description="Remit's Autotask sandbox."
    )
    add_arguments(parser)
    run(parser.parse_args(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    main()
