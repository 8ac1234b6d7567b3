"""The demo connects Remit to the Autotask sandbox that `remit demo` starts (AUTOTASK_SANDBOX_URL),
once, and queues the first sync, so the worker's first sync happens as the demo starts."""

from __future__ import annotations

import os

from remit.psa.models import PsaConnection, SyncRun

# The sandbox's defaults (autotask_sandbox/__main__.py), repeated: Remit does not import it.
DEMO_USERNAME = "api-user@sandbox.example"
DEMO_SECRET = "sandbox-secret"  # noqa: S105  (the sandbox's own demo secret)
DEMO_INTEGRATION_CODE = "REMITSANDBOXINTEGRATION"


def connect_demo_sandbox(portal_url: str = "http://127.0.0.1:8000/") -> SyncRun | None:
    url = os.environ.get("AUTOTASK_SANDBOX_URL", "").rstrip("/")
    if not url:
        return None
    connection, _created = PsaConnection.objects.get_or_create(
        kind=PsaConnection.Kind.AUTOTASK, defaults={"company_types": [1]}
    )
    if not connection.is_configured:
        connection.username = DEMO_USERNAME
        connection.secret = DEMO_SECRET
        connection.integration_code = DEMO_INTEGRATION_CODE
        connection.company_types = [1]
        connection.portal_url = portal_url
        connection.sync_interval_minutes = 60
    # The sandbox's port may differ from one demo run to the next.
    connection.zone_lookup_url = f"{url}/atservicesrest"
    connection.zone_url = ""
    connection.save()
    if connection.runs.exists():
        return None
    from remit.psa.sync import queue_sync

    return queue_sync(connection, trigger="schedule", requested_by="make demo")
