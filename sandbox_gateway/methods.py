"""Payment data of a request (card, eCheck, test token) or of a vault record, checked and reduced
to what the sandbox keeps: card numbers, CVVs and account numbers are used in memory and dropped."""

from __future__ import annotations

import json
from collections.abc import Mapping

from sandbox_gateway import cards, hosted
from sandbox_gateway.protocol import Method, Refusal, billing_from
from sandbox_gateway.store import Store


class PaymentMethods(Store):
    # -- payment data --

    def _method_from_form(self, form: Mapping[str, str], *, cvv_required: bool = False) -> Method:
        token = form.get("payment_token", "").strip()
        ccnumber = form.get("ccnumber", "")
        has_check = any(form.get(f, "") for f in ("checkaba", "checkaccount", "checkname"))
        is_check = form.get("payment", "").strip().lower() == "check"
        if token and token not in cards.TEST_TOKENS:  # a hosted-fields token: used up here
            try:
                return self._method_from_form(hosted.form_with_token(self.hosted, form))
            except hosted.TokenRefused as refused:
                raise Refusal(str(refused)) from None
        if token:
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
        if not ccnumber.strip():  # NMI's text for a request without any payment data
            raise Refusal("Required Field cc_number is Missing or Empty")
        return self._card(ccnumber, form.get("ccexp", ""), form.get("cvv", ""), form)

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
            cc_bin=number[:6],
            trigger=trigger.name,
            cvv_result=("M" if cvv == "999" else "N") if cvv else "",
            billing=billing_from(form),
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
            billing=billing_from(form),
        )

    def _method_from_vault(self, vault_id: str, form: Mapping[str, str]) -> Method:
        row = self.db.execute("SELECT * FROM vault WHERE vault_id = ?", (vault_id,)).fetchone()
        if row is None:
            raise Refusal("Invalid Customer Vault Id")
        cvv = form.get("cvv", "").strip()
        billing = json.loads(row["billing"]) | billing_from(form)
        sec_code = row["sec_code"]
        if row["kind"] == "ck" and form.get("sec_code", "").strip():
            # A charge of a vaulted account may name its own SEC code (CCD for a business's
            # recurring debit, WEB for a personal account authorised online).
            sec_code = form["sec_code"].strip().upper()
            if sec_code not in ("WEB", "PPD", "CCD", "TEL"):
                raise Refusal("Invalid SEC code")
        return Method(
            kind=row["kind"],
            fingerprint=row["fingerprint"],
            masked=row["masked"],
            brand=row["brand"],
            cc_exp=row["cc_exp"],
            cc_bin=row["cc_bin"],
            check_aba=row["check_aba"],
            check_name=row["check_name"],
            account_holder_type=row["account_holder_type"],
            account_type=row["account_type"],
            sec_code=sec_code,
            trigger=row["trigger"],
            cvv_result=("M" if cvv == "999" else "N") if cvv and row["kind"] == "cc" else "",
            vault_id=vault_id,
            billing=billing,
        )
