"""Saved payment methods: saved after a successful payment (vault id and display fields only), and
removed from the gateway's vault first."""

from __future__ import annotations

from dataclasses import asdict

from django.db import transaction
from django.utils import timezone

from remit.audit.services import record_event
from remit.gateway import get_gateway
from remit.gateway.base import (
    GatewayResult,
    Outcome,
)
from remit.payments.hosted import MethodDetails, NewToken
from remit.payments.models import (
    MethodKind,
    Payment,
    PaymentMethod,
)
from remit.payments.services.common import NewBankAccount, NewCard, PaymentChoice, PaymentRefused
from remit.payments.signals import payment_method_removed


def _save_method(
    payment: Payment, result: GatewayResult, choice: PaymentChoice, now
) -> PaymentMethod:
    """Saved only now that the payment succeeded, and only as the vault id plus display fields."""
    billing = (
        asdict(choice.billing) if isinstance(choice, NewCard | NewBankAccount | NewToken) else {}
    )
    fields = {
        "owner": payment.payer,
        "vault_id": result.customer_vault_id,
        "last4": payment.method_last4,
        "billing": billing,
        "created_at": now,
        "last_used_at": now,
        "initial_transaction_id": result.transaction_id,
    }
    if isinstance(choice, NewToken):
        details = choice.details or MethodDetails()
        if choice.is_card:
            fields.update(
                kind=MethodKind.CARD,
                brand=payment.method_brand,
                exp_month=details.exp_month,
                exp_year=details.exp_year,
                card_category=details.card_category or "unknown",
                holder_name=f"{choice.billing.first_name} {choice.billing.last_name}".strip(),
            )
        else:
            fields.update(
                kind=MethodKind.ECHECK,
                account_type=payment.method_brand,
                account_holder_type=str(choice.token.holder_type),
                holder_name=details.name_on_account,
            )
    elif isinstance(choice, NewCard):
        card = choice.card
        fields.update(
            kind=MethodKind.CARD,
            brand=payment.method_brand,
            exp_month=card.exp_month,
            exp_year=card.exp_year,
            holder_name=f"{choice.billing.first_name} {choice.billing.last_name}".strip(),
        )
    else:
        account = choice.account
        fields.update(
            kind=MethodKind.ECHECK,
            account_type=str(account.account_type),
            account_holder_type=str(account.holder_type),
            holder_name=account.name_on_account,
        )
    method = PaymentMethod.objects.create(**fields)
    record_event(
        "payment_method.saved",
        actor=payment.payer,
        obj=method,
        organization=payment.organization_id,
        summary=f"Saved {method.label} to the gateway vault",
    )
    return method


def payment_method_remove(
    method: PaymentMethod, *, user, ip_address: str | None = None, gateway=None
) -> None:
    """Remove a saved method: from the gateway's vault first, then from the list. If the vault
    cannot be reached the method stays, so nothing is left behind in the vault unseen."""
    gateway = gateway or get_gateway()
    result = gateway.vault_delete(vault_id=method.vault_id)
    gone = (
        result.outcome == Outcome.APPROVED
        or "invalid customer vault id" in result.response_text.lower()
    )
    if not gone:
        raise PaymentRefused(
            "The payment method could not be removed right now. Please try again later.", "vault"
        )
    with transaction.atomic():
        PaymentMethod.objects.filter(pk=method.pk, removed_at__isnull=True).update(
            removed_at=timezone.now()
        )
        record_event(
            "payment_method.removed",
            actor=user,
            obj=method,
            organization=user.organization_id,
            summary=f"Removed {method.label} (deleted from the gateway vault)",
            ip_address=ip_address,
        )
        payment_method_removed.send(sender=PaymentMethod, method=method)
