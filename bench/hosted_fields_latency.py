"""Time from Process Payment to the "Payment has been processed" banner with the gateway's hosted
fields, in Debian's chromium, over 20 (by default) new-card payments.

    createdb -h 127.0.0.1 -U postgres remit_bench_hosted
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/remit_bench_hosted \\
        .venv/bin/python bench/hosted_fields_latency.py [--payments 20]

The sandbox gateway (its own port: another origin) and gunicorn (2 sync workers, production
settings) run as subprocesses. For each payment the browser opens the Make a Payment window with
Add Credit Card, types the card into the sandbox's iframes and the address into ours, then the
clock starts at the click on Process Payment: Collect.js tokenizes (each iframe posts its field,
the page asks for the token), the confirmation appears and is confirmed at once, the page posts
the token, Remit charges it and looks the card up (query.php), and the clock stops when the
banner is visible. Prints the median, p95 and max, and the median of the tokenization part alone
(click to confirmation shown).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from payment_throughput import PASSWORD, environment, prepare  # noqa: E402

from e2e.conftest import CHROMIUM_FLAGS, chromium_path  # noqa: E402
from remit.testing.cards import VISA  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--payments", type=int, default=20)
    parser.add_argument("--port", type=int, default=8766)
    options = parser.parse_args()
    if not os.environ.get("DATABASE_URL"):
        raise SystemExit("Set DATABASE_URL to a scratch database (see the docstring).")
    from remit.testing import SandboxGatewayProcess

    with SandboxGatewayProcess(extra_args=("--quiet",)) as sandbox:
        env = environment(sandbox) | {
            "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
            # One payer enters a new card each time: lift its card-testing limit for this run.
            "LIMIT_NEW_METHODS_PER_USER_PER_DAY": "1000000",
        }
        os.environ.update(env)
        subprocess.run([sys.executable, "-m", "remit", "migrate", "-v", "0"], env=env, check=True)
        subprocess.run(
            [sys.executable, "-m", "remit", "collectstatic", "--noinput", "-v", "0"],
            env=env,
            check=True,
        )
        import django

        django.setup()
        (email, invoices), *_ = prepare(1, options.payments, str(int(time.time())))
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "remit.wsgi",
                "--bind",
                f"127.0.0.1:{options.port}",
                "--workers",
                "2",
                "--log-level",
                "warning",
            ],
            env=env,
            cwd=ROOT,
        )
        base = f"http://127.0.0.1:{options.port}"
        try:
            for _ in range(100):
                try:
                    httpx.get(base + "/healthz", timeout=1)
                    break
                except httpx.HTTPError:
                    time.sleep(0.1)
            totals, tokenizing = run_browser(base, email, invoices)
        finally:
            server.terminate()
            server.wait(timeout=10)

    totals.sort()
    print(
        f"{len(totals)} new-card payments through the hosted fields (chromium, gunicorn, sandbox):"
    )
    print(
        f"  Process Payment -> banner: median {statistics.median(totals) * 1000:.0f} ms, "
        f"p95 {statistics.quantiles(totals, n=20)[-1] * 1000:.0f} ms, max {totals[-1] * 1000:.0f} ms"
    )
    print(
        f"  of which Process Payment -> confirmation (tokenizing): median "
        f"{statistics.median(tokenizing) * 1000:.0f} ms"
    )


def run_browser(base: str, email: str, invoices: list[int]) -> tuple[list[float], list[float]]:
    from playwright.sync_api import expect, sync_playwright

    expiry = f"12/{(date.today().year + 3) % 100:02d}"
    totals, tokenizing = [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
        page = browser.new_page(base_url=base)
        page.goto("/login/")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/")
        for pk in invoices:
            page.goto(f"/invoices/{pk}/pay/?add=card")
            expect(page.locator("form[data-hosted-ready]")).to_have_count(1)
            for title, value in [
                ("Credit Card Number", VISA),
                ("Expiration", expiry),
                ("CVV", "123"),
            ]:
                page.frame_locator(f"iframe[title='{title}']").locator("input").fill(value)
            for label, value in [
                ("Street address", "1 Main St"),
                ("City", "Seattle"),
                ("ZIP code", "98101"),
            ]:
                page.get_by_label(label).fill(value)
            page.get_by_label("State").select_option("WA")
            started = time.perf_counter()
            page.get_by_role("button", name="Process Payment").click()
            confirm = page.get_by_role("button", name="Confirm payment")
            confirm.wait_for(state="visible")
            tokenizing.append(time.perf_counter() - started)
            confirm.click()
            try:
                page.get_by_text("Payment has been processed").wait_for(state="visible")
            except Exception:
                print(page.url, page.locator("main").inner_text()[:700])
                raise
            totals.append(time.perf_counter() - started)
        browser.close()
    return totals, tokenizing


if __name__ == "__main__":
    main()
