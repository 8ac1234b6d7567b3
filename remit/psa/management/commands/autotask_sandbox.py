"""`remit autotask-sandbox`: run the Autotask sandbox, a separate server (docs/autotask.md).

A thin wrapper: the sandbox imports nothing from Remit, this only gives it Remit's var/ directory.
"""

import argparse

from django.conf import settings
from django.core.management.base import BaseCommand

from autotask_sandbox.__main__ import add_arguments, run


class Command(BaseCommand):
    help = "Run the Autotask sandbox (REST API subset) with its own SQLite book."

    def add_arguments(self, parser):
        add_arguments(parser)
        parser.set_defaults(db=str(settings.VAR_DIR / "autotask-sandbox.sqlite3"))

    def handle(self, *args, **options):
        names = (
            "host", "port", "db", "username", "secret", "integration_code", "companies",
            "contacts_per_company", "invoices", "seed", "no_anomalies", "quiet",
        )  # fmt: skip
        run(argparse.Namespace(**{name: options[name] for name in names}))
