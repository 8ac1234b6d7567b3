"""The life of a sandbox server run as a real subprocess (the gateway's, Autotask's): a temporary
directory of its own, `python -m <module> --host 127.0.0.1 --port 0 …` started in it, the URL it prints on its first
line read back, its health asked until it answers, its control endpoints, and `stop()` (TERM, then
KILL; the directory removed). Nothing here imports Django.
"""

from __future__ import annotations

import os
import re
import select
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO, Self

import httpx

_URL_LINE = re.compile(r"listening on (http://\S+)")


class SandboxError(RuntimeError):
    pass


class SandboxProcess:
    """Subclasses name their `module`, `what` it is (for errors), `error` class, the `database`
    file's name, and give `arguments()` (after --port and --db) and `_post_control()`."""

    module = ""
    what = "the sandbox"
    error: type[SandboxError] = SandboxError
    database = "sandbox.sqlite3"
    prefix = "remit-sandbox-"
    client_timeout = 10.0

    def __init__(self, *, start_timeout: float = 15.0) -> None:
        self.start_timeout = start_timeout
        self.url = ""
        self.process: subprocess.Popen[str] | None = None
        self._dir: str | None = None
        self._client: httpx.Client | None = None
        self._log: IO[str] | None = None

    # -- what the subclasses say --

    def arguments(self) -> list[str]:
        """The command line after `--host 127.0.0.1 --port 0 --db <file>`."""
        return []

    def _listening(self, stdout: IO[str]) -> None:
        """Called once the URL line is read: what the server prints next may be read here."""

    def _post_control(self, client: httpx.Client, path: str, fields: dict) -> httpx.Response:
        raise NotImplementedError

    # -- life --

    def start(self) -> Self:
        self._dir = tempfile.mkdtemp(prefix=self.prefix)
        command = [
            sys.executable,
            "-m",
            self.module,
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--db",
            str(self.db_path),
            *self.arguments(),
        ]
        self._log = open(self.log_path, "w")  # noqa: SIM115  (closed in stop)
        self.process = subprocess.Popen(  # noqa: S603  (our own interpreter and module)
            command,
            stdout=subprocess.PIPE,
            stderr=self._log,
            stdin=subprocess.DEVNULL,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            self.url = self._read_url()
            self._client = httpx.Client(
                base_url=self.url, timeout=self.client_timeout, trust_env=False
            )
            self._wait_healthy()
        except BaseException:
            self.stop()
            raise
        return self

    def _read_url(self) -> str:
        assert self.process is not None
        assert self.process.stdout is not None
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.process.stdout], [], [], 0.1)
            if ready:
                line = self.process.stdout.readline()
                match = _URL_LINE.search(line)
                if match:
                    self._listening(self.process.stdout)
                    return match.group(1)
                if not line and self.process.poll() is not None:
                    break
        raise self.error(f"{self.what} did not start: {self.log_tail()}")

    def _wait_healthy(self) -> None:
        assert self._client is not None
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            try:
                if self._client.get("/_sandbox/health").status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise self.error(f"{self.what} is not healthy: {self.log_tail()}")

    def stop(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        if self.process is not None:
            if self.process.poll() is None:
                self.process.terminate()
                try:
                    self.process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait(timeout=5)
            if self.process.stdout is not None:
                self.process.stdout.close()
            self.process = None
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def db_path(self) -> Path:
        """The sandbox's SQLite file (its -wal and -shm companions sit next to it)."""
        assert self._dir is not None
        return Path(self._dir) / self.database

    @property
    def log_path(self) -> Path:
        """Where the sandbox's stderr (its request log) goes."""
        assert self._dir is not None
        return Path(self._dir) / "sandbox.log"

    def log_tail(self, lines: int = 20) -> str:
        if self._dir is None or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text().splitlines()[-lines:])

    # -- control endpoints --

    def _control(self, path: str, **fields) -> dict:
        assert self._client is not None, "start() the sandbox first"
        response = self._post_control(self._client, path, fields)
        response.raise_for_status()
        return response.json()

    def reset(self) -> None:
        """POST /_sandbox/reset: what the sandbox holds emptied, its faults cleared."""
        self._control("/_sandbox/reset")

    def health(self) -> dict:
        assert self._client is not None
        return self._client.get("/_sandbox/health").json()
