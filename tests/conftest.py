"""The cast, as in healthchecks.io's tests: a manager and a plain user of Northwind, a manager of
Contoso (another organization), and provider staff."""

import pytest

from remit.core.models import Provider
from tests.factories import OrganizationFactory, make_invoice, manager_of, staff_user, user_of


@pytest.fixture
def provider(db):
    provider = Provider.load()
    provider.name = "Harbor Point IT"
    provider.country = "US"
    provider.internal_currency = "USD"
    provider.time_zone = "America/New_York"
    provider.save()
    return provider


@pytest.fixture
def northwind(provider):
    return OrganizationFactory(name="Northwind Traders", billing_email="ap@northwind.example")


@pytest.fixture
def contoso(provider):
    return OrganizationFactory(name="Contoso Ltd", billing_email="ap@contoso.example")


@pytest.fixture
def manager(northwind):
    return manager_of(northwind, email="manager@northwind.example", first_name="Nancy")


@pytest.fixture
def plain_user(northwind):
    return user_of(northwind, email="user@northwind.example", first_name="Andrew")


@pytest.fixture
def other_manager(contoso):
    return manager_of(contoso, email="manager@contoso.example", first_name="Kim")


@pytest.fixture
def staff(provider):
    return staff_user(email="staff@harborpoint.example")


@pytest.fixture
def invoice(northwind):
    return make_invoice(northwind, total="1234.00", number="NW-1001")


@pytest.fixture
def contoso_invoice(contoso):
    return make_invoice(contoso, total="500.00", number="CT-2001")


@pytest.fixture
def as_manager(client, manager):
    client.force_login(manager)
    return client


@pytest.fixture
def as_user(client, plain_user):
    client.force_login(plain_user)
    return client


@pytest.fixture
def smtp_down(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", closed_port()
    settings.EMAIL_TIMEOUT = 2
    return settings


def closed_port() -> int:
    """A port nothing listens on: a mail server that is down."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
