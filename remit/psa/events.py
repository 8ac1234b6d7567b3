"""Events of a sync for other systems. The `sync.finished` webhook is not wired yet (webhook
deliveries belong to payments today); the audit event `psa.sync_finished` is written."""

from __future__ import annotations


def sync_finished(run) -> None:
    return None
