"""Provider staff edit the provider settings (the gateway's URL and key write-only) and test the
gateway connection; every change is audited, never with the key's value."""

import pytest

from remit.core.models import Provider
from tests.backoffice.conftest import audit

URL = "/backoffice/core/provider/1/change/"
KEY = "s3cr3t-Gateway-Key-0123456789-Ym"


def settings_form(**overrides):
    data = {
        "name": "Harbor Point IT",
        "country": "US",
        "internal_currency": "USD",
        "time_zone": "America/New_York",
        "payment_options": "both",
        "support_email": "",
        "support_phone": "",
        "gateway_url": "",
        "gateway_security_key": "",
        "gateway_tokenization_key": "",
        "_save": "Save",
    }
    data.update(overrides)
    return data


@pytest.mark.django_db
class TestProviderSettings:
    def test_staff_edit_the_settings(self, as_staff, provider):
        assert as_staff.get("/backoffice/core/provider/").status_code == 302
        assert as_staff.get(URL).status_code == 200
        response = as_staff.post(
            URL,
            settings_form(
                name="Harbor Point Managed IT",
                country="us",
                internal_currency="usd",
                time_zone="America/Chicago",
                payment_options="echeck",
                support_email="help@harborpoint.example",
            ),
        )
        assert response.status_code == 302
        assert response["Location"] == URL
        provider = Provider.load()
        assert provider.name == "Harbor Point Managed IT"
        assert provider.payment_options == "echeck"
        assert provider.time_zone == "America/Chicago"
        assert (provider.country, provider.internal_currency) == ("US", "USD")
        event = audit("settings.changed").get()
        assert event.actor.email == "staff@harborpoint.example"
        assert event.ip_address == "127.0.0.1"
        assert event.details["values"]["payment_options"] == ["both", "echeck"]
        assert set(event.details["fields"]) >= {"name", "payment_options", "time_zone"}

    def test_bad_values_are_refused_next_to_the_field(self, as_staff, provider):
        response = as_staff.post(
            URL, settings_form(name="X", country="U5", time_zone="Mars/Olympus")
        )
        assert response.status_code == 200
        assert "two-letter country code" in response.text
        assert "is not a time zone name" in response.text
        assert Provider.load().name == "Harbor Point IT"
        assert not audit("settings.changed").exists()

    def test_the_brand_is_the_providers_name(self, as_staff, provider):
        assert "Harbor Point IT" in as_staff.get("/backoffice/").text


@pytest.mark.django_db
class TestGatewayCredentials:
    def test_the_key_is_write_only_and_shown_masked(self, as_staff, provider):
        as_staff.post(
            URL,
            settings_form(gateway_url="https://secure.gateway.example", gateway_security_key=KEY),
        )
        provider = Provider.load()
        assert provider.gateway_security_key == KEY
        assert provider.gateway_url == "https://secure.gateway.example"
        page = as_staff.get(URL).text
        assert KEY not in page
        assert "secure.gateway.example" not in page
        assert "••••Ym" in page
        assert "••••le" in page

    def test_an_empty_field_keeps_the_saved_value(self, as_staff, provider):
        provider.gateway_url, provider.gateway_security_key = "https://gw.example", KEY
        provider.save()
        as_staff.post(URL, settings_form(name="Renamed"))
        provider = Provider.load()
        assert (provider.name, provider.gateway_security_key) == ("Renamed", KEY)
        assert provider.gateway_url == "https://gw.example"
        event = audit("settings.changed").get()
        assert event.details["fields"] == ["name"]

    def test_the_saved_values_can_be_removed(self, as_staff, provider):
        provider.gateway_url, provider.gateway_security_key = "https://gw.example", KEY
        provider.save()
        as_staff.post(URL, settings_form(clear_gateway_url="on", clear_gateway_security_key="on"))
        provider = Provider.load()
        assert (provider.gateway_url, provider.gateway_security_key) == ("", "")
        assert set(audit("settings.changed").get().details["fields"]) == {
            "gateway_url",
            "gateway_security_key",
        }

    def test_the_audit_entry_never_holds_the_key(self, as_staff, provider):
        as_staff.post(URL, settings_form(gateway_security_key=KEY, support_phone="555"))
        event = audit("settings.changed").get()
        assert "gateway_security_key" in event.details["fields"]
        assert KEY not in str(event.details) + event.summary
        assert "gateway_security_key" not in event.details["values"]

    def test_a_url_must_be_http(self, as_staff, provider):
        response = as_staff.post(URL, settings_form(gateway_url="ftp://gw.example"))
        assert response.status_code == 200
        assert Provider.load().gateway_url == ""


