"""The app's PostgreSQL connections: no JIT, and the portal's queries prepared once per connection
(remit/settings.py says why); behind PgBouncer neither startup options nor prepared statements
unless asked for."""

import json
import os
import subprocess
import sys

import pytest
from django.db import connection

from remit.accounts.models import User
from remit.core.batch import WriteBatch
from tests.factories import UserFactory


def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's settings")


@pytest.mark.django_db
def test_jit_is_off_for_the_apps_connections():
    _postgresql_only()
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"


def _prepared_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.django_db
def test_a_look_up_by_key_is_prepared_on_the_server_once():
    """The session's user (every signed-in request) is prepared on its first run and bound by
    the server from then on."""
    _postgresql_only()
    from remit.accounts.backends import RemitBackend

    user = UserFactory()
    assert not any("accounts_user" in s for s in _prepared_statements())
    for _ in range(3):
        assert RemitBackend().get_user(user.pk) == user
    (prepared,) = [s for s in _prepared_statements() if '"accounts_user"' in s]
    assert "$1" in prepared  # the value is bound by the server, not written into the SQL


@pytest.mark.django_db
def test_an_organizations_invoices_are_planned_for_each_run_not_prepared(manager):
    """Home's balance and recent invoices, Reports > Invoices' count and page, and any other ORM
    query are never prepared, however often they run: a prepared statement gets a generic plan
    after five runs, made for an average organization (remit/settings.py)."""
    _postgresql_only()
    import datetime

    from remit.billing import page_queries

    for _ in range(8):
        page_queries.home_reads(manager, datetime.date(2026, 3, 1))  # sent together
        reads = page_queries.ListReads(manager)
        reads.bounded_count()
        reads.page(["-invoice_date", "-id"], None)
        # ... nor when sent together, as the pages send them (remit/core/read_together.py)
        page_queries.ListReads(manager).count_and_page(["-invoice_date", "-id"], None)
        User.objects.filter(pk=manager.pk).first()
    assert not any("billing_invoice" in s for s in _prepared_statements())
    assert not any('"accounts_user"' in s for s in _prepared_statements())


@pytest.mark.django_db
def test_a_batch_of_writes_is_still_one_query_under_server_side_binding():
    _postgresql_only()
    user = UserFactory(first_name="Before")
    from django.test.utils import CaptureQueriesContext

    batch = WriteBatch()
    user.first_name, user.last_name = "After", "Batched"
    batch.update(user, ["first_name"])
    batch.update(user, ["last_name"])
    with CaptureQueriesContext(connection) as queries:
        batch.flush()
    assert len(queries) == 1
    user.refresh_from_db()
    assert (user.first_name, user.last_name) == ("After", "Batched")


@pytest.mark.django_db
def test_a_batchs_statements_are_bound_and_prepared_on_the_server_like_any_query():
    """The batch goes in psycopg's pipeline mode: each statement its own, in the extended
    protocol, so one that repeats on a connection is prepared there as a read is."""
    _postgresql_only()
    user = UserFactory(first_name="Before")
    for round_ in range(3):
        batch = WriteBatch()
        user.first_name, user.last_name = f"First {round_}", f"Last {round_}"
        batch.update(user, ["first_name"])
        batch.update(user, ["last_name"])
        batch.flush()
    updates = [s for s in _prepared_statements() if s.startswith('UPDATE "accounts_user"')]
    assert sorted(u.split(" = ")[0] for u in updates) == [
        'UPDATE "accounts_user" SET "first_name"',
        'UPDATE "accounts_user" SET "last_name"',
    ]
    assert all("$1" in u and ";" not in u for u in updates)
    user.refresh_from_db()
    assert (user.first_name, user.last_name) == ("First 2", "Last 2")


def _database_options(**env) -> dict:
    """settings.DATABASES['default'] as a fresh process reads it with `env`."""
    code = (
        "import json, django; django.setup(); from django.conf import settings; "
        "d = settings.DATABASES['default']; "
        "print(json.dumps({'options': d.get('OPTIONS', {}), "
        "'no_cursors': d.get('DISABLE_SERVER_SIDE_CURSORS', False)}))"
    )
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "remit.settings",
        "DATABASE_URL": "postgres://remit@db.example:5432/remit",
        **env,
    }
    for name in ("PGBOUNCER", "DATABASE_PREPARED", "DATABASE_JIT"):
        if name not in env:
            environment.pop(name, None)
    out = subprocess.run(
        [sys.executable, "-c", code], env=environment, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


def test_postgresql_connections_bind_on_the_server_and_prepare_by_default():
    options = _database_options()["options"]
    assert options["server_side_binding"] is True
    assert options["prepare_threshold"] == 2**31 - 1  # only the statements Remit names
    assert options["options"] == "-c jit=off"


def test_behind_pgbouncer_no_prepared_statements_unless_asked_for():
    plain = _database_options(PGBOUNCER="1")
    assert "server_side_binding" not in plain["options"]
    assert "options" not in plain["options"]  # PgBouncer refuses startup options
    assert plain["no_cursors"] is True
    # PgBouncer 1.21+ with max_prepared_statements keeps them: the operator says so.
    kept = _database_options(PGBOUNCER="1", DATABASE_PREPARED="1")
    assert kept["options"]["server_side_binding"] is True


def _change_first_name_type(length: int) -> None:
    """ALTER the column from another connection, as a deploy's `remit migrate` would."""
    import psycopg

    settings = connection.settings_dict
    with psycopg.connect(
        host=settings["HOST"],
        port=settings["PORT"] or 5432,
        user=settings["USER"],
        dbname=settings["NAME"],
        autocommit=True,
    ) as other:
        other.execute(f"ALTER TABLE accounts_user ALTER COLUMN first_name TYPE varchar({length})")


@pytest.fixture
def first_name_type_changed_meanwhile():
    _postgresql_only()
    from remit.accounts.services import ensure_system_security_levels

    ensure_system_security_levels()  # a transactional test's tables start empty
    yield lambda: _change_first_name_type(200)
    _change_first_name_type(80)  # as the model has it


@pytest.mark.django_db(transaction=True)
def test_a_query_prepared_before_a_column_changed_type_runs_afresh_after_it(
    first_name_type_changed_meanwhile,
):
    from remit.accounts.backends import RemitBackend

    user = UserFactory(first_name="Ada")
    backend = RemitBackend()
    for _ in range(3):  # prepared on this connection
        assert backend.get_user(user.pk) == user
    first_name_type_changed_meanwhile()
    # PostgreSQL refuses the old plan; the statement is planned again, the request goes on.
    assert backend.get_user(user.pk).first_name == "Ada"
    assert backend.get_user(user.pk).first_name == "Ada"


@pytest.mark.django_db(transaction=True)
def test_inside_a_transaction_the_change_fails_it_and_the_next_one_runs_afresh(
    first_name_type_changed_meanwhile,
):
    from django.db import NotSupportedError, transaction

    from remit.accounts.backends import RemitBackend

    user = UserFactory(first_name="Ada")
    backend = RemitBackend()
    for _ in range(3):
        assert backend.get_user(user.pk) == user
    first_name_type_changed_meanwhile()

    def in_a_transaction():
        with transaction.atomic():
            return backend.get_user(user.pk)

    with pytest.raises(NotSupportedError):  # the transaction cannot go on: rolled back whole
        in_a_transaction()
    assert in_a_transaction().first_name == "Ada"  # the rollback dropped the old plans
