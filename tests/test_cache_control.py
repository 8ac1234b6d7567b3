"""Pages and files with financial data are never kept by a shared browser or a proxy: every one of
them answers `Cache-Control: no-store, private` — portal pages, the invoice PDF, Make a Payment,
payment methods, the back office and the API. Static files keep their cache lifetimes."""

import pytest
from django.test import Client
from django.urls import reverse

from remit.payments.models import PaymentMethod
from tests.backoffice.conftest import make_payment
from tests.factories import sign_in_staff

pytestmark = pytest.mark.django_db


def directives(response) -> set[str]:
    return {part.strip().split("=")[0] for part in response.get("Cache-Control", "").split(",")}


def assert_not_stored(response, url):
    assert response.status_code == 200, (url, response.status_code)
    assert {"no-store", "private"} <= directives(response), (url, response.get("Cache-Control"))
    assert "public" not in directives(response), url


@pytest.fixture
def paid(invoice, manager):
    return make_payment(invoice, manager)


@pytest.fixture
def saved_method(manager):
    return PaymentMethod.objects.create(
        owner=manager, kind="card", vault_id="vault-1", brand="Visa", last4="1111"
    )


def test_every_portal_page_and_file(client, manager, invoice, contoso_invoice, saved_method):
    client.force_login(manager)
    urls = [
        reverse("home"),
        reverse("invoice_list"),
        reverse("invoice_detail", args=[invoice.pk]),
        reverse("invoice_pdf", args=[invoice.pk]),
        reverse("make_payment", args=[invoice.pk]),
        reverse("payment_methods"),
    ]
    for url in urls:
        assert_not_stored(client.get(url), url)
    # The dialog as htmx loads it, too.
    url = reverse("make_payment", args=[invoice.pk])
    assert_not_stored(client.get(url, headers={"HX-Request": "true"}), url)


def test_a_posted_payment_answer(client, manager, invoice):
    """The answer to a payment (here a refused one: the gateway is not set up) is a page too."""
    client.force_login(manager)
    url = reverse("make_payment", args=[invoice.pk])
    response = client.post(url, {})
    assert_not_stored(response, url)


def test_every_back_office_page(client, staff, invoice, paid):
    sign_in_staff(client, staff)
    urls = [
        "/backoffice/",
        "/backoffice/payments/payment/",
        f"/backoffice/payments/payment/{paid.pk}/change/",
        "/backoffice/billing/invoice/",
        f"/backoffice/billing/invoice/{invoice.pk}/change/",
        "/backoffice/accounts/organization/",
        f"/backoffice/accounts/organization/{invoice.organization_id}/change/",
        "/backoffice/accounts/user/",
        "/backoffice/audit/auditevent/",
        "/backoffice/payments/paymentblock/",
    ]
    for url in urls:
        assert_not_stored(client.get(url), url)


def test_every_api_answer_with_financial_data(client, paid):
    from remit.api.keys import api_key_create
    from remit.api.models import Scope

    _, key = api_key_create(name="PSA", scopes=Scope.values, created_by=None)
    headers = {"Authorization": f"Bearer {key}"}
    for url in ["/api/payments", f"/api/payments/{paid.public_id}"]:
        assert_not_stored(client.get(url, headers=headers), url)
    body = {
        "organization_external_id": "x",
        "invoice_date": "2026-01-01",
        "due_date": "2026-01-31",
        "lines": [],
    }
    put = client.put("/api/invoices/NW-9", body, content_type="application/json", headers=headers)
    assert {"no-store", "private"} <= directives(put), put.get("Cache-Control")


def test_signed_out_pages_too(client):
    for url in [reverse("login"), reverse("password_reset")]:
        assert_not_stored(Client().get(url), url)


def test_static_files_are_not_affected(client):
    """WhiteNoise answers static files before the middleware: they may be cached."""
    response = client.get("/static/remit/remit.css")
    assert response.status_code == 200
    assert "no-store" not in directives(response)
