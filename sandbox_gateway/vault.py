"""The Customer Vault: add, update and delete records (with or without a transaction)."""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping

from sandbox_gateway.protocol import Method, Refusal, billing_from
from sandbox_gateway.store import Store


class Vault(Store):
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
            "INSERT INTO vault (vault_id, kind, fingerprint, masked, brand, cc_exp, cc_bin,"
            " check_aba, check_name, account_holder_type, account_type, sec_code, trigger,"
            " billing, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                vault_id,
                method.kind,
                method.fingerprint,
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
            raise Refusal("Invalid Customer Vault Id", echo={"customer_vault_id": vault_id})
        if action == "delete_customer":
            # NMI's answer ends at response_code: the deleted id is not echoed.
            self.db.execute("DELETE FROM vault WHERE vault_id = ?", (vault_id,))
            answer["responsetext"] = "Customer Deleted"
            return answer
        # update_customer: the billing fields sent replace the stored ones; payment data, if sent,
        # replaces the stored method (and its trigger).
        row = self.db.execute(
            "SELECT billing FROM vault WHERE vault_id = ?", (vault_id,)
        ).fetchone()
        billing = json.loads(row["billing"]) | billing_from(form)
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
