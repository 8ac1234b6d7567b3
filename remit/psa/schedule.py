"""Periodic syncs: each connection is synced every `sync_interval_minutes` (0: never)."""

from __future__ import annotations

import datetime

from django.utils import timezone

from remit.psa.models import PsaConnection, SyncRun


def queue_due_syncs(now: datetime.datetime | None = None) -> list[SyncRun]:
    from remit.psa.sync import queue_sync

    now = now or timezone.now()
    queued = []
    for connection in PsaConnection.objects.filter(sync_interval_minutes__gt=0):
        if not connection.is_configured:
            continue
        last = connection.runs.order_by("-queued_at").first()
        interval = datetime.timedelta(minutes=connection.sync_interval_minutes)
        if last is None or last.queued_at + interval <= now:
            queued.append(queue_sync(connection, trigger="schedule"))
    return queued
