"""The `remit` console command: Django's management commands with Remit's settings.

Remit's own commands are spelt with hyphens (`remit seed-demo`, `remit sandbox-gateway`); the Python
modules behind them use underscores, so a hyphenated name is translated before Django looks it up.
"""

import os
import sys


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "remit.settings")
    if len(argv) > 1 and not argv[1].startswith("-"):
        argv[1] = argv[1].replace("-", "_")
    if len(argv) > 1 and argv[1] == "demo":
        # The demo runs with production settings (DEBUG off) and a secret key of its own, which must
        # be in place before Django reads the settings.
        from remit.core.demo_env import demo_environment

        os.environ.update(demo_environment())
    from django.core.management import execute_from_command_line

    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
