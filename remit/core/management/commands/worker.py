"""`remit worker`: runs queued background jobs. Start as many as you like; on PostgreSQL they share
the queue safely (each job is claimed with SELECT ... FOR UPDATE SKIP LOCKED)."""

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run a background worker for Remit's task queue."

    def add_arguments(self, parser):
        parser.add_argument(
            "--interval", type=float, default=1.0, help="Seconds between polls when idle."
        )
        parser.add_argument("--batch", action="store_true", help="Run what is queued, then exit.")

    def handle(self, *args, interval, batch, **options):
        call_command("db_worker", queue_name="*", interval=interval, batch=batch, reload=False)
