"""`remit check --deploy` with production-like settings reports no warnings."""

import os
import subprocess
import sys

PRODUCTION_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": "k" * 20 + "production-like-secret-key-9f8e7d6c5b4a3210",
    "ALLOWED_HOSTS": "portal.example.com",
    "DATABASE_URL": "sqlite:////tmp/remit-deploy-check.sqlite3",
    "DJANGO_SETTINGS_MODULE": "remit.settings",
    # A production deployment sets its own encryption key for secrets at rest (docs/autotask.md).
    "REMIT_ENCRYPTION_KEY": "MDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDA=",
}


def run_remit(*args, env=None):
    overridden = {
        "DEBUG",
        "SECURE_SSL_REDIRECT",
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
        "SECURE_HSTS_SECONDS",
        "ALLOWED_HOSTS",
        "DJANGO_ALLOW_ASYNC_UNSAFE",  # the browser tests' setting, never a deployment's
    }
    base = {k: v for k, v in os.environ.items() if k not in overridden}
    return subprocess.run(
        [sys.executable, "-m", "remit", *args],
        env={**base, **PRODUCTION_ENV, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean():
    result = run_remit("check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_warns_when_the_encryption_key_is_derived():
    result = run_remit("check", "--deploy", env={"REMIT_ENCRYPTION_KEY": ""})
    assert "remit.psa.W001" in result.stdout + result.stderr
    assert "REMIT_ENCRYPTION_KEY is not set" in result.stdout + result.stderr


def test_production_refuses_to_start_without_a_secret_key():
    result = run_remit("check", env={"SECRET_KEY": ""})
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr
