"""Stored-credential (card on file) fields of a charge, checked as NMI checks them and kept with the
transaction, so a test can see what a merchant-initiated sale really sent:
`initiated_by`, `stored_credential_indicator`, `billing_method`, `initial_transaction_id`."""

from __future__ import annotations

from collections.abc import Mapping

from sandbox_gateway.protocol import Method, Refusal
from sandbox_gateway.store import Store

CREDENTIAL_FIELDS = (
    "initiated_by",
    "stored_credential_indicator",
    "billing_method",
    "initial_transaction_id",
)


class StoredCredentials(Store):
    def _credential_fields(self, form: Mapping[str, str], method: Method) -> dict[str, str]:
        """The request's stored-credential fields (cards only), or a Refusal for a bad set."""
        fields = {name: form.get(name, "").strip() for name in CREDENTIAL_FIELDS}
        if method.kind != "cc" or not any(fields.values()):
            return {}
        initiated = fields["initiated_by"].lower()
        indicator = fields["stored_credential_indicator"].lower()
        billing_method = fields["billing_method"].lower()
        if initiated not in ("", "customer", "merchant"):
            raise Refusal("Invalid initiated_by")
        if indicator not in ("", "stored", "used"):
            raise Refusal("Invalid stored_credential_indicator")
        if billing_method not in ("", "recurring", "installment"):
            raise Refusal("Invalid billing_method")
        if initiated == "merchant":
            if indicator != "used":
                raise Refusal("Merchant initiated transactions must use a stored credential")
            if not fields["initial_transaction_id"]:
                raise Refusal("Initial transaction ID is required for merchant initiated")
        return {
            "initiated_by": initiated,
            "stored_credential_indicator": indicator,
            "billing_method": billing_method,
            "initial_transaction_id": fields["initial_transaction_id"],
        }

    def _record_credential(self, txn_id: str, fields: Mapping[str, str]) -> None:
        self.db.execute(
            "INSERT INTO credential (txn, initiated_by, stored_credential_indicator,"
            " billing_method, initial_transaction_id)"
            " SELECT id, ?, ?, ?, ? FROM txn WHERE transaction_id = ?",
            (*(fields[name] for name in CREDENTIAL_FIELDS), txn_id),
        )

    def credentials(self, order_id: str = "") -> list[dict[str, str]]:
        """What each charge (of this order id, or all) sent: its stored-credential fields and, for
        an eCheck, its SEC code."""
        sql = (
            "SELECT t.transaction_id, t.order_id, t.type, t.kind, t.sec_code,"
            " COALESCE(c.initiated_by, '') AS initiated_by,"
            " COALESCE(c.stored_credential_indicator, '') AS stored_credential_indicator,"
            " COALESCE(c.billing_method, '') AS billing_method,"
            " COALESCE(c.initial_transaction_id, '') AS initial_transaction_id"
            " FROM txn t LEFT JOIN credential c ON c.txn = t.id"
            " WHERE t.type IN ('sale', 'auth')"
        )
        args: list[str] = []
        if order_id:
            sql += " AND t.order_id = ?"
            args.append(order_id)
        with self.lock:
            return [dict(row) for row in self.db.execute(sql + " ORDER BY t.id", args).fetchall()]
