"""`remit worker`: runs queued background jobs and schedules the periodic ones (reconciliation of
payments whose outcome the gateway knows better). Start as many as you like: on PostgreSQL they
share the queue safely (each job is claimed with SELECT ... FOR UPDATE SKIP LOCKED), and each
periodic job is enqueued once per slot whichever worker gets there first."""

from django.core.management import call_command
from django.core.management.base import BaseCommand

from remit.core.periodic import Scheduler


class Command(BaseCommand):
    help = "Run a background worker for Remit's task queue."

    def add_arguments(self, parser):
        parser.add_argument(
            "--interval", type=float, default=1.0, help="Seconds between polls when idle."
        )
        parser.add_argument("--batch", action="store_true", help="Run what is queued, then exit.")
        parser.add_argument(
            "--no-scheduler", action="store_true", help="Do not enqueue periodic jobs from here."
        )

    def handle(self, *args, interval, batch, no_scheduler, **options):
        if not (batch or no_scheduler):
            Scheduler().start()
        call_command(
            "db_worker",
            queue_name="*",
            interval=interval,
            batch=batch,
            reload=False,
            startup_delay=not batch,
            verbosity=options.get("verbosity", 1),
        )