@pytest.mark.django_db
class TestTokenizationKey:
    def test_the_public_key_is_shown_and_saved(self, as_staff, provider):
        response = as_staff.post(
            URL, settings_form(gateway_tokenization_key="abcDEF-123456-ghiJKL-789012")
        )
        assert response.status_code == 302
        assert Provider.load().gateway_tokenization_key == "abcDEF-123456-ghiJKL-789012"
        assert 'value="abcDEF-123456-ghiJKL-789012"' in as_staff.get(URL).text
        assert "gateway_tokenization_key" in audit("settings.changed").get().details["fields"]

    def test_the_private_key_is_refused_as_the_public_one(self, as_staff, provider):
        response = as_staff.post(
            URL, settings_form(gateway_security_key=KEY, gateway_tokenization_key=KEY)
        )
        assert response.status_code == 200
        assert "This is the private security key." in response.text
        assert KEY not in response.text.replace("This is the private security key.", "")
        assert Provider.load().gateway_tokenization_key == ""


@pytest.mark.django_db
class TestConnection:
    url = "/backoffice/core/provider/test-connection/"

    def test_the_sandbox_accepts_its_key(self, as_staff, provider, sandbox_gateway):
        provider.gateway_url = sandbox_gateway.url
        provider.gateway_security_key = sandbox_gateway.security_key
        provider.gateway_tokenization_key = sandbox_gateway.tokenization_key
        provider.save()
        response = as_staff.post(self.url, follow=True)
        assert "Connected: the gateway accepted the security key" in response.text
        assert "serves Collect.js for the public tokenization key" in response.text
        assert audit("settings.test_connection", outcome="success").count() == 1

    def test_a_missing_tokenization_key_is_reported(
        self, as_staff, provider, sandbox_gateway, settings
    ):
        settings.GATEWAY_TOKENIZATION_KEY = ""
        provider.gateway_url = sandbox_gateway.url
        provider.gateway_security_key = sandbox_gateway.security_key
        provider.save()
        response = as_staff.post(self.url, follow=True)
        assert "The public tokenization key is not set" in response.text
        event = audit("settings.test_connection", outcome="failure").get()
        assert event.details["result"] == "no_tokenization_key"

    def test_the_private_key_as_the_public_one_is_reported(
        self, as_staff, provider, sandbox_gateway
    ):
        provider.gateway_url = sandbox_gateway.url
        provider.gateway_security_key = sandbox_gateway.security_key
        provider.gateway_tokenization_key = sandbox_gateway.security_key
        provider.save()
        response = as_staff.post(self.url, follow=True)
        assert "is the private security key" in response.text

    def test_a_wrong_key_is_reported(self, as_staff, provider, sandbox_gateway):
        provider.gateway_url = sandbox_gateway.url
        provider.gateway_security_key = "not-the-key"
        provider.save()
        response = as_staff.post(self.url, follow=True)
        assert "refused the security key (Authentication Failed)" in response.text
        event = audit("settings.test_connection", outcome="failure").get()
        assert event.details["result"] == "wrong_key"
        assert "not-the-key" not in str(event.details) + event.summary

    def test_an_unreachable_gateway_is_reported(self, as_staff, provider, unused_port):
        provider.gateway_url = f"http://127.0.0.1:{unused_port}"
        provider.gateway_security_key = KEY
        provider.save()
        response = as_staff.post(self.url, follow=True)
        assert "could not be reached" in response.text
        assert audit("settings.test_connection").get().details["result"] == "unreachable"

    def test_nothing_set_is_reported(self, as_staff, provider, settings):
        settings.GATEWAY_URL = settings.GATEWAY_SECURITY_KEY = ""
        response = as_staff.post(self.url, follow=True)
        assert "No gateway URL and security key are set yet." in response.text

    def test_it_rejects_get(self, as_staff, provider):
        assert as_staff.get(self.url).status_code == 405


@pytest.fixture
def unused_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.django_db
def test_country_currency_and_time_zone_are_choices(as_staff, provider):
    text = as_staff.get(URL).text
    assert '<select name="country"' in text
    assert '<option value="US" selected>United States</option>' in text
    assert '<select name="internal_currency"' in text
    assert '<option value="USD" selected>USD · US dollar</option>' in text
    assert '<select name="time_zone"' in text
    assert '<option value="America/Chicago">America/Chicago</option>' in text
