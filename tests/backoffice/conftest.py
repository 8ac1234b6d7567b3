"""Back-office tests: staff who signed in with a password *and* a TOTP code (`as_staff`), staff who
only gave a password (`as_unverified_staff`), and the client cast of tests/conftest.py."""

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from remit.audit.models import AuditEvent
from tests.factories import confirmed_totp_device, sign_in_staff

confirmed_device = confirmed_totp_device


def current_code(device: TOTPDevice) -> str:
    device.refresh_from_db()
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


sign_in_verified = sign_in_staff


@pytest.fixture
def as_staff(client, staff):
    sign_in_verified(client, staff)
    return client


@pytest.fixture
def as_unverified_staff(client, staff):
    confirmed_device(staff)
    client.force_login(staff)
    return client


def audit(action: str, **filters):
    return AuditEvent.objects.filter(action=action, **filters)


def make_payment(invoice, payer, *, state="settled", amount=None, kind="card", **fields):
    """A payment row as the payment services leave it (no gateway call): for pages and access."""
    import uuid
    from decimal import Decimal

    from remit.payments.models import APPLIED_STATES, Payment, PaymentEvent

    amount = Decimal(amount or invoice.total)
    applied = amount if state in APPLIED_STATES else Decimal("0.00")
    payment = Payment.objects.create(
        invoice=invoice,
        organization=invoice.organization,
        payer=payer,
        attempt_key=uuid.uuid4(),
        request_fingerprint="test",
        state=state,
        amount=amount,
        applied_amount=applied,
        method_kind=kind,
        method_brand="Visa" if kind == "card" else "checking",
        method_last4="1111" if kind == "card" else "3815",
        transaction_id=fields.pop("transaction_id", "9000001"),
        **fields,
    )
    PaymentEvent.objects.create(
        payment=payment, from_state="", to_state=state, source="portal", message="test payment"
    )
    if applied:
        invoice.amount_paid = applied
        invoice.save(update_fields=["amount_paid"])
    return payment


@pytest.fixture
def payment(invoice, manager):
    return make_payment(invoice, manager)


# The payments suite's fixtures: `pay` (pay_invoice against the sandbox as the Northwind manager).
from tests.payments.conftest import pay  # noqa: E402, F401
