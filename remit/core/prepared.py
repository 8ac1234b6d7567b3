"""Fixed-shape queries built by the ORM once per process, then re-executed with new values.

Building a QuerySet's SQL (filters resolved, expressions compiled) costs Django several times what
PostgreSQL spends answering the small queries of the client pages (bench/README.md, "Client pages
side by side"). A `Prepared` query is written as an ordinary QuerySet, built once per database
connection with a sentinel value in place of each varying parameter (an organization id, a date, a
cursor); the sentinels are found in the compiled parameters, and each later execution substitutes
the real values there and runs the same SQL. So the SQL is exactly the ORM's, on PostgreSQL as on
SQLite, and the rows come back through the ORM's own converters and `Model.from_db` (`instances()`),
or as read-only records of the same values for a page that only shows them (`records()`).

    recent = Prepared(
        lambda org: Invoice.objects.filter(organization_id=org).order_by("-id")[:5],
        org=Slot(Invoice, "organization"),
    )
    recent.instances(org=7)

`on_server=True` also prepares the statement on the server (PostgreSQL, where the connection
prepares: remit/settings.py), so PostgreSQL parses it once per connection and, after five runs,
keeps one generic plan for it. That suits a look-up by key, whose best plan is the same for every
value: the session's user, an invoice by id, the payment path's locks. A query over an
organization's invoices is left to be planned for each run's values (the default): a generic plan
is made for an average organization, and for a 100,000-invoice one it read the "show paid" page's
count 20× slower (bench/README.md, "Generic plans").

A slot's sentinel must reach the SQL as a parameter unchanged (an equality, a comparison, a row
comparison): not through LIKE (whose parameter is rewritten) or LIMIT/OFFSET (inlined in the SQL).
`_compile` refuses a sentinel it cannot find.
"""

from __future__ import annotations

import collections
import datetime
import functools
import itertools
from dataclasses import dataclass
from decimal import Decimal

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models.query import get_related_populators
from django.db.transaction import TransactionManagementError

_unique = itertools.count(1)


def bigint_or_none(value) -> int | None:
    """`value` as an id a bigint column can hold (as the ORM takes a pk from a URL or a session),
    or None: a query given anything else would fail in the database, not find nothing."""
    try:
        value = int(value)
    except (TypeError, ValueError):
        return None
    return value if -(2**63) <= value < 2**63 else None


@dataclass(frozen=True)
class Slot:
    """A varying parameter: adapted for the database as `model.field` adapts its values."""

    model: type
    field: str

    def adapt(self, value, connection):
        return self._target.get_db_prep_value(value, connection, prepared=False)

    @functools.cached_property
    def _target(self):
        field = self.model._meta.get_field(self.field)
        return getattr(field, "target_field", None) or field  # a foreign key: its target's type

    def sentinel(self, n: int):
        """A value no real query parameter equals (negative, or a date or time before any)."""
        field = self.model._meta.get_field(self.field)
        kind = (getattr(field, "target_field", None) or field).get_internal_type()
        if kind == "DateField":
            return datetime.date(1000 + n, 1 + n % 12, 1 + n % 28)
        if kind == "DateTimeField":
            return datetime.datetime(1000 + n, 1 + n % 12, 1 + n % 28, tzinfo=datetime.UTC)
        if kind == "DecimalField":
            return Decimal(f"-987654.{n:02d}")
        return -987_654_000 - n


@dataclass
class _Compiled:
    compiler: object
    sql: str
    params: list
    positions: dict[str, list[int]]
    converters: dict
    model_start: int = 0
    model_end: int = 0
    init_list: list | None = None
    related_populators: list | None = None
    annotation_col_map: dict | None = None
    record: type | None = None  # records()' class, made on first use


