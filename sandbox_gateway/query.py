"""query.php: the transaction report and the Customer Vault report, as NMI's XML."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from xml.etree import ElementTree as ET  # builds XML only; input is never parsed with it

from sandbox_gateway.protocol import (
    BILLING_FIELDS,
    REPORT_BILLING_NAMES,
    format_date,
    non_negative_int,
    parse_date,
    xml_document,
)
from sandbox_gateway.store import Store


class Query(Store):
    # --- query.php --------------------------------------------------------------------------------

    def query(self, form: Mapping[str, str]) -> bytes:
        root = ET.Element("nm_response")
        if not self.authorized_form(form):
            ET.SubElement(root, "error_response").text = "Authentication Failed"
            return xml_document(root)
        self.settle_due()
        with self.lock:
            if form.get("report_type", "").strip() == "customer_vault":
                self._vault_report(root, form)
            else:
                self._transaction_report(root, form)
        return xml_document(root)

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
            when = parse_date(form.get(name, ""))
            if when is not None:
                where.append(f"created {op} ?")
                args.append(when)
        sql = "SELECT * FROM txn"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id"
        limit = non_negative_int(form.get("result_limit", ""))
        if limit:
            page = non_negative_int(form.get("page_number", "")) or 0
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
            ("cc_bin", row["cc_bin"]),
            ("surcharge", row["surcharge"]),
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
                ("date", format_date(action["date"])),
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
                ("cc_bin", row["cc_bin"]),
                ("check_account", "" if cc else row["masked"]),
                ("check_aba", row["check_aba"]),
                ("check_name", row["check_name"]),
                ("account_holder_type", row["account_holder_type"]),
                ("account_type", row["account_type"]),
                ("sec_code", row["sec_code"]),
                ("created", format_date(row["created"])),
            ):
                ET.SubElement(customer, name).text = value
