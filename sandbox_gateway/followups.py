"""transact.php on an existing transaction: capture, void, refund."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from decimal import Decimal

from sandbox_gateway.protocol import Method, Refusal, money
from sandbox_gateway.store import Store


class FollowUps(Store):
    # -- capture, void, refund --

    def _find(self, form: Mapping[str, str]) -> sqlite3.Row:
        txn_id = form.get("transactionid", "").strip()
        if not txn_id:  # NMI's text names the (empty) id after the colon
            raise Refusal("Invalid Transaction ID / Object ID specified: ")
        row = self.db.execute("SELECT * FROM txn WHERE transaction_id = ?", (txn_id,)).fetchone()
        if row is None:
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
        echo = {"transactionid": row["transaction_id"]}
        if row["type"] != "auth":
            raise Refusal("A capture requires that the existing transaction be an AUTH", echo=echo)
        if row["condition"] != "pending":
            raise Refusal("Only authorizations pending capture can be captured", echo=echo)
        authorized = Decimal(row["amount"])
        amount = money(form.get("amount", ""), required=False) or authorized
        if amount > authorized:
            raise Refusal(
                f"The specified amount of {amount} exceeds the authorization amount of"
                f" {authorized}",
                echo=echo,
            )
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
            raise Refusal(
                "Only transactions pending settlement can be voided",
                echo={"transactionid": row["transaction_id"]},
            )
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
        # NMI refunds "a previously settled or pending settlement transaction" (a captured auth
        # too). Its refund refusals carry no transaction id (as recorded).
        if row["type"] not in ("sale", "auth") or row["condition"] not in (
            "pendingsettlement",
            "complete",
        ):
            raise Refusal("Only settled or pending settlement transactions can be refunded")
        refunded = sum(
            (
                Decimal(r["amount"])
                for r in self.db.execute(
                    "SELECT amount FROM txn"
                    " WHERE parent_id = ? AND type = 'refund' AND condition != 'canceled'",
                    (row["transaction_id"],),
                )
            ),
            Decimal("0.00"),
        )
        balance = Decimal(row["settle_amount"]) - refunded
        # Omitted or 0.00: the whole remaining balance, as NMI documents.
        amount = money(form.get("amount", ""), required=False) or balance
        if amount <= 0 or amount > balance:
            raise Refusal("Refund amount may not exceed the transaction balance")
        method = Method(
            kind=row["kind"],
            fingerprint="",
            masked=row["masked"],
            brand=row["brand"],
            cc_exp=row["cc_exp"],
            cc_bin=row["cc_bin"],
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
