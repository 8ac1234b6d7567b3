"""Test data. Amounts follow the same rules as production (remit.billing.services)."""

import datetime
from decimal import Decimal

import factory
from django.utils import timezone

from remit.accounts.models import Organization, SecurityLevel, User
from remit.accounts.services import ensure_system_security_levels
from remit.billing.models import Invoice
from remit.billing.services import LineSpec, invoice_create

PASSWORD = "correct horse battery staple"


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Client {n} LLC")
    billing_email = factory.LazyAttribute(lambda o: f"billing@{o.name.split()[0].lower()}.example")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@client.example")
    first_name = "Pat"
    last_name = factory.Sequence(lambda n: f"Person{n}")
    organization = factory.SubFactory(OrganizationFactory)
    security_level = factory.LazyFunction(
        lambda: SecurityLevel.objects.get(name=SecurityLevel.USER)
    )
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()


def manager_of(organization: Organization, **fields) -> User:
    return UserFactory(
        organization=organization,
        security_level=ensure_system_security_levels()[SecurityLevel.MANAGER],
        **fields,
    )


def user_of(organization: Organization, **fields) -> User:
    return UserFactory(organization=organization, **fields)


def staff_user(**fields) -> User:
    user = User.objects.create_superuser(
        fields.pop("email", "staff@provider.example"), PASSWORD, **fields
    )
    return user


_numbers = iter(range(10_000, 10**9))


def make_invoice(
    organization: Organization,
    *,
    total: Decimal | str = "100.00",
    paid: Decimal | str = "0.00",
    invoice_date: datetime.date | None = None,
    due_date: datetime.date | None = None,
    state: str = Invoice.State.ISSUED,
    number: str | None = None,
    tax: Decimal | str = "0.00",
) -> Invoice:
    today = timezone.localdate()
    invoice_date = invoice_date or today - datetime.timedelta(days=10)
    due_date = due_date or max(invoice_date, today) + datetime.timedelta(days=20)
    subtotal = Decimal(total) - Decimal(tax)
    invoice = invoice_create(
        organization=organization,
        number=number or f"T-{next(_numbers)}",
        invoice_date=invoice_date,
        due_date=due_date,
        lines=[LineSpec("Managed services", Decimal("1"), subtotal)],
        tax=Decimal(tax),
        state=state,
        amount_paid=Decimal(paid),
    )
    invoice.refresh_from_db()
    return invoice


def confirmed_totp_device(user):
    """The staff member's authenticator app, set up (django-otp TOTP device, confirmed)."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device, _ = TOTPDevice.objects.get_or_create(
        user=user, confirmed=True, defaults={"name": "Authenticator app"}
    )
    return device


def sign_in_staff(client, user):
    """Sign provider staff in to the back office as if they had entered their password *and* a
    TOTP code: every back-office page needs both (remit.backoffice)."""
    from django_otp import DEVICE_ID_SESSION_KEY

    device = confirmed_totp_device(user)
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return device
