"""Settlement of pending transactions, and eCheck returns (at settlement or late)."""

from __future__ import annotations

from sandbox_gateway import cards
from sandbox_gateway.store import Store


class Settlement(Store):
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
