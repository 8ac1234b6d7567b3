"""Invoice numbers come from the PSA and the API: untrusted text. The pages that write their rows
as HTML in Python (Home, Reports > Invoices, the invoice page) escape them as templates would."""

import pytest
from django.urls import reverse

from tests.factories import make_invoice

pytestmark = pytest.mark.django_db

HOSTILE = '<img src=x onerror="alert(1)">&\''


@pytest.fixture
def hostile(northwind):
    return make_invoice(northwind, number=HOSTILE, total="12.34")


@pytest.mark.parametrize("where", ["home", "invoice_list", "invoice_list_paid", "detail"])
def test_an_invoice_number_with_markup_is_shown_as_text(as_manager, hostile, where):
    url = {
        "home": reverse("home"),
        "invoice_list": reverse("invoice_list"),
        "invoice_list_paid": reverse("invoice_list") + "?show_paid=on&sort=amount",
        "detail": reverse("invoice_detail", args=[hostile.pk]),
    }[where]
    page = as_manager.get(url).content.decode()
    assert "<img src=x" not in page
    assert "&lt;img src=x onerror=" in page
