"""The processes bench/faults.py and bench/scale_out.py run: a scratch database, the sandbox gateway,
gunicorn with several workers and Remit's background workers — each on a free port or file of its
own, each stopped at the end — and `run_bench()`, the life of one run around them."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
from _env import bench_environment

from remit.testing import SandboxGatewayProcess

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def scratch_database(base_url: str, keep: bool = False):
    """A new, empty database for one run: on the PostgreSQL server of `base_url` (named after its
    database, `<name>_faults_<random>`), dropped afterwards; otherwise an SQLite file."""
    if not base_url.startswith("postgres"):
        with tempfile.TemporaryDirectory(prefix="remit-faults-") as directory:
            yield f"sqlite:///{directory}/faults.sqlite3"
        return
    import psycopg

    parts = urlsplit(base_url)
    name = f"{parts.path.lstrip('/') or 'remit'}_faults_{secrets.token_hex(4)}"
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        if not keep:
            with psycopg.connect(admin, autocommit=True) as connection:
                connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def environment(database_url: str, sandbox, scratch: Path) -> dict[str, str]:
    return bench_environment(
        sandbox,
        DATABASE_URL=database_url,
        # The timeout fault waits longer than this; short, so timeouts cost seconds, not minutes.
        GATEWAY_READ_TIMEOUT="2",
        LOG_LEVEL="ERROR",
        EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend",
        # Reconciliation as in production, faster: every 2 s, and an order the gateway does not
        # know is taken as never charged after 3 s (production: 60 s and 300 s).
        RECONCILE_EVERY="2",
        RECONCILE_NOT_FOUND_AFTER="3",
        REMIT_BENCH_REQUEST_LOG=str(scratch / "requests.log"),
        STATIC_ROOT=str(scratch / "static"),
        PYTHONUNBUFFERED="1",
    )


def remit(env: dict[str, str], *args: str) -> str:
    """`remit <args>` as a subprocess; its output."""
    done = subprocess.run(
        [PYTHON, "-m", "remit", *args],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return done.stdout


class Process:
    """A subprocess with its output in a log file; stopped by stop() (TERM, then KILL)."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], logs: Path):
        self.name, self.command, self.env = name, command, env
        self.log_path = logs / f"{name}.log"
        self.popen: subprocess.Popen | None = None

    def start(self) -> Process:
        log = open(self.log_path, "a")  # noqa: SIM115  (the child keeps it; closed below)
        self.popen = subprocess.Popen(
            self.command, env=self.env, cwd=ROOT, stdout=log, stderr=log, stdin=subprocess.DEVNULL
        )
        log.close()
        return self

    def kill(self) -> None:
        """SIGKILL: no chance to finish anything."""
        if self.popen is not None and self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait(timeout=10)

    def stop(self) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        self.popen.terminate()
        try:
            self.popen.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill()

    def tail(self, lines: int = 15) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


class Web(Process):
    """gunicorn with `workers` sync workers on a free port; knows its workers' pids."""

    def __init__(self, env: dict[str, str], logs: Path, workers: int, name: str = "gunicorn"):
        self.port = free_port()
        self.workers = workers
        super().__init__(
            name,
            [
                PYTHON,
                "-m",
                "gunicorn",
                "remit.wsgi",
                "-c",
                str(ROOT / "bench" / "_gunicorn_hooks.py"),
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(workers),
                "--timeout",
                "60",
                "--graceful-timeout",
                "5",
                "--preload",  # Django loaded once, then forked: fast (re)starts of workers
                "--log-level",
                "warning",
            ],
            env,
            logs,
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Web:
        super().start()
        for _ in range(300):  # up to 30 s
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return self
            if self.popen.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError(f"gunicorn did not start:\n{self.tail()}")

    def worker_pids(self) -> set[int]:
        children = Path(f"/proc/{self.popen.pid}/task/{self.popen.pid}/children")
        return {int(pid) for pid in children.read_text().split()} if children.exists() else set()


def stop_all(*processes: Process) -> None:
    """TERM to every one at once, then wait for each (KILL after 15 s). Once: a second TERM
    would make a `remit worker` abandon the job it is finishing (django-tasks-db's worker takes
    a second signal as "terminate the current task")."""
    for process in processes:
        if process.popen is not None and process.popen.poll() is None:
            process.popen.terminate()
    for process in processes:
        if process.popen is None:
            continue
        try:
            process.popen.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def kill_pid(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def worker(env: dict[str, str], logs: Path, name: str = "worker") -> Process:
    return Process(name, [PYTHON, "-m", "remit", "worker", "--interval", "0.2"], env, logs)


def run_bench(options, run, say, *, extra_env=None) -> int:
    """One run: a scratch database next to DATABASE_URL's (`options.keep_database` keeps it) and
    the sandbox gateway; Remit's environment (plus `extra_env(logs)`) in this process and for its
    subprocesses, the database migrated, static files collected, Django set up here; then
    `run(options, env, sandbox, logs)` (True: all checks held). Says OK or FAIL; the exit status.
    `logs` is the sandbox's temporary directory, removed with it."""
    import _payers

    started = time.monotonic()
    with (
        scratch_database(os.environ.get("DATABASE_URL", ""), options.keep_database) as url,
        SandboxGatewayProcess(extra_args=("--quiet",)) as sandbox,
    ):
        _payers.SANDBOX = sandbox
        logs = Path(sandbox.db_path).parent
        env = {**environment(url, sandbox, logs), **(extra_env(logs) if extra_env else {})}
        os.environ.update(env)
        remit(env, "migrate", "-v", "0")
        remit(env, "collectstatic", "--noinput", "-v", "0")
        say("migrated, static files collected")
        import django

        django.setup()
        try:
            ok = run(options, env, sandbox, logs)
        finally:
            from django.db import connections

            connections.close_all()  # before the scratch database is dropped
    say(f"{'OK' if ok else 'FAIL'} in {time.monotonic() - started:.0f} s")
    return 0 if ok else 1
