"""The demo's autopay (`remit demo`, after the sandbox gateway is up, before the worker starts):
Contoso's manager saves the sandbox's test Visa the way a client does (a portal payment of one
invoice with "save this card", a customer-initiated sale whose transaction id the autopay sales
name), enrols Contoso in autopay on the due date, and an invoice of each demo organization falls
due today: the worker's first autopay run charges Contoso's (within a minute), its first reminders
run emails Northwind's "due today" reminder and Contoso's autopay notice (printed on the console).

Safe to run again: the card, the enrolment and today's invoices are looked up before being made."""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal

from django.utils import timezone

from remit.accounts.models import Organization, User
from remit.autopay.models import Enrolment
from remit.autopay.services import enrol
from remit.billing.models import Invoice
from remit.billing.services import LineSpec, invoice_create
from remit.core.models import Provider
from remit.gateway.base import Billing, Card
from remit.payments.models import MethodKind, PaymentMethod

CLIENT = "manager@contoso.example"  # whose card autopay charges (Contoso Ltd)
REMINDED = "Northwind Traders"  # whose invoice due today gets a payment reminder
DEMO_CARD_EXPIRY_YEARS = 3


def _saved_card(user: User, provider: Provider, gateway) -> PaymentMethod:
    """The user's saved card; none yet: one of their open invoices paid with the sandbox's test
    Visa and "save this card", through the portal's money code."""
    from remit.payments.services import NewCard, pay_invoice
    from remit.testing.cards import VISA

    method = PaymentMethod.objects.filter(
        owner=user, kind=MethodKind.CARD, removed_at__isnull=True
    ).first()
    if method is not None and not method.is_expired:
        return method
    invoice = (
        Invoice.objects.filter(
            organization=user.organization, state=Invoice.State.ISSUED, amount_due__gt=0
        )
        .order_by("due_date", "id")
        .first()
    )
    if invoice is None:
        invoice = _invoice_due(user.organization, timezone.localdate(timezone=provider.zone), "C")
    year = timezone.localdate().year + DEMO_CARD_EXPIRY_YEARS
    pay_invoice(
        user=user,
        invoice=invoice,
        attempt_key=uuid.uuid4(),
        choice=NewCard(
            card=Card(number=VISA, exp_month=12, exp_year=year, cvv="123"),
            billing=Billing(first_name=user.first_name, last_name=user.last_name, email=user.email),
        ),
        save_method=True,
        gateway=gateway,
        provider=provider,
    )
    return PaymentMethod.objects.get(owner=user, kind=MethodKind.CARD, removed_at__isnull=True)


def _invoice_due(organization: Organization, today: datetime.date, tag: str) -> Invoice:
    """The organization's demo invoice due today (made once per day)."""
    prefix = "".join(word[0] for word in organization.name.split()[:2]).upper()
    number = f"{prefix}-{tag}{today:%y%m%d}"
    existing = Invoice.objects.filter(number=number).first()
    if existing is not None:
        return existing
    return invoice_create(
        organization=organization,
        number=number,
        invoice_date=today - datetime.timedelta(days=30),
        due_date=today,
        lines=[LineSpec("Managed IT services, monthly", Decimal(1), Decimal("480.00"))],
    )


def prepare_autopay_demo(*, gateway=None) -> dict:
    """What it did, for the demo to print: {"enrolment", "charged_invoice", "reminded_invoice"}."""
    from remit.gateway import get_gateway

    provider = Provider.load()
    gateway = gateway or get_gateway(provider)
    user = User.objects.select_related("organization").get(email=CLIENT)
    today = timezone.localdate(timezone=provider.zone)
    enrolment = Enrolment.objects.active().filter(organization=user.organization).first()
    if enrolment is None:
        method = _saved_card(user, provider, gateway)
        # Consent recorded as given by the client user (the demo acts as them); no IP address.
        enrolment = enrol(
            user=user,
            method=method,
            trigger="due_date",
            cap=None,
            ip_address=None,
            provider=provider,
        )
    charged = _invoice_due(user.organization, today, "A")
    reminded = _invoice_due(Organization.objects.get(name=REMINDED), today, "R")
    return {"enrolment": enrolment, "charged_invoice": charged, "reminded_invoice": reminded}
