"""The `remit` console command: Django's management commands with Remit's settings.

Remit's own commands are spelt with hyphens (`remit seed-demo`, `remit sandbox-gateway`); the Python
modules behind them use underscores, so a hyphenated name is translated before Django looks it up.

`remit sandbox-gateway` and `remit autotask-sandbox` do not load Remit's settings at all: the sandbox is a separate server that
needs nothing of Remit's (no `SECRET_KEY`, no `DEBUG`, no database), only where `var/` is.
"""

import os
import sys
from pathlib import Path


def var_dir() -> Path:
    """Remit's var/ directory, as settings.py computes it (REMIT_VAR_DIR, else <repo>/var)."""
    return Path(os.environ.get("REMIT_VAR_DIR", Path(__file__).resolve().parent.parent / "var"))


def sandbox_gateway(args: list[str]) -> None:
    import argparse

    from sandbox_gateway.__main__ import add_arguments, run

    parser = argparse.ArgumentParser(
        prog="remit sandbox-gateway",
        description="Run the sandbox payment gateway (NMI protocol) with its own SQLite vault.",
    )
    add_arguments(parser)
    parser.set_defaults(db=str(var_dir() / "sandbox-gateway.sqlite3"))
    run(parser.parse_args(args))


def autotask_sandbox(args: list[str]) -> None:
    import argparse

    from autotask_sandbox.__main__ import add_arguments, run

    parser = argparse.ArgumentParser(
        prog="remit autotask-sandbox",
        description="Run the Autotask sandbox (REST API subset) with its own SQLite book.",
    )
    add_arguments(parser)
    parser.set_defaults(db=str(var_dir() / "autotask-sandbox.sqlite3"))
    run(parser.parse_args(args))


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv if argv is None else argv)
    if len(argv) > 1 and argv[1] in ("sandbox-gateway", "sandbox_gateway"):
        sandbox_gateway(argv[2:])
        return
    if len(argv) > 1 and argv[1] in ("autotask-sandbox", "autotask_sandbox"):
        autotask_sandbox(argv[2:])
        return
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
