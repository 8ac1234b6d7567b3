"""Prepared statements (remit/settings.py) across a migration that changes a column's type.

PostgreSQL refuses to run a statement prepared before such a change — "cached plan must not change
result type" — and psycopg keeps the statement, so in a process that kept running through the
deploy every later run of that query on that connection would fail. Each connection gets an
execute wrapper that answers that error:

- outside a transaction (autocommit): `DEALLOCATE ALL` on the connection (psycopg forgets its
  prepared statements when it sees the command) and the query run once more, now planned afresh;
- inside one: the error is raised as before — the transaction is aborted and cannot go on — and
  the rollback that follows makes psycopg deallocate everything (it does after every rollback), so
  the connection's next transaction plans afresh. A money change that fails this way is rolled
  back whole, as any database error rolls it back (a payment charged before its phase three
  failed is finished by the reconciler).
"""

from __future__ import annotations

from django.db import NotSupportedError
from django.db.backends.signals import connection_created

from remit.core.prepared import prepares_on_server

STALE_PLAN = "cached plan must not change result type"


def _is_stale_plan(error: Exception) -> bool:
    cause = error.__cause__
    return getattr(cause, "sqlstate", None) == "0A000" and STALE_PLAN in str(cause)


def retry_stale_plan(execute, sql, params, many, context):
    try:
        return execute(sql, params, many, context)
    except NotSupportedError as error:
        connection = context["connection"]
        if not _is_stale_plan(error) or not connection.get_autocommit():
            raise
        connection.connection.execute("DEALLOCATE ALL")
        return execute(sql, params, many, context)


def _install(sender, connection, **kwargs) -> None:
    """On a connection that prepares statements; once per connection object (this runs on every
    reconnect). First in the list, the outermost: `connection.execute_wrapper()` blocks pop the
    last one when they end."""
    if prepares_on_server(connection) and retry_stale_plan not in connection.execute_wrappers:
        connection.execute_wrappers.insert(0, retry_stale_plan)


def connect() -> None:
    connection_created.connect(_install, dispatch_uid="remit.core.stale_plans")
