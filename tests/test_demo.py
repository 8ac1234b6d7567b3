"""`remit demo` serves what a client would see: production settings (DEBUG off), branded error pages,
static files through whitenoise, and the demo accounts printed once."""

import os
import signal
import socket
import stat
import subprocess
import sys
import time

import httpx
import pytest

from remit.core.demo_env import demo_environment, demo_secret_key


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_secret_key_is_generated_once_and_kept_private(tmp_path):
    key = demo_secret_key(tmp_path)
    assert len(key) >= 50
    assert demo_secret_key(tmp_path) == key
    assert stat.S_IMODE((tmp_path / "secret_key").stat().st_mode) == 0o600


def test_the_demo_environment_turns_debug_off(tmp_path, monkeypatch):
    monkeypatch.setenv("REMIT_VAR_DIR", str(tmp_path))
    env = demo_environment(gateway_port=8123)
    assert env["DEBUG"] == "0"
    assert env["SECRET_KEY"] == (tmp_path / "secret_key").read_text()
    assert env["GATEWAY_URL"] == "http://127.0.0.1:8123"


@pytest.fixture
def running_demo(tmp_path):
    port, gateway_port, autotask_port = _free_port(), _free_port(), _free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "DEBUG", "SECRET_KEY", "DJANGO_SETTINGS_MODULE"}
    }
    env["REMIT_VAR_DIR"] = str(tmp_path)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "remit",
            "demo",
            "--port",
            str(port),
            "--gateway-port",
            str(gateway_port),
            "--autotask-port",
            str(autotask_port),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    output: list[str] = []
    # A wait, not a timing assertion: on a loaded machine migrate + seed take a while.
    deadline = time.monotonic() + 300
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        output.append(line)
        if "Press Ctrl+C to stop" in line:
            break

    def read_until(*texts: str, seconds: float = 120) -> str:
        """The console from the start until every text appeared (or the time ran out)."""
        end = time.monotonic() + seconds
        while time.monotonic() < end and not all(t in "".join(output) for t in texts):
            line = process.stdout.readline()
            if not line:
                break
            output.append(line)
        return "".join(output)

    try:
        yield f"http://127.0.0.1:{port}", "".join(output), read_until
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_the_demo_serves_branded_pages_with_debug_off(running_demo):
    url, output, _read_until = running_demo
    assert "Press Ctrl+C to stop" in output, output
    # Each account is printed once, with the address to open.
    assert output.count("manager@northwind.example") == 1
    assert f"Remit is running at {url}/" in output

    missing = httpx.get(f"{url}/no-such-page/", timeout=10)
    assert missing.status_code == 404
    assert "We could not find that page" in missing.text
    assert "URLconf" not in missing.text
    assert "DEBUG = True" not in missing.text

    sign_in = httpx.get(f"{url}/login/", timeout=10)
    assert sign_in.status_code == 200
    stylesheet = sign_in.text.split('rel="stylesheet" href="', 1)[1].split('"', 1)[0]
    assert httpx.get(f"{url}{stylesheet}", timeout=10).status_code == 200


def test_the_worker_charges_the_autopay_invoice_and_prints_a_reminder(running_demo):
    """Autopay needs a card in the sandbox's vault, saved once the sandbox runs: within a minute
    the worker charges Contoso's invoice due today and emails Northwind's reminder (console)."""
    _url, output, read_until = running_demo
    assert "Autopay: Contoso Ltd pays by Visa •••• 1111" in output
    console = read_until("Subject: Payment received: invoice CL-A", "Subject: Invoice NT-R")
    assert "Subject: Payment received: invoice CL-A" in console
    assert "Subject: Invoice NT-R" in console
    assert "4111111111111111" not in console
