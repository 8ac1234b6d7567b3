"""The sandbox gateway's protocol logic and its SQLite store.

`Sandbox.transact(form)` and `Sandbox.query(form)` take a request's form fields and give back the
answer NMI would give (an ordered field mapping, an XML document). All state lives in one SQLite
file.
Card numbers, CVVs and account numbers are used in memory to check and classify a request and
are then dropped: the store keeps a salted fingerprint, the brand, a masked number, the expiry
and the trigger behaviour.
"""

from __future__ import annotations

import hmac
import json
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from urllib.parse import quote
from xml.etree import ElementTree as ET  # builds XML only; input is never parsed with it

from sandbox_gateway import cards

DEMO_SECURITY_KEY = "6457Thfj624V5r7WUwc5v6a68Zsd6YEm"  # NMI's public demo key
DEFAULT_DUP_SECONDS = 1200

ANSWER_FIELDS = (
    "response",
    "responsetext",
    "authcode",
    "transactionid",
    "avsresponse",
    "cvvresponse",
    "orderid",
    "type",
    "response_code",
)
BILLING_FIELDS = (
    "first_name",
    "last_name",
    "company",
    "address1",
    "address2",
    "city",
    "state",
    "zip",
    "country",
    "phone",
    "email",
)
# How query.php names the billing fields.
REPORT_BILLING_NAMES = {"address1": "address_1", "address2": "address_2", "zip": "postal_code"}

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS vault (
    vault_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    masked TEXT NOT NULL,
    brand TEXT NOT NULL DEFAULT '',
    cc_exp TEXT NOT NULL DEFAULT '',
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
    settle_amount TEXT NOT NULL DEFAULT '0.00',
    currency TEXT NOT NULL DEFAULT 'USD',
    dup_key TEXT NOT NULL DEFAULT '',
    masked TEXT NOT NULL DEFAULT '',
    brand TEXT NOT NULL DEFAULT '',
    cc_exp TEXT NOT NULL DEFAULT '',
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
"""


class Refusal(Exception):
    """The gateway refuses the request: response=3 with this text (and a REFID)."""

    def __init__(self, text: str, code: str = "300", *, refid: bool = True) -> None:
        super().__init__(text)
        self.text = text
        self.code = code
        self.refid = refid


@dataclass
class Method:
    """A payment method as the sandbox keeps it: never the full number, never the CVV."""

    kind: str  # cc | ck
    fingerprint: str
    masked: str
    brand: str = ""
    cc_exp: str = ""
    check_aba: str = ""
    check_name: str = ""
    account_holder_type: str = ""
    account_type: str = ""
    sec_code: str = ""
    trigger: str = ""
    cvv_result: str = ""  # from the CVV of this request, if one was sent
    vault_id: str = ""
    billing: dict[str, str] = field(default_factory=dict)

    @property
    def dup_key(self) -> str:
        return f"vault:{self.vault_id}" if self.vault_id else self.fingerprint


def _money(value: str, *, required: bool) -> Decimal | None:
    value = value.strip()
    if not value:
        if required:
            raise Refusal("Invalid amount")
        return None
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise Refusal("Invalid amount") from None
    if not amount.is_finite() or amount < 0 or amount != amount.quantize(Decimal("0.01")):
        raise Refusal("Invalid amount")
    return amount.quantize(Decimal("0.01"))


def _date(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y%m%d%H%M%S")


def _parse_date(value: str) -> float | None:
    value = value.strip()
    if not value:
        return None
    value = (value + "000000")[:14]
    try:
        return datetime.strptime(value, "%Y%m%d%H%M%S").replace(tzinfo=UTC).timestamp()
    except ValueError:
        return None


class Sandbox:
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
        with self._tx():
            self.db.execute(
                "INSERT OR IGNORE INTO meta VALUES ('salt', ?), ('id_base', ?)",
                (secrets.token_hex(16), str(3_000_000_000 + secrets.randbelow(10**9))),
            )
        meta = dict(self.db.execute("SELECT name, value FROM meta").fetchall())
        self.salt = bytes.fromhex(meta["salt"])
        self.id_base = int(meta["id_base"])

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

    # --- transact.php ----------------------------------------------------------------------------

    def transact(self, form: Mapping[str, str]) -> dict[str, str]:
        """The answer fields, in NMI's order."""
        kind = form.get("type", "").strip().lower()
        answer = dict.fromkeys(ANSWER_FIELDS, "")
        answer["orderid"] = form.get("orderid", "")
        answer["type"] = kind
        if not self.authorized(form.get("security_key", "")):
            return self._refused(answer, Refusal("Authentication Failed", refid=False))
        self.settle_due()
        try:
            with self._tx():
                return self._transact(kind, form, answer)
        except Refusal as refusal:
            return self._refused(answer, refusal)

    def _refused(self, answer: dict[str, str], refusal: Refusal) -> dict[str, str]:
        text = refusal.text
        if refusal.refid:
            text += f" REFID:{secrets.randbelow(9 * 10**8) + 10**8}"
        answer |= {"response": "3", "responsetext": text, "response_code": refusal.code}
        return answer

    def _transact(self, kind: str, form: Mapping[str, str], answer: dict[str, str]) -> dict:
        vault_action = form.get("customer_vault", "").strip().lower()
        if vault_action and vault_action not in (
            "add_customer",
            "update_customer",
            "delete_customer",
        ):
            raise Refusal("Invalid Customer Vault Action")
        if not kind:
            if not vault_action:
                raise Refusal("Invalid Transaction Type")
            return self._vault_only(vault_action, form, answer)
        if kind in ("sale", "auth", "validate"):
            if vault_action not in ("", "add_customer"):
                raise Refusal("Only add_customer can be combined with a transaction")
            return self._charge(kind, form, answer, save=vault_action == "add_customer")
        if kind == "capture":
            return self._capture(form, answer)
        if kind == "void":
            return self._void(form, answer)
        if kind == "refund":
            return self._refund(form, answer)
        if kind in ("credit", "update", "offline"):
            raise Refusal(f"Transaction type {kind} is not simulated by the sandbox")
        raise Refusal("Invalid Transaction Type")

    # -- payment data --

    def _method_from_form(self, form: Mapping[str, str], *, cvv_required: bool = False) -> Method:
        token = form.get("payment_token", "").strip()
        ccnumber = form.get("ccnumber", "")
        has_check = any(form.get(f, "") for f in ("checkaba", "checkaccount", "checkname"))
        is_check = form.get("payment", "").strip().lower() == "check"
        if token:
            if token not in cards.TEST_TOKENS:
                raise Refusal("Invalid Payment Token")
            payment, number = cards.TEST_TOKENS[token]
            if payment == "card":
                return self._card(number, f"12{(self._today()[0] + 3) % 100:02d}", "", form)
            checkname = form.get("checkname", "") or "Test Account"
            return self._check(cards.TEST_TOKEN_ROUTING, number, checkname, form)
        if ccnumber and (has_check or is_check):
            raise Refusal("Card and check information cannot be sent together")
        if is_check or has_check:
            return self._check(
                form.get("checkaba", "").strip(),
                form.get("checkaccount", "").strip(),
                form.get("checkname", "").strip(),
                form,
            )
        return self._card(ccnumber, form.get("ccexp", ""), form.get("cvv", ""), form)

    def _today(self) -> tuple[int, int]:
        now = datetime.fromtimestamp(self.clock(), UTC)
        return now.year, now.month

    def _card(self, ccnumber: str, ccexp: str, cvv: str, form: Mapping[str, str]) -> Method:
        number = ccnumber.replace(" ", "").replace("-", "")
        if not (12 <= len(number) <= 19) or not cards.luhn_valid(number):
            raise Refusal("Invalid Credit Card Number")
        brand = cards.card_brand(number)
        if not brand:
            raise Refusal("Unsupported card type", code="461")
        expiry = cards.parse_ccexp(ccexp)
        if expiry is None:
            raise Refusal("Invalid Credit Card Expiration Date")
        if cards.expired(*expiry, *self._today()):
            raise Refusal("Credit card expiration date is in the past")
        cvv = cvv.strip()
        if cvv and not cards.cvv_length_ok(cvv, brand):
            raise Refusal("Invalid card security code")
        trigger = cards.CARD_TRIGGERS.get(number, cards.APPROVE)
        return Method(
            kind="cc",
            fingerprint=cards.fingerprint(self.salt, "cc", number),
            masked=cards.masked_card(number),
            brand=brand,
            cc_exp=f"{expiry[0]:02d}{expiry[1] % 100:02d}",
            trigger=trigger.name,
            cvv_result=("M" if cvv == "999" else "N") if cvv else "",
            billing=_billing(form),
        )

    def _check(self, aba: str, account: str, name: str, form: Mapping[str, str]) -> Method:
        if not cards.routing_valid(aba):
            raise Refusal("Invalid ABA number")
        if not cards.account_valid(account):
            raise Refusal("Invalid checking account number")
        if not name:
            raise Refusal("Check name is required")
        holder = form.get("account_holder_type", "").strip().lower() or "personal"
        account_type = form.get("account_type", "").strip().lower() or "checking"
        sec_code = form.get("sec_code", "").strip().upper() or "WEB"
        if holder not in ("business", "personal"):
            raise Refusal("Invalid account_holder_type")
        if account_type not in ("checking", "savings"):
            raise Refusal("Invalid account_type")
        if sec_code not in ("WEB", "PPD", "CCD", "TEL"):
            raise Refusal("Invalid SEC code")
        trigger = cards.CHECK_TRIGGERS.get(account, cards.APPROVE)
        return Method(
            kind="ck",
            fingerprint=cards.fingerprint(self.salt, "ck", f"{aba}:{account}"),
            masked=cards.masked_account(account),
            check_aba=aba,
            check_name=name,
            account_holder_type=holder,
            account_type=account_type,
            sec_code=sec_code,
            trigger=trigger.name,
            billing=_billing(form),
        )

    def _method_from_vault(self, vault_id: str, form: Mapping[str, str]) -> Method:
        row = self.db.execute("SELECT * FROM vault WHERE vault_id = ?", (vault_id,)).fetchone()
        if row is None:
            raise Refusal("Invalid Customer Vault Id")
        cvv = form.get("cvv", "").strip()
        billing = json.loads(row["billing"]) | _billing(form)
        return Method(
            kind=row["kind"],
            fingerprint=row["fingerprint"],
            masked=row["masked"],
            brand=row["brand"],
            cc_exp=row["cc_exp"],
            check_aba=row["check_aba"],
            check_name=row["check_name"],
            account_holder_type=row["account_holder_type"],
            account_type=row["account_type"],
            sec_code=row["sec_code"],
            trigger=row["trigger"],
            cvv_result=("M" if cvv == "999" else "N") if cvv and row["kind"] == "cc" else "",
            vault_id=vault_id,
            billing=billing,
        )

    # -- sale, auth, validate --

    def _charge(self, kind: str, form: Mapping[str, str], answer: dict, *, save: bool) -> dict:
        vault_id = form.get("customer_vault_id", "").strip()
        if save and vault_id and self._vault_exists(vault_id):
            raise Refusal("Duplicate Customer Vault Id")
        if vault_id and not save:
            method = self._method_from_vault(vault_id, form)
        else:
            method = self._method_from_form(form)
        if kind == "validate":
            amount = _money(form.get("amount", ""), required=False) or Decimal("0.00")
            if amount != 0:
                raise Refusal("Validate transactions must have an amount of 0.00")
            if method.kind != "cc":
                raise Refusal("Only cards can be validated")
        else:
            amount = _money(form.get("amount", ""), required=True)
        now = self.clock()
        if kind in ("sale", "auth") and self._is_duplicate(method, amount, form, now):
            raise Refusal("Duplicate transaction")
        outcome = self._decide(kind, method, amount)
        approved = outcome.response == "1"
        avs = cvv = ""
        if method.kind == "cc":
            avs = _avs(method.billing)
            cvv = outcome.cvv_response or method.cvv_result
        if approved:
            condition = {"sale": "pendingsettlement", "auth": "pending", "validate": "complete"}[
                kind
            ]
        else:
            condition = "failed"
        txn_id = self._record(
            kind=kind,
            method=method,
            amount=amount,
            settle_amount=amount if kind == "sale" and approved else Decimal("0.00"),
            condition=condition,
            response=outcome.response,
            response_text=outcome.response_text,
            response_code=outcome.response_code,
            authcode="123456" if approved else "",
            avs=avs,
            cvv=cvv,
            form=form,
            now=now,
        )
        answer |= {
            "response": outcome.response,
            "responsetext": outcome.response_text,
            "authcode": "123456" if approved else "",
            "transactionid": txn_id,
            "avsresponse": avs,
            "cvvresponse": cvv,
            "response_code": outcome.response_code,
        }
        if save:
            # The method is kept only when the transaction went through.
            stored = self._vault_store(method, vault_id, now) if approved else ""
            if stored:
                self.db.execute(
                    "UPDATE txn SET vault_id = ? WHERE transaction_id = ?", (stored, txn_id)
                )
            answer["customer_vault_id"] = stored
        elif method.vault_id:
            answer["customer_vault_id"] = method.vault_id
        return answer

    def _decide(self, kind: str, method: Method, amount: Decimal) -> cards.Trigger:
        trigger = cards.TRIGGERS_BY_NAME.get(method.trigger, cards.APPROVE)
        if trigger.response != "1":
            return trigger
        if method.kind == "cc":
            month, year = int(method.cc_exp[:2]), 2000 + int(method.cc_exp[2:])
            if cards.expired(month, year, *self._today()):  # a vaulted card that has run out
                return cards.EXPIRED_ON_FILE
        if kind != "validate" and amount < 1:
            return cards.DECLINE_SMALL_AMOUNT
        return trigger

    def _is_duplicate(
        self, method: Method, amount: Decimal, form: Mapping[str, str], now: float
    ) -> bool:
        try:
            window = int(form.get("dup_seconds", "").strip() or DEFAULT_DUP_SECONDS)
        except ValueError:
            window = DEFAULT_DUP_SECONDS
        if window <= 0:
            return False
        row = self.db.execute(
            "SELECT 1 FROM txn WHERE dup_key = ? AND created >= ? AND amount = ?"
            " AND type IN ('sale', 'auth') AND response = '1' LIMIT 1",
            (method.dup_key, now - window, str(amount)),
        ).fetchone()
        return row is not None

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
    ) -> str:
        cursor = self.db.execute(
            "INSERT INTO txn (parent_id, type, kind, condition, order_id, amount, settle_amount,"
            " currency, dup_key, masked, brand, cc_exp, check_aba, check_name,"
            " account_holder_type, account_type, sec_code, trigger, vault_id, authcode, avs, cvv,"
            " response, billing, order_description, ponumber, created, pending_since)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
            " ?, ?, ?)",
            (
                parent_id,
                kind,
                method.kind,
                condition,
                form.get("orderid", ""),
                str(amount),
                str(settle_amount),
                (form.get("currency", "").strip().upper() or "USD")[:3],
                method.dup_key,
                method.masked,
                method.brand,
                method.cc_exp,
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

    # -- capture, void, refund --

    def _find(self, form: Mapping[str, str]) -> sqlite3.Row:
        txn_id = form.get("transactionid", "").strip()
        row = self.db.execute("SELECT * FROM txn WHERE transaction_id = ?", (txn_id,)).fetchone()
        if row is None or not txn_id:
            raise Refusal("Invalid Transaction ID specified")
        # eChecks are addressed with payment=check, as on NMI; without it the id is not found.
        wants_check = form.get("payment", "").strip().lower() == "check"
        if (row["kind"] == "ck") != wants_check:
            raise Refusal("Invalid Transaction ID specified")
        return row

    def _follow_up_answer(self, answer: dict, row: sqlite3.Row, text: str) -> dict:
        answer |= {
            "response": "1",
            "responsetext": text,
            "authcode": row["authcode"],
            "transactionid": row["transaction_id"],
            "orderid": answer["orderid"] or row["order_id"],
            "response_code": "100",
        }
        return answer

    def _capture(self, form: Mapping[str, str], answer: dict) -> dict:
        row = self._find(form)
        if row["type"] != "auth" or row["condition"] != "pending":
            raise Refusal("Only authorizations pending capture can be captured")
        authorized = Decimal(row["amount"])
        amount = _money(form.get("amount", ""), required=False) or authorized
        if amount > authorized:
            raise Refusal("Capture amount exceeds the authorized amount")
        now = self.clock()
        self.db.execute(
            "UPDATE txn SET condition = 'pendingsettlement', settle_amount = ?, pending_since = ?"
            " WHERE id = ?",
            (str(amount), now, row["id"]),
        )
        self._add_action(
            row["id"], "capture", amount, now, success=True, text="SUCCESS", code="100"
        )
        return self._follow_up_answer(answer, row, "SUCCESS")

    def _void(self, form: Mapping[str, str], answer: dict) -> dict:
        row = self._find(form)
        if row["condition"] not in ("pending", "pendingsettlement"):
            raise Refusal("Only transactions pending settlement can be voided")
        now = self.clock()
        self.db.execute(
            "UPDATE txn SET condition = 'canceled', pending_since = NULL WHERE id = ?", (row["id"],)
        )
        self._add_action(
            row["id"],
            "void",
            row["settle_amount"] if row["type"] != "auth" else row["amount"],
            now,
            success=True,
            text="Transaction Void Successful",
            code="100",
        )
        return self._follow_up_answer(answer, row, "Transaction Void Successful")

    def _refund(self, form: Mapping[str, str], answer: dict) -> dict:
        row = self._find(form)
        if row["type"] not in ("sale", "auth") or row["condition"] != "complete":
            raise Refusal("Only settled transactions can be refunded")
        refunded = self.db.execute(
            "SELECT COALESCE(SUM(CAST(amount AS REAL)), 0) FROM txn"
            " WHERE parent_id = ? AND type = 'refund' AND condition != 'canceled'",
            (row["transaction_id"],),
        ).fetchone()[0]
        balance = Decimal(row["settle_amount"]) - Decimal(str(refunded)).quantize(Decimal("0.01"))
        amount = _money(form.get("amount", ""), required=False) or balance
        if amount <= 0 or amount > balance:
            raise Refusal("Refund amount may not exceed the transaction balance")
        method = Method(
            kind=row["kind"],
            fingerprint="",
            masked=row["masked"],
            brand=row["brand"],
            cc_exp=row["cc_exp"],
            check_aba=row["check_aba"],
            check_name=row["check_name"],
            account_holder_type=row["account_holder_type"],
            account_type=row["account_type"],
            sec_code=row["sec_code"],
            vault_id=row["vault_id"],
            billing=json.loads(row["billing"]),
        )
        txn_id = self._record(
            kind="refund",
            method=method,
            amount=amount,
            settle_amount=amount,
            condition="pendingsettlement",
            response="1",
            response_text="SUCCESS",
            response_code="100",
            authcode="",
            avs="",
            cvv="",
            form={**form, "orderid": form.get("orderid", "") or row["order_id"]},
            now=self.clock(),
            parent_id=row["transaction_id"],
        )
        answer |= {
            "response": "1",
            "responsetext": "SUCCESS",
            "transactionid": txn_id,
            "orderid": answer["orderid"] or row["order_id"],
            "response_code": "100",
        }
        return answer

    # -- Customer Vault --

    def _vault_exists(self, vault_id: str) -> bool:
        return (
            self.db.execute("SELECT 1 FROM vault WHERE vault_id = ?", (vault_id,)).fetchone()
            is not None
        )

    def _vault_store(self, method: Method, vault_id: str, now: float) -> str:
        while not vault_id or self._vault_exists(vault_id):
            vault_id = str(100_000_000 + secrets.randbelow(900_000_000))
        self.db.execute(
            "INSERT INTO vault (vault_id, kind, fingerprint, masked, brand, cc_exp, check_aba,"
            " check_name, account_holder_type, account_type, sec_code, trigger, billing, created)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                vault_id,
                method.kind,
                method.fingerprint,
                method.masked,
                method.brand,
                method.cc_exp,
                method.check_aba,
                method.check_name,
                method.account_holder_type,
                method.account_type,
                method.sec_code,
                method.trigger,
                json.dumps(method.billing),
                now,
            ),
        )
        return vault_id

    def _vault_only(self, action: str, form: Mapping[str, str], answer: dict) -> dict:
        vault_id = form.get("customer_vault_id", "").strip()
        answer |= {"response": "1", "response_code": "100"}
        if action == "add_customer":
            if vault_id and self._vault_exists(vault_id):
                raise Refusal("Duplicate Customer Vault Id")
            method = self._method_from_form(form)
            answer["responsetext"] = "Customer Added"
            answer["customer_vault_id"] = self._vault_store(method, vault_id, self.clock())
            return answer
        if not vault_id or not self._vault_exists(vault_id):
            raise Refusal("Invalid Customer Vault Id")
        if action == "delete_customer":
            self.db.execute("DELETE FROM vault WHERE vault_id = ?", (vault_id,))
            answer["responsetext"] = "Customer Deleted"
            answer["customer_vault_id"] = vault_id
            return answer
        # update_customer: the billing fields sent replace the stored ones; payment data, if sent,
        # replaces the stored method (and its trigger).
        row = self.db.execute(
            "SELECT billing FROM vault WHERE vault_id = ?", (vault_id,)
        ).fetchone()
        billing = json.loads(row["billing"]) | _billing(form)
        if any(form.get(f, "") for f in ("ccnumber", "checkaccount", "checkaba", "payment_token")):
            method = self._method_from_form(form)
            self.db.execute("DELETE FROM vault WHERE vault_id = ?", (vault_id,))
            method.billing = billing
            self._vault_store(method, vault_id, self.clock())
        else:
            self.db.execute(
                "UPDATE vault SET billing = ? WHERE vault_id = ?", (json.dumps(billing), vault_id)
            )
        answer["responsetext"] = "Customer Update Successful"
        answer["customer_vault_id"] = vault_id
        return answer

    # --- Settlement -------------------------------------------------------------------------------

    def settle_due(self) -> None:
        """Settle what has waited `settle_after` seconds (checked on every request)."""
        if self.settle_after is None:
            return
        cutoff = self.clock() - self.settle_after
        with self.lock:
            due = self.db.execute(
                "SELECT 1 FROM txn WHERE condition = 'pendingsettlement' AND pending_since <= ?"
                " LIMIT 1",
                (cutoff,),
            ).fetchone()
        if due:
            self.settle(before=cutoff)

    def settle(self, transaction_id: str | None = None, *, before: float | None = None) -> dict:
        """Settle pending transactions (one, or all); eCheck sales of the return-trigger accounts
        are then returned. Returns the settled and returned transaction ids."""
        settled: list[str] = []
        returned: list[str] = []
        with self._tx():
            sql = "SELECT * FROM txn WHERE condition = 'pendingsettlement'"
            args: list = []
            if transaction_id is not None:
                sql += " AND transaction_id = ?"
                args.append(transaction_id)
            if before is not None:
                sql += " AND pending_since <= ?"
                args.append(before)
            now = self.clock()
            for row in self.db.execute(sql + " ORDER BY id", args).fetchall():
                self._add_action(
                    row["id"],
                    "settle",
                    row["settle_amount"],
                    now,
                    success=True,
                    text="",
                    code="100",
                )
                condition = "complete"
                trigger = cards.TRIGGERS_BY_NAME.get(row["trigger"])
                if (
                    row["kind"] == "ck"
                    and row["type"] == "sale"
                    and trigger
                    and trigger.return_code
                ):
                    code = trigger.return_code
                    self._add_action(
                        row["id"],
                        "check_return",
                        row["settle_amount"],
                        now,
                        success=True,
                        text=f"{code}: {cards.RETURN_REASONS[code]}",
                        code="",
                    )
                    condition = "failed"
                    returned.append(row["transaction_id"])
                self.db.execute(
                    "UPDATE txn SET condition = ?, pending_since = NULL WHERE id = ?",
                    (condition, row["id"]),
                )
                settled.append(row["transaction_id"])
        return {"settled": settled, "returned": returned}

    def return_check(self, transaction_id: str, code: str) -> dict:
        """A late return: the bank sends back an eCheck sale that already settled (consumer
        accounts may do so for up to 60 days). Adds a check_return action; the condition becomes
        failed. Returns {"returned": [...]} — empty when the transaction is not a settled eCheck
        sale."""
        with self._tx():
            row = self.db.execute(
                "SELECT * FROM txn WHERE transaction_id = ? AND kind = 'ck' AND type = 'sale'"
                " AND condition = 'complete'",
                (transaction_id,),
            ).fetchone()
            if row is None:
                return {"returned": []}
            self._add_action(
                row["id"],
                "check_return",
                row["settle_amount"],
                self.clock(),
                success=True,
                text=f"{code}: {cards.RETURN_REASONS[code]}",
                code="",
            )
            self.db.execute("UPDATE txn SET condition = 'failed' WHERE id = ?", (row["id"],))
        return {"returned": [transaction_id]}

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
            self.db.execute("DELETE FROM txn")
            self.db.execute("DELETE FROM vault")

    # --- query.php --------------------------------------------------------------------------------

    def query(self, form: Mapping[str, str]) -> bytes:
        root = ET.Element("nm_response")
        if not self.authorized(form.get("security_key", "")):
            ET.SubElement(root, "error_response").text = "Authentication Failed"
            return _xml(root)
        self.settle_due()
        with self.lock:
            if form.get("report_type", "").strip() == "customer_vault":
                self._vault_report(root, form)
            else:
                self._transaction_report(root, form)
        return _xml(root)

    def _transaction_report(self, root: ET.Element, form: Mapping[str, str]) -> None:
        where, args = [], []

        def any_of(column: str, values: str) -> None:
            items = [v.strip() for v in values.split(",") if v.strip()]
            if items:
                where.append(f"{column} IN ({', '.join('?' * len(items))})")
                args.extend(items)

        any_of("transaction_id", form.get("transaction_id", ""))
        if form.get("order_id", ""):
            where.append("order_id = ?")
            args.append(form["order_id"])
        any_of("condition", form.get("condition", "").lower())
        any_of("kind", form.get("transaction_type", "").lower())
        actions = [
            "check_return" if a.strip() == "return" else a.strip()
            for a in form.get("action_type", "").lower().split(",")
            if a.strip()
        ]
        if actions:
            # Only "?" placeholders are formatted in; the values go as parameters.
            placeholders = ", ".join("?" * len(actions))
            subquery = f"SELECT txn FROM action WHERE action_type IN ({placeholders})"  # noqa: S608
            where.append(f"id IN ({subquery})")
            args.extend(actions)
        for name, op in (("start_date", ">="), ("end_date", "<=")):
            when = _parse_date(form.get(name, ""))
            if when is not None:
                where.append(f"created {op} ?")
                args.append(when)
        sql = "SELECT * FROM txn"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id"
        limit = _int(form.get("result_limit", ""))
        if limit:
            page = _int(form.get("page_number", "")) or 0
            sql += f" LIMIT {limit} OFFSET {limit * page}"
        for row in self.db.execute(sql, args).fetchall():
            self._transaction_element(root, row)

    def _transaction_element(self, root: ET.Element, row: sqlite3.Row) -> None:
        billing = json.loads(row["billing"])
        t = ET.SubElement(root, "transaction")
        cc = row["kind"] == "cc"
        values = [
            ("transaction_id", row["transaction_id"]),
            ("platform_id", ""),
            ("transaction_type", row["kind"]),
            ("condition", row["condition"]),
            ("order_id", row["order_id"]),
            ("authorization_code", row["authcode"]),
            ("ponumber", row["ponumber"]),
            ("order_description", row["order_description"]),
            *[(REPORT_BILLING_NAMES.get(f, f), billing.get(f, "")) for f in BILLING_FIELDS],
            ("customerid", row["vault_id"]),
            ("cc_number", row["masked"] if cc else ""),
            ("cc_exp", row["cc_exp"]),
            ("cc_type", row["brand"]),
            ("avs_response", row["avs"]),
            ("csc_response", row["cvv"]),
            ("check_account", "" if cc else row["masked"]),
            ("check_aba", row["check_aba"]),
            ("check_name", row["check_name"]),
            ("account_holder_type", row["account_holder_type"]),
            ("account_type", row["account_type"]),
            ("sec_code", row["sec_code"]),
            ("processor_id", "sandbox"),
            ("currency", row["currency"]),
        ]
        for name, value in values:
            ET.SubElement(t, name).text = value
        for action in self.db.execute(
            "SELECT * FROM action WHERE txn = ? ORDER BY id", (row["id"],)
        ).fetchall():
            a = ET.SubElement(t, "action")
            for name, value in (
                ("amount", action["amount"]),
                ("action_type", action["action_type"]),
                ("date", _date(action["date"])),
                ("success", str(action["success"])),
                ("ip_address", action["ip_address"]),
                ("source", "api"),
                ("username", ""),
                ("response_text", action["response_text"]),
                ("response_code", action["response_code"]),
            ):
                ET.SubElement(a, name).text = value

    def _vault_report(self, root: ET.Element, form: Mapping[str, str]) -> None:
        vault = ET.SubElement(root, "customer_vault")
        vault_id = form.get("customer_vault_id", "").strip()
        sql, args = "SELECT * FROM vault", []
        if vault_id:
            sql, args = sql + " WHERE vault_id = ?", [vault_id]
        for row in self.db.execute(sql + " ORDER BY created", args).fetchall():
            billing = json.loads(row["billing"])
            customer = ET.SubElement(vault, "customer", id=row["vault_id"])
            cc = row["kind"] == "cc"
            for name, value in (
                *[(REPORT_BILLING_NAMES.get(f, f), billing.get(f, "")) for f in BILLING_FIELDS],
                ("customer_vault_id", row["vault_id"]),
                ("cc_number", row["masked"] if cc else ""),
                ("cc_exp", row["cc_exp"]),
                ("cc_type", row["brand"]),
                ("check_account", "" if cc else row["masked"]),
                ("check_aba", row["check_aba"]),
                ("check_name", row["check_name"]),
                ("account_holder_type", row["account_holder_type"]),
                ("account_type", row["account_type"]),
                ("sec_code", row["sec_code"]),
                ("created", _date(row["created"])),
            ):
                ET.SubElement(customer, name).text = value

    def counts(self) -> dict[str, int]:
        with self.lock:
            return {
                "transactions": self.db.execute("SELECT COUNT(*) FROM txn").fetchone()[0],
                "vault": self.db.execute("SELECT COUNT(*) FROM vault").fetchone()[0],
            }


def _billing(form: Mapping[str, str]) -> dict[str, str]:
    return {f: form[f].strip() for f in BILLING_FIELDS if form.get(f, "").strip()}


def _avs(billing: Mapping[str, str]) -> str:
    """As on NMI's demo: address1 containing 888 with ZIP 77777 matches (Y), anything else N."""
    if "888" in billing.get("address1", "") and billing.get("zip", "").startswith("77777"):
        return "Y"
    return "N"


def _int(value: str) -> int:
    try:
        return max(int(value.strip()), 0)
    except ValueError:
        return 0


def _xml(root: ET.Element) -> bytes:
    ET.indent(root, space="\t")
    body = ET.tostring(root, encoding="unicode", short_empty_elements=False)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n").encode()


def format_answer(fields: Mapping[str, str]) -> str:
    """NMI's answer format: a query string with raw spaces (only & = + % and controls escaped)."""
    return "&".join(f"{name}={quote(value, safe=' :/,.@()_-')}" for name, value in fields.items())