class Prepared:
    def __init__(
        self,
        build,
        using: str = DEFAULT_DB_ALIAS,
        wrap: str | None = None,
        one: bool = False,
        on_server: bool = False,
        **slots: Slot,
    ):
        """`wrap`: SQL around the QuerySet's, `{}` where it goes, as Django wraps a sliced query
        to count it (`SELECT COUNT(*) FROM ({}) subquery`); the rows are then the wrapper's, as
        the database returns them. `one`: the QuerySet is read as QuerySet.get() reads it — its
        ordering dropped, two rows at most — for `get()`. `on_server`: prepared on the server
        (above)."""
        self.build = build
        self.using = using
        self.wrap = wrap
        self.one = one
        self.on_server = on_server
        self.slots = slots
        self.key = f"_remit_prepared_{next(_unique)}"

    def _compiled(self, connection) -> _Compiled:
        # Kept on the connection object: one per thread and alias, as Django keeps connections.
        compiled = connection.__dict__.get(self.key)
        if compiled is None:
            compiled = self._compile(connection)
            connection.__dict__[self.key] = compiled
        return compiled

    def _compile(self, connection) -> _Compiled:
        sentinels = {name: slot.sentinel(n) for n, (name, slot) in enumerate(self.slots.items())}
        queryset = self.build(**sentinels)
        if self.one:
            queryset = queryset.order_by()[:2]
        compiler = queryset.query.get_compiler(connection=connection)
        if self.wrap:
            sql, params = compiler.as_sql(with_col_aliases=True)
            sql = self.wrap.format(sql)
        else:
            sql, params = compiler.as_sql()
        params = list(params)
        positions = {}
        for name, slot in self.slots.items():
            adapted = slot.adapt(sentinels[name], connection)
            found = [i for i, p in enumerate(params) if type(p) is type(adapted) and p == adapted]
            if not found:
                raise ValueError(f"{name}: its sentinel is not among the parameters of {sql}")
            positions[name] = found
        fields = [s[0] for s in compiler.select[0 : compiler.col_count]]
        converters = {} if self.wrap else compiler.get_converters(fields)
        compiled = _Compiled(compiler, sql, params, positions, converters)
        klass_info = compiler.klass_info
        if klass_info and not self.wrap:  # rows of a model (not .values())
            select_fields = klass_info["select_fields"]
            compiled.model_start, compiled.model_end = select_fields[0], select_fields[-1] + 1
            compiled.init_list = [
                f[0].target.attname
                for f in compiler.select[compiled.model_start : compiled.model_end]
            ]
            compiled.related_populators = get_related_populators(
                klass_info, compiler.select, self.using
            )
            compiled.annotation_col_map = compiler.annotation_col_map
        return compiled

    def rows(self, **values) -> list:
        """The rows, each a list of Python values (the ORM's converters applied)."""
        return self._run(connections[self.using], values)[1]

    def _run(self, connection, values):
        compiled, params = self.statement(connection, values)
        with (
            server_prepared_cursor(connection) if self.on_server else connection.cursor() as cursor
        ):
            cursor.execute(compiled.sql, params)
            rows = cursor.fetchall()
        return compiled, self.converted(compiled, rows)

    def statement(self, connection, values) -> tuple[_Compiled, list]:
        """The compiled query and its parameters with `values` in the slots (remit/core/
        read_together.py sends several such statements in one round trip)."""
        compiled = self._compiled(connection)
        if compiled.compiler.query.select_for_update and connection.get_autocommit():
            # Django checks this when it compiles, which a Prepared query does once.
            raise TransactionManagementError(
                "select_for_update cannot be used outside of a transaction."
            )
        params = list(compiled.params)
        for name, slot in self.slots.items():
            adapted = slot.adapt(values[name], connection)
            for i in compiled.positions[name]:
                params[i] = adapted
        return compiled, params

    @staticmethod
    def converted(compiled: _Compiled, rows) -> list:
        """The database's rows with the ORM's converters applied (as the QuerySet applies them)."""
        if compiled.converters:
            return list(compiled.compiler.apply_converters(rows, compiled.converters))
        return rows

    def get(self, **values):
        """The one instance, as QuerySet.get() returns it (a Prepared built with `one`): the
        model's DoesNotExist when there is none."""
        assert self.one, "get() reads a Prepared built with one=True"
        found = self.instances(**values)
        if len(found) != 1:
            model = self._compiled(connections[self.using]).compiler.klass_info["model"]
            if not found:
                raise model.DoesNotExist(
                    f"{model._meta.object_name} matching query does not exist."
                )
            raise model.MultipleObjectsReturned(f"more than one {model._meta.object_name}")
        return found[0]

    def first(self, **values):
        """The first instance, or None (the query limits itself, or is built with `one`)."""
        found = self.instances(**values)
        return found[0] if found else None

    def instances(self, **values) -> list:
        """Model instances, as iterating the QuerySet gives them (annotations, select_related)."""
        return self.as_instances(*self._run(connections[self.using], values))

    def as_instances(self, compiled: _Compiled, rows) -> list:
        model = compiled.compiler.klass_info["model"]
        start, end, init_list = compiled.model_start, compiled.model_end, compiled.init_list
        objects = []
        for row in rows:
            obj = model.from_db(self.using, init_list, row[start:end])
            for populator in compiled.related_populators:
                populator.populate(row, obj)
            for attr, position in compiled.annotation_col_map.items():
                setattr(obj, attr, row[position])
            objects.append(obj)
        return objects

    def records(self, **values) -> list:
        """The rows as read-only records, for a page that only shows them: each selected field by
        its attname, each annotation by its name, and `pk` — the values `instances()` would hold,
        without a Model.__init__ per row (for Reports > Invoices' 50 rows, a fifth of the page's
        time: bench/README.md). Not for a query with select_related."""
        return self.as_records(*self._run(connections[self.using], values))

    @staticmethod
    def as_records(compiled: _Compiled, rows) -> list:
        record = compiled.record
        if record is None:
            compiled.record = record = _record_class(compiled)
        start, end = compiled.model_start, compiled.model_end
        annotations = tuple(compiled.annotation_col_map.values())
        if not annotations:
            return [record._make(row[start:end]) for row in rows]
        return [record._make((*row[start:end], *(row[i] for i in annotations))) for row in rows]


