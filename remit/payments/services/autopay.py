"""An autopay charge: the portal's own pay_invoice (phases one to three, the same constraints and
replay by attempt key), sent as a merchant-initiated stored-credential sale of the saved method
(`initiated_by=merchant`, `stored_credential_indicator=used`, `billing_method=recurring`, the
method's initial transaction id; an eCheck as CCD for a business account, WEB for a personal one).
Which invoices and when: remit/autopay/charge.py."""

from __future__ import annotations

import uuid

from remit.billing.models import Invoice
from remit.core.models import Provider
from remit.gateway.base import Gateway
from remit.payments.models import Payment, PaymentMethod
from remit.payments.services.common import SavedMethod
from remit.payments.services.start import pay_invoice


def autopay_charge(
    *,
    invoice: Invoice,
    method: PaymentMethod,
    attempt_key: uuid.UUID,
    gateway: Gateway | None = None,
    provider: Provider | None = None,
) -> Payment:
    """Charge `invoice` in full with `method` (its owner is the payer). The same attempt key
    again returns the first payment without calling the gateway."""
    return pay_invoice(
        user=method.owner,
        invoice=invoice,
        attempt_key=attempt_key,
        choice=SavedMethod(method),
        gateway=gateway,
        provider=provider,
        merchant_initiated=True,
    )
