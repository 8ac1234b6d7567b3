"""Remit's own CPU per payment as instructions counted by valgrind (a benchmark).

    createdb -h 127.0.0.1 -U postgres remit_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/remit_bench \\
        .venv/bin/python bench/payment_instructions.py [--few 2] [--many 22]

The machine this project is measured on shares its CPUs: the same run gives 10 ms one hour and 16
the next. Instructions are repeatable whatever else the machine does, so this bench counts them:
it runs the payment flow in-process (Django's test client: open Make a Payment, post it with the
saved card; the first payment adds the card) under `valgrind --tool=callgrind`, once with --few
and once with --many payments after the same setup, and prints the difference divided by the
difference in payments — the instructions of one payment's two requests in Remit's process, its
setup (Django's start, the data) cancelled out. PostgreSQL and the sandbox gateway are other
processes and are not counted. valgrind runs Python about 50 times slower: about 4 minutes.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent


def payments(count: int, run: str) -> None:
    """Inside valgrind: `count` payments after setup, then exit."""
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(BENCH))
    import payment_throughput as flow

    from remit.testing import SandboxGatewayProcess

    with SandboxGatewayProcess(extra_args=("--quiet",)) as sandbox:
        flow.SANDBOX = sandbox
        os.environ.update(flow.environment(sandbox))
        import django

        django.setup()
        from django.test import Client

        import remit.wsgi  # noqa: F401 (loaded and warmed as gunicorn loads it)

        ((email, invoices),) = flow.prepare(1, count, run, offset=hash(run) % 400_000)
        client = Client()
        client.post("/login/", {"username": email, "password": flow.PASSWORD})
        for n, pk in enumerate(invoices):
            window = client.get(f"/invoices/{pk}/pay/" + ("?add=card" if n == 0 else ""))
            done = client.post(
                f"/invoices/{pk}/pay/", flow.pay_form(window.content.decode(), card=n == 0)
            )
            assert b"Payment has been processed" in done.content


def counted(count: int, run: str) -> int:
    with tempfile.TemporaryDirectory() as scratch:
        out = subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                f"--callgrind-out-file={scratch}/callgrind.out",
                sys.executable,
                __file__,
                "--inside",
                str(count),
                run,
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
    if out.returncode != 0:
        raise SystemExit(out.stderr[-3000:])
    return int(re.search(r"Collected : (\d+)", out.stderr).group(1))


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--inside":
        payments(int(sys.argv[2]), sys.argv[3])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--few", type=int, default=2)
    parser.add_argument("--many", type=int, default=22)
    options = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        raise SystemExit("Set DATABASE_URL to a scratch PostgreSQL database (see the docstring).")
    sys.path.insert(0, str(ROOT))
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "remit.settings", "DEBUG": "1"}
    subprocess.run([sys.executable, "-m", "remit", "migrate", "-v", "0"], env=env, check=True)
    run = f"i{int(time.time())}"
    few = counted(options.few, run + "f")
    many = counted(options.many, run + "m")
    per_payment = (many - few) / (options.many - options.few)
    print(f"{options.few} payments: {few:,} instructions; {options.many}: {many:,}")
    print(
        f"Per saved-card payment (window + post, Remit's process): {per_payment / 1e6:.1f} M instructions"
    )


if __name__ == "__main__":
    main()
