"""Which gateway Remit talks to: the provider's settings, else the GATEWAY_* settings."""

from decimal import Decimal

import pytest

from remit.core.models import Provider
from remit.gateway import GatewayNotConfigured, gateway_configured, get_gateway
from remit.gateway.base import Card
from remit.gateway.nmi import NmiGateway


@pytest.fixture
def no_settings(settings):
    settings.GATEWAY_URL = ""
    settings.GATEWAY_SECURITY_KEY = ""
    return settings


@pytest.mark.django_db
def test_the_providers_gateway_wins_over_the_settings(settings):
    settings.GATEWAY_URL = "https://settings.example"
    settings.GATEWAY_SECURITY_KEY = "settings-key"
    settings.GATEWAY_READ_TIMEOUT = 12
    settings.GATEWAY_DUP_SECONDS = 300
    provider = Provider.load()
    provider.gateway_url = "https://provider.example/"
    provider.gateway_security_key = "provider-key"
    provider.save()
    gateway = get_gateway(provider)
    assert isinstance(gateway, NmiGateway)
    assert gateway.base_url == "https://provider.example"
    assert gateway._security_key == "provider-key"
    assert gateway.timeout.read == 12
    assert gateway.dup_seconds == 300
    assert get_gateway().base_url == "https://provider.example"  # the provider row is loaded


@pytest.mark.django_db
def test_empty_provider_fields_fall_back_to_the_settings(settings):
    settings.GATEWAY_URL = "https://settings.example"
    settings.GATEWAY_SECURITY_KEY = "settings-key"
    gateway = get_gateway(Provider.load())
    assert (gateway.base_url, gateway._security_key) == ("https://settings.example", "settings-key")
    assert gateway_configured(Provider.load())


@pytest.mark.django_db
def test_without_url_or_key_there_is_no_gateway(no_settings):
    provider = Provider.load()
    assert not gateway_configured(provider)
    with pytest.raises(GatewayNotConfigured):
        get_gateway(provider)
    provider.gateway_url = "https://provider.example"
    assert not gateway_configured(provider)  # a URL without a key is not enough
    provider.gateway_security_key = "k"
    assert gateway_configured(provider)


def test_the_dup_window_defaults_below_nmis(settings):
    assert settings.GATEWAY_DUP_SECONDS == 120


@pytest.mark.django_db
def test_the_gateway_fixture_points_remit_at_the_sandbox(gateway):
    card = Card(number="4111111111111111", exp_month=12, exp_year=2099, cvv="123")
    result = get_gateway().sale(amount=Decimal("5.00"), order_id="fixture", card=card)
    assert result.approved
    assert get_gateway()._client is gateway._client  # one connection pool per URL
