"""The demo's environment, set before Django reads its settings (`remit demo`, `make demo`).

The demo serves what a client would see: DEBUG is off (branded error pages, no URLconf listing), with a
secret key generated once and kept in `var/secret_key`, and static files collected into `var/static`
and served by whitenoise. Only what a laptop lacks is relaxed: plain HTTP on loopback (no TLS redirect,
no secure-only cookies, no HSTS) and emails printed on the console. Nothing here imports Django.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

DEMO_GATEWAY_KEY = "remit-demo-sandbox-key"


def var_dir() -> Path:
    """The same folder as `settings.VAR_DIR`, found without loading the settings."""
    return Path(os.environ.get("REMIT_VAR_DIR", Path(__file__).resolve().parents[2] / "var"))


def demo_secret_key(folder: Path) -> str:
    """Generated at the first run, then read back, so sessions survive a restart of the demo."""
    path = folder / "secret_key"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(50))
    return path.read_text().strip()


def demo_environment(*, gateway_port: int = 8001, autotask_port: int = 8002) -> dict[str, str]:
    """The variables every process of the demo runs with: production settings, on loopback."""
    folder = var_dir()
    return {
        "DEBUG": "0",
        "SECRET_KEY": demo_secret_key(folder),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "0",
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
        "SECURE_HSTS_SECONDS": "0",
        "EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend",
        "STATIC_ROOT": str(folder / "static"),
        "GATEWAY_URL": f"http://127.0.0.1:{gateway_port}",
        "GATEWAY_SECURITY_KEY": DEMO_GATEWAY_KEY,
        # seed-demo connects Remit to the Autotask sandbox `remit demo` starts there.
        "AUTOTASK_SANDBOX_URL": f"http://127.0.0.1:{autotask_port}",
        "PYTHONUNBUFFERED": "1",
    }
