import pytest

from remit.psa.autotask.connector import AutotaskConnector
from remit.psa.models import PsaConnection, SyncRun
from remit.psa.sync import run_sync
from remit.testing.autotask_sandbox import AutotaskSandboxProcess


@pytest.fixture
def sandbox():
    # Six active customers, two active contacts each, 24 invoices with 1 to 7 lines.
    with AutotaskSandboxProcess(companies=6, contacts_per_company=2, invoices=24) as running:
        yield running


@pytest.fixture
def connection(provider, sandbox):
    connection = PsaConnection(
        username=sandbox.username,
        integration_code=sandbox.integration_code,
        zone_lookup_url=sandbox.zone_lookup_url,
        company_types=[1],
        portal_url="http://testserver/",
    )
    connection.secret = sandbox.secret
    connection.save()
    return connection


@pytest.fixture
def waits():
    return []


@pytest.fixture
def sync(connection, waits):
    """Run one sync now (as the worker would), with the client's waits recorded, not slept."""

    def factory(conn):
        return AutotaskConnector.from_credentials(
            conn.username,
            conn.secret,
            conn.integration_code,
            zone_lookup_url=conn.zone_lookup_url,
            backoff=0.01,
            read_timeout=2.0,
            attempts=3,
            sleep=waits.append,
        )

    def run() -> SyncRun:
        queued = SyncRun.objects.create(connection=connection, trigger="test")
        return run_sync(queued.pk, connector_factory=factory)

    return run
