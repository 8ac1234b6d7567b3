"""Background work runs on a real queue (django-tasks-db's table): jobs commit with the data that
caused them, several workers share the queue without running a job twice, and each periodic job is
enqueued once per time slot however many workers schedule."""

import threading

import pytest
from django.db import connection, transaction
from django_tasks import task
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

from remit.audit.models import AuditEvent
from remit.audit.services import record_event
from remit.core.models import PeriodicRun
from remit.core.periodic import enqueue_due_jobs


@task()
def note_run(n: int) -> int:
    record_event("test.job_ran", summary=str(n), n=n)
    return n


def worker(worker_id: str) -> Worker:
    return Worker(
        queue_names=["*"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id=worker_id,
        excluded_queue_names=[],
    )


@pytest.mark.django_db(transaction=True)
def test_three_workers_share_the_queue_and_run_each_job_once():
    for n in range(60):
        note_run.enqueue(n)

    def run(name):
        try:
            worker(name).run()
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(f"w{i}",)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    ran = sorted(int(e.summary) for e in AuditEvent.objects.filter(action="test.job_ran"))
    assert ran == list(range(60))
    assert DBTaskResult.objects.successful().count() == 60
    workers = {tuple(r.worker_ids) for r in DBTaskResult.objects.all()}
    assert workers  # each job names the worker that claimed it


@pytest.mark.django_db(transaction=True)
def test_a_job_exists_only_if_its_transaction_commits():
    def change_that_fails():
        with transaction.atomic():
            note_run.enqueue(1)
            raise RuntimeError("the change that caused the job is rolled back")

    with pytest.raises(RuntimeError):
        change_that_fails()
    assert not DBTaskResult.objects.exists()
    with transaction.atomic():
        note_run.enqueue(2)
    assert DBTaskResult.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_periodic_jobs_are_enqueued_once_per_slot_by_competing_schedulers():
    now = 1_800_000_000.0
    results = []

    def schedule():
        try:
            results.append(enqueue_due_jobs(now))
        finally:
            connection.close()

    threads = [threading.Thread(target=schedule) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    # Five periodic jobs (reconciliation, the payment page check, the PSA sync check, autopay,
    # payment reminders): each enqueued exactly once, whichever scheduler wins.
    assert sorted(name for r in results for name in r) == [
        "autopay",
        "check-payment-page",
        "payment-reminders",
        "psa-sync",
        "reconcile-payments",
    ]
    assert PeriodicRun.objects.count() == 5
    assert DBTaskResult.objects.filter(task_path__endswith="reconcile_open_payments").count() == 1
    assert DBTaskResult.objects.filter(task_path__endswith="check_payment_page_task").count() == 1
    assert DBTaskResult.objects.filter(task_path__endswith="sync_due_connections").count() == 1
    # Their next slot: reconciliation, the PSA check and autopay run every minute, reminders every
    # five minutes, the page check daily.
    assert enqueue_due_jobs(now + 60) == ["reconcile-payments", "psa-sync", "autopay"]
