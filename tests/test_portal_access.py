"""Every page × every role. Invoices are only found by a user holding "View invoices and financial
data", and only within their own organization; everything else is a plain 404."""

import pytest
from django.urls import reverse

from remit.accounts.models import PortalPermission, SecurityLevel
from remit.billing.models import Invoice
from tests.factories import UserFactory, make_invoice


def invoice_urls(invoice):
    return [
        reverse("invoice_detail", args=[invoice.pk]),
        reverse("invoice_pdf", args=[invoice.pk]),
    ]


@pytest.mark.django_db
class TestAnonymous:
    def test_every_page_asks_to_sign_in(self, client, invoice):
        for url in [reverse("home"), reverse("invoice_list"), *invoice_urls(invoice)]:
            response = client.get(url)
            assert response.status_code == 302, url
            assert response["Location"].startswith(reverse("login")), url


@pytest.mark.django_db
class TestManager:
    def test_home_shows_recent_invoices_card(self, as_manager, invoice):
        response = as_manager.get(reverse("home"))
        assert response.status_code == 200
        assert "Recent Invoices for Northwind Traders" in response.text
        assert invoice.number in response.text
        assert reverse("invoice_detail", args=[invoice.pk]) in response.text

    def test_menu_has_reports_invoices(self, as_manager):
        response = as_manager.get(reverse("home"))
        assert reverse("invoice_list") in response.text

    def test_invoice_list_lists_own_invoices(self, as_manager, invoice, contoso_invoice):
        response = as_manager.get(reverse("invoice_list"))
        assert response.status_code == 200
        assert invoice.number in response.text
        assert contoso_invoice.number not in response.text

    def test_invoice_page_and_pdf(self, as_manager, invoice):
        detail, pdf = (as_manager.get(url) for url in invoice_urls(invoice))
        assert detail.status_code == 200
        assert "$1,234.00" in detail.text
        assert pdf.status_code == 200
        assert pdf["Content-Type"] == "application/pdf"
        assert pdf.content.startswith(b"%PDF-")

    def test_other_organizations_invoice_is_not_found(self, as_manager, contoso_invoice):
        for url in invoice_urls(contoso_invoice):
            assert as_manager.get(url).status_code == 404, url

    def test_draft_invoice_is_not_found(self, as_manager, northwind):
        draft = make_invoice(northwind, state=Invoice.State.DRAFT)
        for url in invoice_urls(draft):
            assert as_manager.get(url).status_code == 404, url
        assert draft.number not in as_manager.get(reverse("invoice_list") + "?show_paid=on").text

    def test_missing_invoice_is_not_found(self, as_manager):
        assert as_manager.get("/invoices/999999/").status_code == 404


@pytest.mark.django_db
class TestUserWithoutPermission:
    def test_home_has_no_invoice_card_or_menu(self, as_user, invoice):
        response = as_user.get(reverse("home"))
        assert response.status_code == 200
        assert "Recent Invoices" not in response.text
        assert invoice.number not in response.text
        assert reverse("invoice_list") not in response.text
        assert "Reports" not in response.text

    def test_every_invoice_url_is_not_found(self, as_user, invoice):
        for url in [reverse("invoice_list"), *invoice_urls(invoice)]:
            assert as_user.get(url).status_code == 404, url


@pytest.mark.django_db
class TestPermissionNotLevelName:
    def test_custom_level_with_permission_sees_invoices(self, client, northwind, invoice):
        level = SecurityLevel.objects.create(name="Accounts Payable")
        level.permissions.add(PortalPermission.objects.get(code=PortalPermission.VIEW_FINANCIALS))
        client.force_login(UserFactory(organization=northwind, security_level=level))
        assert client.get(reverse("invoice_detail", args=[invoice.pk])).status_code == 200
        assert "Recent Invoices for Northwind Traders" in client.get(reverse("home")).text

    def test_manager_level_without_permission_sees_nothing(self, client, manager, invoice):
        SecurityLevel.objects.get(name="Manager").permissions.clear()
        client.force_login(manager)
        assert client.get(reverse("invoice_detail", args=[invoice.pk])).status_code == 404
        assert "Recent Invoices" not in client.get(reverse("home")).text


@pytest.mark.django_db
class TestStaffAndDeactivated:
    def test_staff_find_no_client_invoices(self, client, staff, invoice):
        client.force_login(staff)
        for url in [reverse("invoice_list"), *invoice_urls(invoice)]:
            assert client.get(url).status_code == 404, url

    def test_deactivated_user_loses_session(self, client, manager, invoice):
        client.force_login(manager)
        manager.is_active = False
        manager.save()
        response = client.get(reverse("invoice_detail", args=[invoice.pk]))
        assert response.status_code == 302

    def test_deactivated_organization_loses_session(self, client, manager, invoice):
        client.force_login(manager)
        manager.organization.is_active = False
        manager.organization.save()
        assert client.get(reverse("home")).status_code == 302


@pytest.mark.django_db
def test_unsafe_methods_are_refused_on_read_pages(as_manager, invoice):
    for url in [reverse("home"), reverse("invoice_list"), *invoice_urls(invoice)]:
        assert as_manager.post(url).status_code == 405, url


@pytest.mark.django_db
def test_staff_are_sent_to_the_back_office(client, staff):
    client.force_login(staff)
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"] == "/backoffice/"
