"""`remit demo` (what `make demo` runs): migrate, load the demo data, then run the sandbox gateway, a
background worker and the web server together until Ctrl+C."""

import importlib.util
import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand

from remit.core.management.commands.seed_demo import DEMO_PASSWORD, PEOPLE, STAFF

DEMO_GATEWAY_KEY = "remit-demo-sandbox-key"


def _interrupt(signum, frame):
    raise KeyboardInterrupt


class Command(BaseCommand):
    help = "Run the demo: SQLite, the sandbox gateway, a worker and the web server."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--gateway-port", type=int, default=8001)
        parser.add_argument(
            "--settle-after",
            type=int,
            default=120,
            help="Seconds before the sandbox settles a transaction (eChecks stay pending until then).",
        )

    def handle(self, *args, port, gateway_port, settle_after, **options):
        signal.signal(signal.SIGTERM, _interrupt)
        remit = [sys.executable, "-m", "remit"]
        env = {
            **os.environ,
            "DEBUG": "1",
            "GATEWAY_URL": f"http://127.0.0.1:{gateway_port}",
            "GATEWAY_SECURITY_KEY": DEMO_GATEWAY_KEY,
            "PYTHONUNBUFFERED": "1",
        }
        if importlib.util.find_spec("sandbox_gateway"):
            from sandbox_gateway.hosted import tokenization_key_for

            # The sandbox's public Collect.js key for the demo key (what it prints on start).
            env["GATEWAY_TOKENIZATION_KEY"] = tokenization_key_for(DEMO_GATEWAY_KEY)
        for step in (["migrate", "--noinput", "-v", "0"], ["seed-demo"]):
            subprocess.run([*remit, *step], env=env, check=True)  # noqa: S603

        processes = []
        if importlib.util.find_spec("sandbox_gateway"):
            sandbox_db = str(settings.VAR_DIR / "sandbox-gateway.sqlite3")
            processes.append(
                subprocess.Popen(  # noqa: S603
                    [
                        *remit,
                        "sandbox-gateway",
                        "--port",
                        str(gateway_port),
                        "--db",
                        sandbox_db,
                        "--security-key",
                        DEMO_GATEWAY_KEY,
                        "--settle-after",
                        str(settle_after),
                    ],
                    env=env,
                )
            )
        processes.append(subprocess.Popen([*remit, "worker"], env=env))  # noqa: S603
        processes.append(
            subprocess.Popen([*remit, "runserver", f"127.0.0.1:{port}"], env=env)  # noqa: S603
        )
        time.sleep(2)
        self._print_welcome(port, gateway_port)
        try:
            while all(process.poll() is None for process in processes):
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            for process in processes:
                if process.poll() is None:
                    process.send_signal(signal.SIGINT)
            for process in processes:
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()

    def _print_welcome(self, port: int, gateway_port: int) -> None:
        out = self.stdout
        out.write("")
        out.write(self.style.SUCCESS(f"Remit is running at http://127.0.0.1:{port}/"))
        out.write(f"Sign in with one of these accounts (password {DEMO_PASSWORD}):")
        for email, _first, _last, org_name, level in PEOPLE:
            out.write(f"  {email:<28} {level:<8} {org_name}")
        out.write(f"  {STAFF[0]:<28} provider staff: http://127.0.0.1:{port}/backoffice/")
        out.write(
            f"  {'':<28} (staff set up an authenticator app at their first sign-in: TOTP, required)"
        )
        out.write(
            f"Sandbox gateway: http://127.0.0.1:{gateway_port}/ (test card 4111 1111 1111 1111)"
        )
        out.write("Receipts and password-reset emails are printed here. Press Ctrl+C to stop.")
        out.write("")
