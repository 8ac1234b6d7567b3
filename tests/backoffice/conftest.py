"""Back-office tests: staff who signed in with a password *and* a TOTP code (`as_staff`), staff who
only gave a password (`as_unverified_staff`), and the client cast of tests/conftest.py."""

import datetime
from zoneinfo import ZoneInfo

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from remit.audit.models import AuditEvent
from remit.billing.models import Invoice
from tests.factories import confirmed_totp_device, make_invoice, sign_in_staff

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

# The dashboard's and the aging report's day: June 15, 2026, noon in New York (the provider's).
NY = ZoneInfo("America/New_York")


@pytest.fixture
def on_june_15(time_machine):
    time_machine.move_to(datetime.datetime(2026, 6, 15, 12, 0, tzinfo=NY), tick=False)


def listed(client, url) -> set[int]:
    page = client.get(url)
    assert page.status_code == 200, url
    assert "?e=1" not in page.get("Location", ""), url  # the admin's "unknown filter" redirect
    return {row.pk for row in page.context["cl"].result_list}


@pytest.fixture
def open_invoices(on_june_15, northwind, contoso):
    def due(org, due_date, total, paid="0.00", **fields):
        return make_invoice(
            org,
            total=total,
            paid=paid,
            invoice_date=datetime.date(2026, 1, 1),
            due_date=datetime.date.fromisoformat(due_date),
            **fields,
        )

    made = {
        "current": due(northwind, "2026-06-20", "100.00"),
        "d1_30": due(northwind, "2026-06-14", "200.00", paid="50.00"),
        "d31_60": due(contoso, "2026-04-30", "300.00"),
        "d90": due(contoso, "2026-03-01", "500.00"),
    }
    due(northwind, "2026-03-01", "999.00", paid="999.00")  # paid
    due(northwind, "2026-03-01", "888.00", state=Invoice.State.DRAFT)
    cad = due(contoso, "2026-04-01", "42.00")  # 75 days: 61-90, in Canadian dollars
    Invoice.objects.filter(pk=cad.pk).update(currency="CAD")
    made["cad"] = cad
    return made
