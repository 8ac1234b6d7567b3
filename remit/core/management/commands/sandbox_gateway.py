"""`remit sandbox-gateway`: run the sandbox payment gateway, a separate server (docs/gateway.md).

A thin wrapper: the sandbox imports nothing from Remit, this only gives it Remit's var/ directory.
"""

import argparse

from django.conf import settings
from django.core.management.base import BaseCommand

from sandbox_gateway.__main__ import add_arguments, run


class Command(BaseCommand):
    help = "Run the sandbox payment gateway (NMI protocol) with its own SQLite vault."

    def add_arguments(self, parser):
        add_arguments(parser)
        parser.set_defaults(db=str(settings.VAR_DIR / "sandbox-gateway.sqlite3"))

    def handle(self, *args, **options):
        names = ("host", "port", "db", "security_key", "settle_after", "fault", "fault_delay")
        run(argparse.Namespace(**{name: options[name] for name in (*names, "quiet")}))
