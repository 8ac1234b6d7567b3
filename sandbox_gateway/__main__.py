"""`python -m sandbox_gateway --port 8001 --db var/sandbox-gateway.sqlite3 [options]`."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from sandbox_gateway.engine import Sandbox
from sandbox_gateway.hosted import tokenization_key_for
from sandbox_gateway.server import DEFAULT_FAULT_DELAY, FAULT_MODES, SandboxServer

DEFAULT_DB = "var/sandbox-gateway.sqlite3"
DEFAULT_PORT = 8001


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The sandbox's options; `remit sandbox-gateway` offers the same ones."""
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help="0 picks a free port (printed on start)"
    )
    parser.add_argument("--db", default=DEFAULT_DB, help="SQLite file for the vault and history")
    parser.add_argument(
        "--security-key",
        action="extend",
        nargs="+",
        default=[],
        metavar="KEY",
        help="accept these keys besides NMI's public demo key (repeatable)",
    )
    parser.add_argument(
        "--settle-after",
        type=float,
        default=None,
        metavar="SECONDS",
        help="settle pending transactions after this long (default: only on POST /_sandbox/settle)",
    )
    parser.add_argument(
        "--fault",
        choices=(*FAULT_MODES, "none"),
        default=None,
        help="apply this fault to every transact request of the run",
    )
    parser.add_argument(
        "--fault-delay",
        type=float,
        default=DEFAULT_FAULT_DELAY,
        metavar="SECONDS",
        help="how long the timeout fault waits before answering",
    )
    parser.add_argument("--quiet", action="store_true", help="do not log requests")


def run(options: argparse.Namespace) -> None:
    if options.db != ":memory:":
        Path(options.db).parent.mkdir(parents=True, exist_ok=True)
    sandbox = Sandbox(
        options.db, security_keys=tuple(options.security_key), settle_after=options.settle_after
    )
    server = SandboxServer(
        (options.host, options.port),
        sandbox,
        run_fault=options.fault,
        fault_delay=options.fault_delay,
        quiet=options.quiet,
    )
    host, port = server.server_address[:2]

    def stop(signum, frame):
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, stop)
    print(f"Sandbox gateway (NMI protocol) listening on http://{host}:{port}", flush=True)
    # Public keys, safe to print: Collect.js's data-tokenization-key for each security key (the
    # security keys themselves are shown by their first four characters only).
    keys = ", ".join(f"{key[:4]}…={tokenization_key_for(key)}" for key in sandbox.keys)
    print(f"Tokenization keys (public, for Collect.js): {keys}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        sandbox.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="sandbox_gateway", description="Remit's sandbox payment gateway (NMI protocol)."
    )
    add_arguments(parser)
    run(parser.parse_args(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    main()
