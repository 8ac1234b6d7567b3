"""Reads sent together: a page's independent `Prepared` queries (remit/core/prepared.py) go to
PostgreSQL in one round trip instead of one each.

    recent, balance = read_together(
        Read(_recent, "records", org=org), Read(_balance, "rows", org=org, today=today)
    )

Each read comes back as its method (`instances`, `records`, `rows`) would return it. On
PostgreSQL the statements go in psycopg's pipeline mode, each its own statement in the extended
protocol (prepared on the server when its `Prepared` is `on_server`, as it would be alone), all
sent before one wait for the answers: on this project's machine each round trip of a small read
costs about 0.2 ms of waiting, more than PostgreSQL spends answering it (bench/README.md, "One
round trip for a page's reads"). Logged and wrapped as one query, the statements joined, as
remit/core/batch.py logs its writes. Elsewhere (SQLite) the reads run one after another.

Only for reads that do not depend on each other's answers: the invoice page reads its lines by
the id in the URL alongside the invoice itself, and drops them when the invoice is not the
user's (a 404 either way; page_queries.invoice_page)."""

from __future__ import annotations

from django.db import DEFAULT_DB_ALIAS, connections

from remit.core.batch import PipelineCursor
from remit.core.prepared import Prepared, prepares_on_server


class Read:
    __slots__ = ("kind", "prepared", "values")

    def __init__(self, prepared: Prepared, kind: str, **values):
        assert kind in ("instances", "records", "rows"), kind
        self.prepared, self.kind, self.values = prepared, kind, values

    def run(self):
        """This read alone, as its method returns it."""
        return getattr(self.prepared, self.kind)(**self.values)

    def result(self, compiled, rows):
        rows = Prepared.converted(compiled, rows)
        if self.kind == "rows":
            return rows
        if self.kind == "records":
            return Prepared.as_records(compiled, rows)
        return self.prepared.as_instances(compiled, rows)


def read_together(*reads: Read, using: str = DEFAULT_DB_ALIAS) -> list:
    connection = connections[using]
    if connection.vendor != "postgresql" or len(reads) < 2:
        return [read.run() for read in reads]
    prepare = prepares_on_server(connection)
    statements, compiled = [], []
    for read in reads:
        assert read.prepared.using == using
        query, params = read.prepared.statement(connection, read.values)
        compiled.append(query)
        statements.append((query.sql, params, prepare and read.prepared.on_server))
    connection.ensure_connection()
    pipeline = _Pipeline(connection, statements)
    with connection._prepare_cursor(pipeline) as cursor:
        cursor.execute(
            ";\n".join(sql for sql, _, _ in statements),
            tuple(p for _, params, _ in statements for p in params),
        )
    return [
        read.result(query, rows)
        for read, query, rows in zip(reads, compiled, pipeline.results, strict=True)
    ]


class _Pipeline(PipelineCursor):
    """The reads' statements in one pipeline (remit/core/batch.py's PipelineCursor), their rows
    kept in `results`."""

    def __init__(self, connection, statements):
        # Each statement's cursor is made as Django makes its own (create_cursor: the time zone
        # its timestamps are read in), on the connection's psycopg connection.
        super().__init__(connection.connection, statements)
        self.connection = connection
        self.results: list = []

    def execute(self, sql, params=None):
        self.logged = (sql, params)
        cursors = []
        try:
            # Leaving the block sends the one Sync and takes every answer (a sync() inside it
            # would be a second round trip: psycopg's exit always syncs).
            with self.pg_connection.pipeline():
                for statement, statement_params, prepare in self.statements:
                    cursor = self.connection.create_cursor()
                    cursors.append(cursor)
                    cursor.execute(statement, statement_params, prepare=True if prepare else None)
            self.results = [cursor.fetchall() for cursor in cursors]
        finally:
            for cursor in cursors:
                cursor.close()
