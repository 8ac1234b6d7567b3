"""Writes sent together: the INSERTs and UPDATEs of one money change whose results nobody reads
back (an event, an audit entry, the rows already locked and changed) go to PostgreSQL in one round
trip, inside the caller's transaction, instead of one round trip each.

    batch = WriteBatch()
    batch.insert(PaymentEvent(...))          # no RETURNING: the row's id is not read back
    batch.update(payment, ["state", ...])    # UPDATE ... WHERE pk, as save(update_fields=...)
    batch.enqueue(send_email, email.pk)      # the job row of a django-tasks-db task
    batch.flush()                            # one execute, before the transaction ends

The statements are the ones the ORM would run (compiled by it), in the order added; an error in any
of them raises from flush() and the caller's transaction rolls back as it would have. Nothing may
read a batched row before flush() (callers flush before anything that reads them: the webhooks'
listener does). Model signals are not sent (none of the models written this way has receivers).
On another database than PostgreSQL the statements run one by one."""

from __future__ import annotations

from types import SimpleNamespace

from django.db import connections
from django.db.models import sql
from django.db.models.signals import pre_save

# The ORM's SQL of each shape of write (model, columns, which values are NULL, database), kept
# once the ORM has compiled it and the parameters computed here were the ORM's own for it: later
# writes of that shape only prepare their values (field.get_db_prep_save), as the ORM does.
_SQL: dict[tuple, str] = {}


def _plain_params(connection, fields, values) -> tuple | None:
    """The values as the ORM's compilers pass them, when each is a plain value (no expression, no
    model instance, no field with a placeholder of its own); else None (the ORM compiles it)."""
    params = []
    for field, value in zip(fields, values, strict=True):
        if (
            hasattr(value, "resolve_expression")
            or hasattr(value, "prepare_database_save")
            or hasattr(field, "get_placeholder")
        ):
            return None
        params.append(field.get_db_prep_save(value, connection=connection))
    return tuple(params)


def _same(a, b) -> bool:
    if type(a) is not type(b):
        return False
    if hasattr(a, "obj") and hasattr(a, "dumps"):  # psycopg's Jsonb wrapper: compare its value
        return a.obj == b.obj
    return a == b


def _remember(key, statement: str, params, compiled) -> None:
    compiled = tuple(compiled)
    if (
        params is not None
        and len(params) == len(compiled)
        and all(_same(a, b) for a, b in zip(params, compiled, strict=True))
    ):
        _SQL[key] = statement


