"""Phase two of a payment: the gateway sale, outside any transaction (start.py calls it)."""

from __future__ import annotations

import logging

from remit.gateway.base import (
    Gateway,
    GatewayResult,
    Outcome,
    StoredCredential,
)
from remit.payments.hosted import NewToken
from remit.payments.models import MethodKind, Payment
from remit.payments.services.common import NewCard, PaymentChoice, SavedMethod

logger = logging.getLogger("remit.payments.services.start")  # where these were logged before


def _numbers(payment: Payment) -> str:
    """The invoice numbers a payment pays (one, in the seed's flow), for the gateway and the
    eCheck authorization text. A one-invoice payment just inserted knows its number already."""
    if known := getattr(payment, "invoice_numbers", None):
        return known
    numbers = list(
        payment.allocations.order_by("invoice__due_date", "invoice_id").values_list(
            "invoice__number", flat=True
        )
    )
    return ", ".join(numbers) or payment.invoice.number


def _sale(
    gateway: Gateway, payment: Payment, choice: PaymentChoice, *, merchant_initiated: bool = False
) -> GatewayResult:
    """Phase two: the gateway call, outside any transaction. Whatever happens is an answer:
    an unexpected exception is an unknown outcome, to be looked up, never retried blindly."""
    numbers = _numbers(payment)
    common = {
        "amount": payment.charged_amount,  # the invoices' amount, plus a surcharge or less a discount
        "surcharge": payment.surcharge_amount or None,
        "order_id": payment.order_id,
        "ip_address": payment.ip_address or "",
        "description": f"Invoice{'s' if ',' in numbers else ''} {numbers}"[:255],
        "po_number": payment.invoice.number,
    }
    try:
        if isinstance(choice, SavedMethod):
            method = choice.method
            stored = None
            if method.kind == MethodKind.CARD:
                stored = StoredCredential(
                    initiated_by="merchant" if merchant_initiated else "customer",
                    indicator="used",
                    initial_transaction_id=method.initial_transaction_id,
                    billing_method="recurring" if merchant_initiated else "",
                )
            elif merchant_initiated:  # a recurring debit: CCD for a business, WEB for a person
                common["sec_code"] = "CCD" if method.account_holder_type == "business" else "WEB"
            return gateway.sale(**common, vault_id=method.vault_id, stored_credential=stored)
        if isinstance(choice, NewCard):
            stored = (
                StoredCredential(initiated_by="customer", indicator="stored")
                if payment.save_method
                else None
            )
            return gateway.sale(
                **common,
                card=choice.card,
                billing=choice.billing,
                save_to_vault=payment.save_method,
                stored_credential=stored,
            )
        if isinstance(choice, NewToken):
            stored = (
                StoredCredential(initiated_by="customer", indicator="stored")
                if payment.save_method and choice.is_card
                else None
            )
            return gateway.sale(
                **common,
                payment_token=choice.token,
                billing=choice.billing,
                save_to_vault=payment.save_method,
                stored_credential=stored,
            )
        return gateway.sale(
            **common,
            bank_account=choice.account,
            billing=choice.billing,
            save_to_vault=payment.save_method,
        )
    except Exception:
        logger.exception("gateway sale failed for order %s", payment.order_id)
        return GatewayResult(outcome=Outcome.UNKNOWN, response_text="the gateway call failed")
