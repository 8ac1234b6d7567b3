"""The `sync.finished` webhook: one delivery per endpoint that wants it, written in the run's final
transaction and sent (signed, retried) by the worker like every other webhook (docs/api.md)."""

from __future__ import annotations

import json
import uuid

from django.utils import timezone

from remit.psa.models import SyncRun
from remit.webhooks.models import EventType, WebhookDelivery, WebhookEndpoint


def sync_finished(run: SyncRun) -> list[WebhookDelivery]:
    from ninja.responses import NinjaJSONEncoder

    from remit.psa.api import SyncRunOut, sync_run_data
    from remit.webhooks.tasks import deliver_webhook

    event = EventType.SYNC_FINISHED
    endpoints = [e for e in WebhookEndpoint.objects.filter(is_active=True) if e.wants(event)]
    if not endpoints:
        return []
    event_id = uuid.uuid4()
    data = SyncRunOut.model_validate(sync_run_data(run)).model_dump()
    body = json.dumps(
        {"id": str(event_id), "type": event, "created": timezone.now(), "data": data},
        cls=NinjaJSONEncoder,
        separators=(",", ":"),
    )
    deliveries = []
    for endpoint in endpoints:
        delivery = WebhookDelivery.objects.create(
            endpoint=endpoint, event_id=event_id, event_type=event, body=body
        )
        deliver_webhook.enqueue(delivery.pk)
        deliveries.append(delivery)
    return deliveries