def _record_class(compiled: _Compiled) -> type:
    klass_info = compiled.compiler.klass_info
    if not klass_info or compiled.related_populators:
        raise TypeError("records() reads a model's own columns (no .values(), no select_related)")
    model = klass_info["model"]
    names = [*compiled.init_list, *compiled.annotation_col_map]
    pk_name = model._meta.pk.attname
    base = collections.namedtuple(f"{model.__name__}Record", names)
    return type(
        base.__name__,
        (base,),
        {"__slots__": (), "pk": property(lambda self: getattr(self, pk_name))},
    )


class _Preparing:
    """A psycopg cursor whose execute() asks for the statement to be prepared on the server."""

    __slots__ = ("_cursor",)

    def __init__(self, cursor):
        self._cursor = cursor

    def execute(self, sql, params=None):
        return self._cursor.execute(sql, params, prepare=True)

    def __iter__(self):
        return iter(self._cursor)

    def __getattr__(self, name):
        return getattr(self._cursor, name)


def prepares_on_server(connection) -> bool:
    """Whether this connection prepares statements (PostgreSQL straight, or PgBouncer that keeps
    them: remit/settings.py)."""
    return (
        connection.vendor == "postgresql"
        and connection.settings_dict.get("OPTIONS", {}).get("prepare_threshold") is not None
    )


def server_prepared_cursor(connection):
    """connection.cursor(), whose statements are prepared on the server where the connection
    prepares (for statements whose plan cannot depend on their values: see the module's
    docstring); an ordinary cursor elsewhere. The execute wrappers and query logging are the
    ordinary cursor's."""
    cursor = connection.cursor()
    if prepares_on_server(connection):
        cursor.cursor = _Preparing(cursor.cursor)
    return cursor
