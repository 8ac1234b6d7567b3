"""The `sync.finished` webhook: one delivery per endpoint that wants it, written in the run's final
transaction and sent (signed, retried) by the worker like every other webhook (docs/api.md)."""

from __future__ import annotations

from remit.psa.models import SyncRun
from remit.webhooks.models import EventType, WebhookDelivery


def sync_finished(run: SyncRun) -> list[WebhookDelivery]:
    from remit.psa.api import SyncRunOut, sync_run_data
    from remit.webhooks.services import deliveries_for_event

    return deliveries_for_event(
        EventType.SYNC_FINISHED,
        lambda: SyncRunOut.model_validate(sync_run_data(run)).model_dump(),
    )
