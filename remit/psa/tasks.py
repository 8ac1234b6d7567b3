"""Background jobs of the PSA sync. Each takes only ids."""

from django_tasks import task


@task()
def run_psa_sync(run_id: int) -> str:
    from remit.psa.sync import run_sync

    return run_sync(run_id).status


@task()
def sync_due_connections() -> int:
    """The periodic job: queue a sync for each connection whose interval has passed."""
    from remit.psa.schedule import queue_due_syncs

    return len(queue_due_syncs())
