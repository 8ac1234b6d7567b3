"""transact.php: authentication, dispatch by type, and the charges (sale, auth, validate, credit)."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from decimal import Decimal

from sandbox_gateway import cards
from sandbox_gateway.protocol import (
    ANSWER_FIELDS,
    DEFAULT_DUP_SECONDS,
    Method,
    Refusal,
    avs_result,
    money,
    with_current_names,
)
from sandbox_gateway.store import Store

# Fields that make a request without `type` a sale, as on NMI (a CAMS answer recorded SUCCESS for
# `type=` with card data).
PAYMENT_FIELDS = ("ccnumber", "checkaccount", "checkaba", "payment_token", "customer_vault_id")


class Transactions(Store):
    # --- transact.php ----------------------------------------------------------------------------

    def transact(self, form: Mapping[str, str]) -> dict[str, str]:
        """The answer fields, in NMI's order."""
        form = with_current_names(form)
        kind = form.get("type", "").strip().lower()
        answer = dict.fromkeys(ANSWER_FIELDS, "")
        answer["orderid"] = form.get("orderid", "")
        answer["type"] = kind
        if not self.authorized_form(form):
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
        answer |= refusal.echo
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
            if vault_action:
                return self._vault_only(vault_action, form, answer)
            if not any(form.get(name, "").strip() for name in PAYMENT_FIELDS):
                raise Refusal("Invalid Transaction Type")
            kind = "sale"  # the answer still echoes the empty type, as NMI's does
        if kind in ("sale", "auth", "validate", "credit"):
            if vault_action not in ("", "add_customer"):
                raise Refusal("Only add_customer can be combined with a transaction")
            return self._charge(kind, form, answer, save=vault_action == "add_customer")
        if kind == "capture":
            return self._capture(form, answer)
        if kind == "void":
            return self._void(form, answer)
        if kind == "refund":
            return self._refund(form, answer)
        if kind in ("update", "offline"):
            raise Refusal(f"Transaction type {kind} is not simulated by the sandbox")
        raise Refusal("Invalid Transaction Type")

    # -- sale, auth, validate --

    def _charge(self, kind: str, form: Mapping[str, str], answer: dict, *, save: bool) -> dict:
        vault_id = form.get("customer_vault_id", "").strip()
        if save and vault_id and self._vault_exists(vault_id):
            raise Refusal("Duplicate Customer Vault Id")
        if vault_id and not save:
            if not self._vault_exists(vault_id):
                # The text NMI gives a charge of an unknown vault record (the vault actions say
                # "Invalid Customer Vault Id"); the id is echoed either way.
                raise Refusal(
                    "Invalid Customer Vault ID specified", echo={"customer_vault_id": vault_id}
                )
            method = self._method_from_vault(vault_id, form)
        else:
            method = self._method_from_form(form)
        credential = self._credential_fields(form, method)
        if kind == "validate":
            amount = money(form.get("amount", ""), required=False) or Decimal("0.00")
            if amount != 0:
                raise Refusal("Validate transactions must have an amount of 0.00")
            if method.kind != "cc":
                raise Refusal("Only cards can be validated")
        else:
            amount = money(form.get("amount", ""), required=True)
            if kind == "credit" and amount <= 0:
                raise Refusal("Invalid amount")
        surcharge = self._surcharge(kind, method, amount, form)
        now = self.clock()
        if kind in ("sale", "auth") and self._is_duplicate(kind, method, amount, form, now):
            raise Refusal("Duplicate transaction")
        outcome = self._decide(kind, method, amount)
        approved = outcome.response == "1"
        avs = cvv = ""
        if method.kind == "cc" and kind != "credit":
            avs = avs_result(method.billing)
            cvv = outcome.cvv_response or method.cvv_result
        if approved:
            condition = {
                "sale": "pendingsettlement",
                "auth": "pending",
                "validate": "complete",
                "credit": "pendingsettlement",
            }[kind]
        else:
            condition = "failed"
        # Only sales and auths are authorized by the issuer: validate and credit answers carry an
        # empty authcode, as NMI's do.
        authcode = "123456" if approved and kind in ("sale", "auth") else ""
        txn_id = self._record(
            kind=kind,
            method=method,
            amount=amount,
            settle_amount=amount if kind in ("sale", "credit") and approved else Decimal("0.00"),
            condition=condition,
            response=outcome.response,
            response_text=outcome.response_text,
            response_code=outcome.response_code,
            authcode=authcode,
            avs=avs,
            cvv=cvv,
            form=form,
            now=now,
            surcharge=surcharge,
        )
        if credential:
            self._record_credential(txn_id, credential)
        answer |= {
            "response": outcome.response,
            "responsetext": outcome.response_text,
            "authcode": authcode,
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

    @staticmethod
    def _surcharge(kind: str, method: Method, amount: Decimal, form: Mapping[str, str]) -> str:
        """`surcharge=x.xx`: part of `amount`, on a card sale only (NMI takes none on an auth to
        be captured later, nor on an eCheck); recorded with the sale and reported by query.php."""
        surcharge = money(form.get("surcharge", ""), required=False)
        if surcharge is None or surcharge == 0:
            return ""
        if kind != "sale":
            raise Refusal("Surcharge is only allowed on a sale")
        if method.kind != "cc":
            raise Refusal("Surcharge is only allowed on a credit card transaction")
        if surcharge >= amount:
            raise Refusal("Surcharge must be less than the amount")
        return f"{surcharge:.2f}"

    def _decide(self, kind: str, method: Method, amount: Decimal) -> cards.Trigger:
        trigger = cards.TRIGGERS_BY_NAME.get(method.trigger, cards.APPROVE)
        if trigger.response != "1":
            return trigger
        if method.kind == "cc":
            month, year = int(method.cc_exp[:2]), 2000 + int(method.cc_exp[2:])
            if cards.expired(month, year, *self._today()):  # a vaulted card that has run out
                return cards.EXPIRED_ON_FILE
        if kind in ("sale", "auth") and amount < 1:
            # NMI's test rule; its eChecks decline with FAILED (as the check_failed trigger).
            return cards.DECLINE_SMALL_AMOUNT if method.kind == "cc" else cards.CHECK_FAILED
        return trigger

    def _is_duplicate(
        self, kind: str, method: Method, amount: Decimal, form: Mapping[str, str], now: float
    ) -> bool:
        """Same payment data and amount as an approved transaction of the same type (a sale is not
        a duplicate of an auth: a recorded NMI sale followed an auth of the same card and amount)
        within `dup_seconds`."""
        try:
            window = int(form.get("dup_seconds", "").strip() or DEFAULT_DUP_SECONDS)
        except ValueError:
            window = DEFAULT_DUP_SECONDS
        if window <= 0:
            return False
        row = self.db.execute(
            "SELECT 1 FROM txn WHERE dup_key = ? AND created >= ? AND amount = ?"
            " AND type = ? AND response = '1' LIMIT 1",
            (method.dup_key, now - window, str(amount), kind),
        ).fetchone()
        return row is not None
