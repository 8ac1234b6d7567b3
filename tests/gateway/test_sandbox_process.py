"""The sandbox as a process: how it is started, and what it keeps and logs."""

import os
import re
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import pytest

from remit.gateway.base import (
    AccountHolderType,
    AccountType,
    BankAccount,
    Billing,
    Card,
)
from remit.testing import SandboxGatewayProcess

CARD_NUMBER = "5431111111111111"
CVV = "7316"
AMEX = "341111111111111"
ACCOUNT = "987654321012"


def test_no_card_cvv_or_account_number_is_stored_or_logged(gateway, sandbox_gateway):
    year = datetime.now(UTC).year + 1
    gateway.sale(
        amount=Decimal("11.00"),
        order_id="secret-1",
        card=Card(number=CARD_NUMBER, exp_month=1, exp_year=year, cvv="731"),
        save_to_vault=True,
    )
    gateway.vault_add(card=Card(number=AMEX, exp_month=1, exp_year=year, cvv=CVV))
    gateway.sale(
        amount=Decimal("12.00"),
        order_id="secret-2",
        bank_account=BankAccount(
            routing_number="490000018",
            account_number=ACCOUNT,
            name_on_account="Ada",
            holder_type=AccountHolderType.BUSINESS,
            account_type=AccountType.SAVINGS,
        ),
        billing=Billing(first_name="Ada"),
    )
    sandbox_gateway.settle()
    stored = b"".join(
        path.read_bytes()
        for path in sandbox_gateway.db_path.parent.iterdir()
        if path.name.startswith(sandbox_gateway.db_path.name)
    )
    logged = sandbox_gateway.log_path.read_bytes()
    answers = sandbox_gateway.query_xml(order_id="secret-1") + sandbox_gateway.query_xml(
        order_id="secret-2"
    )
    for where in (stored, logged, answers.encode()):
        for secret in (CARD_NUMBER, AMEX, ACCOUNT):
            assert secret.encode() not in where
    for where in (logged, answers.encode()):
        assert not re.search(rb"(?<!\d)(731|7316)(?!\d)", where)
    # A CVV is short enough to turn up by chance inside hex fingerprints or binary pages, so the
    # stored values are searched word by word.
    with sqlite3.connect(f"file:{sandbox_gateway.db_path}?mode=ro", uri=True) as db:
        tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        values = [v for t in tables for row in db.execute(f"SELECT * FROM {t}") for v in row]  # noqa: S608
    words = {w for v in values if isinstance(v, str) for w in re.split(r"[^0-9A-Za-z]+", v)}
    assert not {"731", "7316"} & words
    assert "secret-1" in values  # the search did look at the right data
    assert "xxxxxxxx1012" in answers
    assert b"POST /api/transact.php 200" in logged


def test_remit_sandbox_gateway_command_starts_it(tmp_path):
    remit = Path(sys.executable).with_name("remit")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "remit.test_settings"}
    command = [str(remit), "sandbox-gateway", "--port", "0", "--db", str(tmp_path / "s.sqlite3")]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True
    )
    try:
        line = process.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+", line).group()
        assert httpx.get(url + "/_sandbox/health", timeout=5).json()["status"] == "ok"
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0
        process.stdout.close()
    assert (tmp_path / "s.sqlite3").exists()


def test_remit_sandbox_gateway_needs_none_of_remits_settings(tmp_path):
    """As the README says, on a fresh checkout: no SECRET_KEY, no DEBUG, no settings module."""
    remit = Path(sys.executable).with_name("remit")
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in ("SECRET_KEY", "DEBUG", "DJANGO_SETTINGS_MODULE", "DATABASE_URL")
    }
    env["REMIT_VAR_DIR"] = str(tmp_path / "var")
    process = subprocess.Popen(
        [str(remit), "sandbox-gateway", "--port", "0", "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        line = process.stdout.readline()
        assert "listening on http://127.0.0.1:" in line, process.stderr.read()
        url = re.search(r"http://127\.0\.0\.1:\d+", line).group()
        assert httpx.get(url + "/_sandbox/health", timeout=5).json()["status"] == "ok"
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0
        process.stdout.close()
        process.stderr.close()
    # Its default database is Remit's var/ directory.
    assert (tmp_path / "var" / "sandbox-gateway.sqlite3").exists()


def test_the_default_database_is_under_var(settings):
    from remit.core.management.commands.sandbox_gateway import Command

    parser = Command().create_parser("remit", "sandbox-gateway")
    options = parser.parse_args([])
    assert options.db == str(settings.VAR_DIR / "sandbox-gateway.sqlite3")
    assert options.port == 8001


def test_the_sandbox_does_not_import_remit_or_django():
    code = (
        "import sys, sandbox_gateway.__main__, sandbox_gateway.server;"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('remit', 'django')];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize(("mode", "status"), [("http_500", 500), ("garbage", 200)])
def test_a_run_wide_fault_applies_to_every_transact_request(mode, status):
    with SandboxGatewayProcess(extra_args=("--fault", mode)) as sandbox:
        for _ in range(3):
            answer = httpx.post(
                sandbox.url + "/api/transact.php",
                data={"security_key": sandbox.security_key, "type": "sale"},
                timeout=5,
            )
            assert answer.status_code == status
            assert "response" not in parse_qs(answer.text)
