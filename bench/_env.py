"""The environment every bench runs Remit with: production settings (DEBUG off) on loopback, the
sandbox gateway's keys, and the card-testing limits lifted (every bench payer pays from 127.0.0.1;
the limits are tested on their own in tests/payments/test_limits*)."""

from __future__ import annotations

import os

LIMITS = (
    "FAILURES_PER_USER_PER_HOUR",
    "FAILURES_PER_ORGANIZATION_PER_HOUR",
    "FAILURES_PER_IP_PER_HOUR",
    "NEW_METHODS_PER_USER_PER_DAY",
    "NEW_METHODS_PER_ORGANIZATION_PER_DAY",
    "NEW_METHODS_PER_IP_PER_DAY",
)


def bench_environment(sandbox, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "remit.settings",
        "DEBUG": "0",
        "SECRET_KEY": "bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "SECURE_SSL_REDIRECT": "0",
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
        "SECURE_HSTS_SECONDS": "0",
        "GATEWAY_URL": sandbox.url,
        "GATEWAY_SECURITY_KEY": sandbox.security_key,
        "GATEWAY_TOKENIZATION_KEY": sandbox.tokenization_key,
        **{f"LIMIT_{limit}": "1000000" for limit in LIMITS},
        **extra,
    }