class WriteBatch:
    def __init__(self, using: str = "default"):
        self.using = using
        self.statements: list[tuple[str, tuple]] = []

    def insert(self, obj):
        """INSERT `obj` (its pk set in Python, or left to the database and not read back)."""
        meta = obj._meta
        pk_set = obj.pk is not None
        fields = [
            f
            for f in meta.local_concrete_fields
            if not f.generated and (pk_set or f is not meta.auto_field)
        ]
        pre_save.send(type(obj), instance=obj, raw=False, using=self.using, update_fields=None)
        connection = connections[self.using]
        # field.pre_save as the ORM's insert calls it (auto_now, auto_now_add, defaults set).
        values = [f.pre_save(obj, add=True) for f in fields]
        key = ("insert", type(obj), pk_set, self.using)
        params = _plain_params(connection, fields, values)
        cached = _SQL.get(key)
        if cached is not None and params is not None:
            self.statements.append((cached, params))
        else:
            # raw: the values pre_save set above, not a second pre_save (a later auto_now).
            query = sql.InsertQuery(type(obj))
            query.insert_values(fields, [obj], raw=True)
            compiler = query.get_compiler(using=self.using)
            compiler.returning_fields = None
            ((statement, compiled),) = compiler.as_sql()
            self.statements.append((statement, tuple(compiled)))
            _remember(key, statement, params, compiled)
        obj._state.adding, obj._state.db = False, self.using
        return obj

    def update(self, obj, fields) -> None:
        """UPDATE the named columns of `obj` (auto_now ones set as save() sets them)."""
        model = type(obj)
        values = []
        for name in fields:
            field = model._meta.get_field(name)
            values.append((field, None, field.pre_save(obj, False)))
        self._update(model, obj.pk, values)

    def update_values(self, model, pk, **values) -> None:
        """UPDATE `model` SET values WHERE pk (as `.filter(pk=pk).update(**values)`)."""
        self._update(model, pk, [(model._meta.get_field(k), None, v) for k, v in values.items()])

    def _update(self, model, pk, values) -> None:
        connection = connections[self.using]
        fields = [field for field, _, _ in values]
        params = _plain_params(connection, fields, [value for _, _, value in values])
        if params is not None:
            # The SQL differs by which values are NULL ("SET col = NULL" takes no parameter).
            nulls = tuple(p is None for p in params)
            key = ("update", model, tuple(f.attname for f in fields), nulls, self.using)
            where = model._meta.pk.get_db_prep_value(pk, connection)
            params = (*(p for p in params if p is not None), where)
            cached = _SQL.get(key)
            if cached is not None:
                self.statements.append((cached, params))
                return
        query = sql.UpdateQuery(model)
        query.add_update_fields(values)
        query.add_filter("pk", pk)
        statement, compiled = query.get_compiler(using=self.using).as_sql()
        self.statements.append((statement, tuple(compiled)))
        if params is not None:
            _remember(key, statement, params, compiled)

    def enqueue(self, task, *args):
        """`task.enqueue(*args)`, its job row written with the batch: the row django-tasks-db's
        DatabaseBackend.enqueue inserts (its `_task_to_db_task`; version pinned in requirements.txt), and its
        task_enqueued signal; another backend enqueues at once."""
        from django_tasks_db import DatabaseBackend
        from django_tasks_db.compat import normalize_json, task_enqueued
        from django_tasks_db.models import DBTaskResult

        backend = task.get_backend()
        if not isinstance(backend, DatabaseBackend):
            return task.enqueue(*args)
        backend.validate_task(task)
        row = DBTaskResult(
            id=backend._get_id(),
            args_kwargs=normalize_json({"args": args, "kwargs": {}}),
            priority=task.priority,
            task_path=task.module_path,
            queue_name=task.queue_name,
            run_after=task.run_after,
            backend_name=backend.alias,
        )
        self.insert(row)
        task_enqueued.send(type(backend), task_result=row.task_result)
        return row.task_result

    def flush(self) -> None:
        statements, self.statements = self.statements, []
        if not statements:
            return
        connection = connections[self.using]
        if connection.vendor != "postgresql" or len(statements) == 1:
            with connection.cursor() as cursor:
                for statement, params in statements:
                    cursor.execute(statement, params)
            return
        params = tuple(p for _, ps in statements for p in ps)
        with _pipelined_cursor(connection, statements) as cursor:
            # Logged (and wrapped) as one query: the statements joined, as they are sent together.
            cursor.execute(";\n".join(s for s, _ in statements), params)


class PipelineCursor:
    """A DB-API cursor for Django's CursorWrapper (its error translation, execute wrappers and
    query log) whose execute() sends several statements in psycopg's pipeline mode; logged as
    one query, the statements joined. Subclasses set `logged` in execute()."""

    def __init__(self, pg_connection, statements):
        self.pg_connection, self.statements = pg_connection, statements

    @property
    def _query(self):
        """What Django's debug log reads off a client-binding cursor (PgBouncer's settings)."""
        from psycopg import ClientCursor

        with ClientCursor(self.pg_connection) as cursor:
            return SimpleNamespace(query=cursor.mogrify(*self.logged).encode())

    def close(self):
        pass


class _Pipeline(PipelineCursor):
    """The batch's statements, each its own statement in PostgreSQL's extended protocol (bound
    and prepared on the server: writes by key, one plan fits every row), all sent before one
    wait for the answers. Errors arrive at the pipeline's end, inside the wrapper's
    database-error translation (an IntegrityError as any save raises it)."""

    def execute(self, sql, params=None):
        self.logged = (sql, params)  # the joined statements, for _query
        with self.pg_connection.pipeline(), self.pg_connection.cursor() as cursor:
            for statement, statement_params in self.statements:
                cursor.execute(statement, statement_params, prepare=True)


def _pipelined_cursor(connection, statements):
    connection.ensure_connection()
    return connection._prepare_cursor(_Pipeline(connection.connection, statements))
