"""The sandbox's SQLite store: the schema, transactions of the store, recording a gateway
transaction and its actions. One connection (WAL) serves every thread, behind one lock."""

from __future__ import annotations

import hmac
import json
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal

from sandbox_gateway.protocol import DEMO_PASSWORD, DEMO_SECURITY_KEY, DEMO_USERNAME, Method

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS vault (
    vault_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    masked TEXT NOT NULL,
    brand TEXT NOT NULL DEFAULT '',
    cc_exp TEXT NOT NULL DEFAULT '',
    cc_bin TEXT NOT NULL DEFAULT '',
    check_aba TEXT NOT NULL DEFAULT '',
    check_name TEXT NOT NULL DEFAULT '',
    account_holder_type TEXT NOT NULL DEFAULT '',
    account_type TEXT NOT NULL DEFAULT '',
    sec_code TEXT NOT NULL DEFAULT '',
    trigger TEXT NOT NULL DEFAULT '',
    billing TEXT NOT NULL DEFAULT '{}',
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS txn (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    transaction_id TEXT UNIQUE,
    parent_id TEXT NOT NULL DEFAULT '',
    type TEXT NOT NULL,
    kind TEXT NOT NULL,
    condition TEXT NOT NULL,
    order_id TEXT NOT NULL DEFAULT '',
    amount TEXT NOT NULL,
    surcharge TEXT NOT NULL DEFAULT '',
    settle_amount TEXT NOT NULL DEFAULT '0.00',
    currency TEXT NOT NULL DEFAULT 'USD',
    dup_key TEXT NOT NULL DEFAULT '',
    masked TEXT NOT NULL DEFAULT '',
    brand TEXT NOT NULL DEFAULT '',
    cc_exp TEXT NOT NULL DEFAULT '',
    cc_bin TEXT NOT NULL DEFAULT '',
    check_aba TEXT NOT NULL DEFAULT '',
    check_name TEXT NOT NULL DEFAULT '',
    account_holder_type TEXT NOT NULL DEFAULT '',
    account_type TEXT NOT NULL DEFAULT '',
    sec_code TEXT NOT NULL DEFAULT '',
    trigger TEXT NOT NULL DEFAULT '',
    vault_id TEXT NOT NULL DEFAULT '',
    authcode TEXT NOT NULL DEFAULT '',
    avs TEXT NOT NULL DEFAULT '',
    cvv TEXT NOT NULL DEFAULT '',
    response TEXT NOT NULL,
    billing TEXT NOT NULL DEFAULT '{}',
    order_description TEXT NOT NULL DEFAULT '',
    ponumber TEXT NOT NULL DEFAULT '',
    created REAL NOT NULL,
    pending_since REAL
);
CREATE INDEX IF NOT EXISTS txn_order ON txn (order_id);
CREATE INDEX IF NOT EXISTS txn_dup_amount ON txn (dup_key, amount, created);
CREATE INDEX IF NOT EXISTS txn_pending ON txn (condition, pending_since);
CREATE TABLE IF NOT EXISTS action (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    txn INTEGER NOT NULL REFERENCES txn (id),
    action_type TEXT NOT NULL,
    amount TEXT NOT NULL,
    date REAL NOT NULL,
    success INTEGER NOT NULL,
    ip_address TEXT NOT NULL DEFAULT '',
    response_text TEXT NOT NULL DEFAULT '',
    response_code TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS action_txn ON action (txn);
CREATE TABLE IF NOT EXISTS credential (
    txn INTEGER PRIMARY KEY REFERENCES txn (id),
    initiated_by TEXT NOT NULL DEFAULT '',
    stored_credential_indicator TEXT NOT NULL DEFAULT '',
    billing_method TEXT NOT NULL DEFAULT '',
    initial_transaction_id TEXT NOT NULL DEFAULT '',
    sec_code TEXT NOT NULL DEFAULT ''
);
"""

# Columns added after the first stores were written: (table, column), all TEXT defaulting to ''.
UPGRADES = (("vault", "cc_bin"), ("txn", "cc_bin"), ("txn", "surcharge"))


class Store:
    def __init__(
        self,
        db_path: str,
        *,
        security_keys: tuple[str, ...] = (),
        settle_after: float | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.keys = tuple(k for k in (DEMO_SECURITY_KEY, *security_keys) if k)
        self.settle_after = settle_after
        self.clock = clock
        self.lock = threading.RLock()
        self.db = sqlite3.connect(db_path, check_same_thread=False, isolation_level=None)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)
        self._add_missing_columns()
        with self._tx():
            self.db.execute(
                "INSERT OR IGNORE INTO meta VALUES ('salt', ?), ('id_base', ?)",
                (secrets.token_hex(16), str(3_000_000_000 + secrets.randbelow(10**9))),
            )
        meta = dict(self.db.execute("SELECT name, value FROM meta").fetchall())
        self.salt = bytes.fromhex(meta["salt"])
        self.id_base = int(meta["id_base"])

    def _add_missing_columns(self) -> None:
        """A store written by an older sandbox gains the columns added since (empty values)."""
        for table, column in UPGRADES:
            names = {row["name"] for row in self.db.execute(f"PRAGMA table_info({table})")}
            if column not in names:
                self.db.execute(f"ALTER TABLE {table} ADD COLUMN {column} TEXT NOT NULL DEFAULT ''")

    def close(self) -> None:
        with self.lock:
            self.db.close()

    @contextmanager
    def _tx(self) -> Iterator[None]:
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")

    def authorized(self, key: str) -> bool:
        given = key.strip().encode()
        return bool(given) and any(hmac.compare_digest(given, k.encode()) for k in self.keys)

    def authorized_form(self, form: Mapping[str, str]) -> bool:
        """A transact/query request's credentials: a `security_key`, or, without one, NMI's demo
        account by the older `username`/`password` (no other account exists here)."""
        if form.get("security_key", "").strip():
            return self.authorized(form["security_key"])
        username = form.get("username", "").encode()
        password = form.get("password", "").encode()
        return hmac.compare_digest(username, DEMO_USERNAME.encode()) & hmac.compare_digest(
            password, DEMO_PASSWORD.encode()
        )

    def _today(self) -> tuple[int, int]:
        now = datetime.fromtimestamp(self.clock(), UTC)
        return now.year, now.month

    def _record(
        self,
        *,
        kind: str,
        method: Method,
        amount: Decimal,
        settle_amount: Decimal,
        condition: str,
        response: str,
        response_text: str,
        response_code: str,
        authcode: str,
        avs: str,
        cvv: str,
        form: Mapping[str, str],
        now: float,
        parent_id: str = "",
        action_type: str | None = None,
        surcharge: str = "",
    ) -> str:
        cursor = self.db.execute(
            "INSERT INTO txn (parent_id, type, kind, condition, order_id, amount, surcharge,"
            " settle_amount, currency, dup_key, masked, brand, cc_exp, cc_bin, check_aba, check_name,"
            " account_holder_type, account_type, sec_code, trigger, vault_id, authcode, avs, cvv,"
            " response, billing, order_description, ponumber, created, pending_since)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
            " ?, ?, ?, ?, ?)",
            (
                parent_id,
                kind,
                method.kind,
                condition,
                form.get("orderid", ""),
                str(amount),
                surcharge,
                str(settle_amount),
                (form.get("currency", "").strip().upper() or "USD")[:3],
                method.dup_key,
                method.masked,
                method.brand,
                method.cc_exp,
                method.cc_bin,
                method.check_aba,
                method.check_name,
                method.account_holder_type,
                method.account_type,
                method.sec_code,
                method.trigger,
                method.vault_id,
                authcode,
                avs,
                cvv,
                response,
                json.dumps(method.billing),
                form.get("order_description", ""),
                form.get("ponumber", ""),
                now,
                now if condition == "pendingsettlement" else None,
            ),
        )
        row_id = cursor.lastrowid
        txn_id = str(self.id_base + row_id)
        self.db.execute("UPDATE txn SET transaction_id = ? WHERE id = ?", (txn_id, row_id))
        self._add_action(
            row_id,
            action_type or kind,
            amount,
            now,
            success=response == "1",
            text=response_text,
            code=response_code,
            ip=form.get("ipaddress", ""),
        )
        return txn_id

    def _add_action(
        self,
        row_id: int,
        action_type: str,
        amount: Decimal | str,
        now: float,
        *,
        success: bool,
        text: str,
        code: str,
        ip: str = "",
    ) -> None:
        self.db.execute(
            "INSERT INTO action (txn, action_type, amount, date, success, ip_address,"
            " response_text, response_code) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (row_id, action_type, str(amount), now, int(success), ip, text, code),
        )

    def transaction_exists(self, transaction_id: str) -> bool:
        with self.lock:
            row = self.db.execute(
                "SELECT 1 FROM txn WHERE transaction_id = ?", (transaction_id,)
            ).fetchone()
        return row is not None

    def reset(self) -> None:
        """Forget every transaction and vault record (the id sequence keeps counting)."""
        with self._tx():
            self.db.execute("DELETE FROM action")
            self.db.execute("DELETE FROM credential")
            self.db.execute("DELETE FROM txn")
            self.db.execute("DELETE FROM vault")

    def counts(self) -> dict[str, int]:
        with self.lock:
            return {
                "transactions": self.db.execute("SELECT COUNT(*) FROM txn").fetchone()[0],
                "vault": self.db.execute("SELECT COUNT(*) FROM vault").fetchone()[0],
            }
