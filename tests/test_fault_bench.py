"""The fault bench's small run (bench/faults.py --small; the full run and its figures are in
bench/README.md): the whole stack — gunicorn with several workers, a worker, the sandbox gateway,
a scratch database next to this suite's (PostgreSQL, or SQLite) — through concurrent payers, gateway
faults, a web worker and the worker killed mid-way, then reconciled: no double charge, nothing left
processing or unknown, every invoice and payment matching the gateway."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_small_fault_run_ends_with_nothing_wrong():
    # The bench sets up its own settings (production's, with bench values): not the suite's.
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "faults.py"), "--small"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = done.stdout + done.stderr[-3000:]
    assert done.returncode == 0, output
    lines = done.stdout.splitlines()
    assert [line for line in lines if "tried" in line][-1].endswith(
        "tried 27, doubles 0, orphans 0, mismatches 0"
    ), output
    # Every fault reached the payer as "being confirmed", and each kill landed.
    assert "8 tried: 8 being confirmed" in done.stdout, output
    assert "1 tried: 1 killed after the gateway charged" in done.stdout, output
    assert "worker killed while reconciling" in done.stdout, output
    assert "2 processed" in done.stdout, output  # one sale per invoice for the concurrent payers
