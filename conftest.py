"""Fixtures shared by every test suite."""

import pytest

from remit.testing import SandboxGatewayProcess

# Tests talk to the sandbox on loopback: a short read timeout keeps fault tests fast, yet is far
# above what a sandbox answer takes.
TEST_GATEWAY_READ_TIMEOUT = 5.0


@pytest.fixture(scope="session")
def sandbox_gateway():
    """The sandbox gateway as a real subprocess, one per test session (per xdist worker)."""
    with SandboxGatewayProcess() as sandbox:
        yield sandbox


@pytest.fixture
def gateway(sandbox_gateway, settings):
    """An NmiGateway talking to a freshly reset sandbox; Remit's settings point at it too."""
    from remit.gateway.nmi import NmiGateway

    sandbox_gateway.reset()
    settings.GATEWAY_URL = sandbox_gateway.url
    settings.GATEWAY_SECURITY_KEY = sandbox_gateway.security_key
    settings.GATEWAY_TOKENIZATION_KEY = sandbox_gateway.tokenization_key
    return NmiGateway(
        sandbox_gateway.url,
        sandbox_gateway.security_key,
        connect_timeout=2.0,
        read_timeout=TEST_GATEWAY_READ_TIMEOUT,
        dup_seconds=settings.GATEWAY_DUP_SECONDS,
    )


@pytest.fixture(autouse=True)
def _empty_cache():
    """Every test starts with an empty cache: what a test cached (the provider row, a security
    level's permissions, sessions) belonged to its own, rolled-back, database state."""
    from django.core.cache import cache

    cache.clear()
