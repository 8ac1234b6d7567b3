"""Periodic jobs, run by the workers. However many workers there are, each job is enqueued once per
time slot: the first worker to insert the (job, slot) row enqueues it; the others find it taken."""

from __future__ import annotations

import datetime
import logging
import threading
import time

from django.conf import settings
from django.db import IntegrityError, close_old_connections, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from remit.core.models import PeriodicRun

logger = logging.getLogger(__name__)


def periodic_jobs() -> dict[str, tuple[str, int]]:
    """name -> (task path, every N seconds)."""
    return {
        "reconcile-payments": (
            "remit.payments.tasks.reconcile_open_payments",
            settings.RECONCILE_EVERY,
        ),
        "check-payment-page": (
            "remit.portal.tasks.check_payment_page_task",
            settings.PAYMENT_PAGE_CHECK_EVERY,
        ),
        # Each PSA connection has its own interval; this only looks for one that is due.
        "psa-sync": ("remit.psa.tasks.sync_due_connections", 60),
        # Autopay charges and payment reminders (remit/autopay/): each is safe on many workers.
        "autopay": ("remit.autopay.tasks.run_autopay_task", settings.AUTOPAY_EVERY),
        "payment-reminders": ("remit.autopay.tasks.send_reminders_task", settings.REMINDERS_EVERY),
    }


def enqueue_due_jobs(now: float | None = None) -> list[str]:
    now = time.time() if now is None else now
    enqueued = []
    for name, (path, every) in periodic_jobs().items():
        slot = int(now // every)
        try:
            with transaction.atomic():
                PeriodicRun.objects.create(name=name, slot=slot)
                import_string(path).enqueue()
        except IntegrityError:
            continue  # another worker has it
        enqueued.append(name)
    if enqueued:
        PeriodicRun.objects.filter(
            enqueued_at__lt=timezone.now() - datetime.timedelta(days=2)
        ).delete()
    return enqueued


class Scheduler(threading.Thread):
    """A daemon thread in each worker process that enqueues due periodic jobs."""

    def __init__(self, tick: float = 5.0):
        super().__init__(name="remit-scheduler", daemon=True)
        self.tick = tick
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            try:
                close_old_connections()
                enqueue_due_jobs()
            except Exception:
                logger.exception("scheduling periodic jobs failed")
            self.stopped.wait(self.tick)
