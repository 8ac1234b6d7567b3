"""`remit demo` (what `make demo` runs): migrate, load the demo data, then run the sandbox gateway, a
background worker and the web server together until Ctrl+C.
The environment (DEBUG off, a generated secret key, ...) is `remit.core.demo_env`'s."""

import importlib.util
import os
import signal
import subprocess
import sys
import time

import httpx
from django.conf import settings
from django.core.management.base import BaseCommand

from remit.core.demo_env import DEMO_GATEWAY_KEY, demo_environment
from remit.core.management.commands.seed_demo import DEMO_PASSWORD, PEOPLE, STAFF


def _interrupt(signum, frame):
    raise KeyboardInterrupt


class Command(BaseCommand):
    help = "Run the demo: SQLite, the sandbox gateway, a worker and the web server."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--gateway-port", type=int, default=8001)
        parser.add_argument("--autotask-port", type=int, default=8002)
        parser.add_argument(
            "--settle-after",
            type=int,
            default=120,
            help="Seconds before the sandbox settles a transaction (eChecks stay pending until then).",
        )

    def handle(self, *args, port, gateway_port, autotask_port, settle_after, **options):
        # Explicitly: a shell that starts the demo in the background leaves SIGINT ignored.
        signal.signal(signal.SIGTERM, _interrupt)
        signal.signal(signal.SIGINT, _interrupt)
        remit = [sys.executable, "-m", "remit"]
        env = {
            **os.environ,
            **demo_environment(gateway_port=gateway_port, autotask_port=autotask_port),
        }
        if importlib.util.find_spec("sandbox_gateway"):
            from sandbox_gateway.hosted import tokenization_key_for

            # The sandbox's public Collect.js key for the demo key (what it prints on start).
            env["GATEWAY_TOKENIZATION_KEY"] = tokenization_key_for(DEMO_GATEWAY_KEY)
        steps = (
            ["migrate", "--noinput", "-v", "0"],
            ["collectstatic", "--noinput", "-v", "0"],
            # Quiet: the accounts are printed once, below, with the addresses to open.
            ["seed-demo", "-v", "0"],
        )
        for step in steps:
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
        if importlib.util.find_spec("autotask_sandbox"):
            # An MSP book in Autotask's shape; seed-demo connected Remit to it and queued a sync.
            processes.append(
                subprocess.Popen(  # noqa: S603
                    [
                        *remit,
                        "autotask-sandbox",
                        "--port",
                        str(autotask_port),
                        "--db",
                        str(settings.VAR_DIR / "autotask-sandbox.sqlite3"),
                        "--quiet",
                    ],
                    env=env,
                )
            )
        if importlib.util.find_spec("sandbox_gateway"):
            # Autopay needs a card in the sandbox's vault: saved once the sandbox answers, before
            # the worker's first autopay and reminders runs (remit/autopay/demo.py).
            self._wait_until_serving(
                f"http://127.0.0.1:{gateway_port}/", processes, any_answer=True
            )
            subprocess.run([*remit, "seed-demo", "--autopay", "-v", "0"], env=env, check=True)  # noqa: S603
        processes.append(subprocess.Popen([*remit, "worker"], env=env))  # noqa: S603
        processes.append(
            subprocess.Popen([*remit, "runserver", f"127.0.0.1:{port}"], env=env)  # noqa: S603
        )
        self._wait_until_serving(f"http://127.0.0.1:{port}/healthz", processes)
        self._print_welcome(port, gateway_port, autotask_port)
        try:
            while all(process.poll() is None for process in processes):
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            for process in processes:
                if process.poll() is None:
                    process.terminate()
            for process in processes:
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()

    @staticmethod
    def _wait_until_serving(
        url: str, processes: list, timeout: float = 60.0, any_answer: bool = False
    ) -> None:
        """Print the welcome once the web server answers, not before (nor never, if one died)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and all(p.poll() is None for p in processes):
            try:
                if httpx.get(url, timeout=2.0).status_code == 200 or any_answer:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)

    @staticmethod
    def _staff_setup_link(port: int) -> str | None:
        """The demo's staff member has a password but no authenticator app yet: that is set up
        from an invitation link, never with the password alone. A fresh link each run."""
        from remit.accounts.models import User
        from remit.backoffice.access import has_confirmed_device
        from remit.backoffice.invitations import invitation_url, issue_staff_invitation

        staff = User.objects.filter(email=STAFF[0]).first()
        if staff is None or has_confirmed_device(staff):
            return None
        token = issue_staff_invitation(staff)
        return invitation_url(token, base_url=f"http://127.0.0.1:{port}")

    def _print_welcome(self, port: int, gateway_port: int, autotask_port: int = 8002) -> None:
        out = self.stdout
        out.write("")
        out.write(self.style.SUCCESS(f"Remit is running at http://127.0.0.1:{port}/"))
        out.write(f"Sign in with one of these accounts (password {DEMO_PASSWORD}):")
        for email, _first, _last, org_name, level in PEOPLE:
            out.write(f"  {email:<28} {level:<8} {org_name}")
        out.write(f"  {STAFF[0]:<28} provider staff: http://127.0.0.1:{port}/backoffice/")
        link = self._staff_setup_link(port)
        if link:
            out.write(
                f"  {'':<28} first set up two-step sign-in (an authenticator app, TOTP) "
                "from this link, which works once:"
            )
            out.write(f"  {'':<28} {link}")
        else:
            out.write(f"  {'':<28} (then the code from your authenticator app)")
        out.write(
            f"Sandbox gateway: http://127.0.0.1:{gateway_port}/ (test card 4111 1111 1111 1111)"
        )
        if importlib.util.find_spec("autotask_sandbox"):
            out.write(
                f"Autotask sandbox: http://127.0.0.1:{autotask_port}/ (connected; the first sync "
                f"runs now: back office → Autotask, "
                f"http://127.0.0.1:{port}/backoffice/psa/psaconnection/)"
            )
        out.write(
            "Autopay: Contoso Ltd pays by Visa •••• 1111 on the due date; its invoice due today is "
            "charged by the worker within a minute (receipt printed here; back office → Autopay "
            "attempts). Northwind's invoice due today gets a payment reminder, printed here."
        )
        out.write("Receipts and password-reset emails are printed here. Press Ctrl+C to stop.")
        out.write("")
