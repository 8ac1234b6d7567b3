"""Provider staff edit the provider settings and security levels; client users cannot."""

import pytest

from remit.accounts.models import PortalPermission, SecurityLevel
from remit.core.models import Provider


@pytest.mark.django_db
class TestProviderSettings:
    url = "/backoffice/core/provider/1/change/"

    def test_staff_edit_the_settings(self, client, staff, provider):
        client.force_login(staff)
        assert client.get("/backoffice/core/provider/").status_code == 302
        page = client.get(self.url)
        assert page.status_code == 200
        response = client.post(
            self.url,
            {
                "name": "Harbor Point Managed IT",
                "country": "us",
                "internal_currency": "usd",
                "time_zone": "America/Chicago",
                "payment_options": "echeck",
                "support_email": "help@harborpoint.example",
                "support_phone": "",
            },
        )
        assert response.status_code == 302
        provider = Provider.load()
        assert provider.name == "Harbor Point Managed IT"
        assert provider.payment_options == "echeck"
        assert provider.time_zone == "America/Chicago"
        assert (provider.country, provider.internal_currency) == ("US", "USD")

    def test_bad_values_are_refused_next_to_the_field(self, client, staff, provider):
        client.force_login(staff)
        response = client.post(
            self.url,
            {
                "name": "X",
                "country": "U5",
                "internal_currency": "USD",
                "time_zone": "Mars/Olympus",
                "payment_options": "both",
            },
        )
        assert response.status_code == 200
        assert "two-letter country code" in response.text
        assert "is not a time zone name" in response.text
        assert Provider.load().name == "Harbor Point IT"

    def test_client_users_are_kept_out(self, client, manager, provider):
        client.force_login(manager)
        response = client.get(self.url)
        assert response.status_code == 302
        assert "/backoffice/login/" in response["Location"]


@pytest.mark.django_db
def test_staff_give_the_permission_to_the_user_level(client, staff, plain_user, invoice):
    user_level = SecurityLevel.objects.get(name="User")
    view = PortalPermission.objects.get(code=PortalPermission.VIEW_FINANCIALS)
    client.force_login(staff)
    response = client.post(
        f"/backoffice/accounts/securitylevel/{user_level.pk}/change/",
        {"name": "User", "description": "", "permissions": [view.pk]},
    )
    assert response.status_code == 302
    client.force_login(plain_user)
    assert client.get(f"/invoices/{invoice.pk}/").status_code == 200
