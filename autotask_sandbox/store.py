"""The sandbox's book: one SQLite table of records (entity, id, JSON body), and the query engine.

Filters follow Autotask's JSON filter format: a list of expressions that must all hold, each
`{"op": ..., "field": ..., "value": ...}`, or a group `{"op": "and"|"or", "items": [...]}`.
Field names compare case-insensitively, as Autotask's do.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator

ENTITIES = ("Companies", "Contacts", "Invoices", "BillingItems", "PaymentTerms", "Currencies")
COMPARISONS = ("eq", "noteq", "gt", "gte", "lt", "lte")
OPERATORS = (
    *COMPARISONS,
    "beginsWith",
    "endsWith",
    "contains",
    "exist",
    "notExist",
    "in",
    "notIn",
    "and",
    "or",
)


class FilterError(ValueError):
    """The filter is not one Autotask would accept; the message says why."""


def _field(record: dict, name: str):
    lowered = name.lower()
    for key, value in record.items():
        if key.lower() == lowered:
            return value, True
    return None, False


def _comparable(value):
    # Dates travel as ISO strings: they compare correctly as strings.
    return value


def matches(record: dict, expression: dict) -> bool:
    if not isinstance(expression, dict):
        raise FilterError("Each filter expression must be an object.")
    op = expression.get("op")
    if op not in OPERATORS:
        raise FilterError(f"Unknown filter operator {op!r}.")
    if op in ("and", "or"):
        items = expression.get("items")
        if not isinstance(items, list) or not items:
            raise FilterError(f"An {op!r} group needs a non-empty 'items' list.")
        results = (matches(record, item) for item in items)
        return all(results) if op == "and" else any(results)
    name = expression.get("field")
    if not isinstance(name, str) or not name:
        raise FilterError("Each filter expression needs a 'field'.")
    value, present = _field(record, name)
    if op == "exist":
        return present and value not in (None, "")
    if op == "notExist":
        return not present or value in (None, "")
    if "value" not in expression:
        raise FilterError(f"The {op!r} expression on {name!r} needs a 'value'.")
    wanted = expression["value"]
    if op in ("in", "notIn"):
        if not isinstance(wanted, list):
            raise FilterError(f"The {op!r} expression on {name!r} needs a list value.")
        return (value in wanted) == (op == "in")
    if op == "eq":
        return value == wanted
    if op == "noteq":
        return value != wanted
    if value is None:
        return False
    if op in ("beginsWith", "endsWith", "contains"):
        text, part = str(value).lower(), str(wanted).lower()
        if op == "beginsWith":
            return text.startswith(part)
        if op == "endsWith":
            return text.endswith(part)
        return part in text
    try:
        if op == "gt":
            return value > wanted
        if op == "gte":
            return value >= wanted
        if op == "lt":
            return value < wanted
        return value <= wanted
    except TypeError:
        raise FilterError(f"{name!r} cannot be compared with {wanted!r}.") from None


def check_filter(expressions) -> list[dict]:
    if not isinstance(expressions, list) or not expressions:
        raise FilterError("The query needs a non-empty 'filter' list.")
    probe: dict = {}
    for expression in expressions:
        matches(probe, expression)  # validates operators and shapes (on an empty record)
    return expressions


class Store:
    """Thread-safe: one connection, one lock (the sandbox is small)."""

    def __init__(self, path: str) -> None:
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS records (entity TEXT NOT NULL, id INTEGER NOT NULL, "
                "body TEXT NOT NULL, PRIMARY KEY (entity, id))"
            )

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def is_empty(self) -> bool:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM records").fetchone()[0] == 0

    def counts(self) -> dict[str, int]:
        with self._lock:
            rows = self._db.execute("SELECT entity, COUNT(*) FROM records GROUP BY entity")
            return {entity: count for entity, count in rows}

    def reset(self) -> None:
        with self._lock:
            self._db.execute("DELETE FROM records")

    def insert_many(self, entity: str, records: list[dict]) -> None:
        with self._lock:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT OR REPLACE INTO records (entity, id, body) VALUES (?, ?, ?)",
                [(entity, record["id"], json.dumps(record)) for record in records],
            )
            self._db.execute("COMMIT")

    def get(self, entity: str, record_id: int) -> dict | None:
        with self._lock:
            row = self._db.execute(
                "SELECT body FROM records WHERE entity = ? AND id = ?", (entity, record_id)
            ).fetchone()
        return json.loads(row[0]) if row else None

    def update(self, entity: str, record_id: int, fields: dict) -> dict | None:
        record = self.get(entity, record_id)
        if record is None:
            return None
        record.update(fields)
        record["id"] = record_id
        self.insert_many(entity, [record])
        return record

    def next_id(self, entity: str) -> int:
        with self._lock:
            row = self._db.execute(
                "SELECT MAX(id) FROM records WHERE entity = ?", (entity,)
            ).fetchone()
        return (row[0] or 0) + 1

    def _scan(self, entity: str, after_id: int, batch: int = 2000) -> Iterator[dict]:
        while True:
            with self._lock:
                rows = self._db.execute(
                    "SELECT id, body FROM records WHERE entity = ? AND id > ? ORDER BY id LIMIT ?",
                    (entity, after_id, batch),
                ).fetchall()
            if not rows:
                return
            for record_id, body in rows:
                after_id = record_id
                yield json.loads(body)

    def query(
        self, entity: str, expressions: list[dict], *, after_id: int, limit: int
    ) -> tuple[list[dict], bool]:
        """Up to `limit` records with an id past `after_id`, by id; and whether more follow."""
        found: list[dict] = []
        for record in self._scan(entity, after_id):
            if all(matches(record, expression) for expression in expressions):
                if len(found) == limit:
                    return found, True
                found.append(record)
        return found, False
