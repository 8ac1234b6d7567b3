"""Pay selected / Pay all due, through the page: one sale for several invoices, partial amounts
only when the provider allows them, and every refusal shown next to its line with nothing written."""

from decimal import Decimal

import pytest
from django.urls import reverse

from remit.outbox.models import EmailKind, OutgoingEmail
from remit.payments.models import Payment, PaymentAllocation
from tests.factories import make_invoice
from tests.payments.conftest import sales_at_gateway
from tests.payments.test_make_payment_view import NEXT_YEAR, card_post

pytestmark = pytest.mark.django_db

URL = reverse("pay_several")


@pytest.fixture
def card_token(sandbox_gateway, gateway):
    return lambda: sandbox_gateway.card_token("4111111111111111", exp=f"12{NEXT_YEAR:02d}")


@pytest.fixture
def invoices(northwind):
    return [
        make_invoice(northwind, total="100.00", number="NW-7001"),
        make_invoice(northwind, total="250.00", number="NW-7002"),
        make_invoice(northwind, total="75.25", number="NW-7003"),
    ]


def post_for(page, invoices, token, **extra):
    data = card_post(page, invoices[0], token)
    data.pop("amount")
    data["invoice"] = [str(i.pk) for i in invoices]
    data.update(extra)
    return data


def test_the_list_and_home_offer_pay_all_due(as_manager, invoices, gateway):
    listing = as_manager.get(reverse("invoice_list")).text
    assert "Pay selected" in listing
    assert "Pay all due" in listing
    assert listing.count('form="pay-selected"') == 3
    assert "Pay all due" in as_manager.get(reverse("home")).text


def test_pay_all_due_for_three_invoices_with_a_new_card_is_one_sale(
    as_manager, invoices, gateway, sandbox_gateway, card_token
):
    page = as_manager.get(URL, {"all": "due", "add": "card"})
    for number, due in (("NW-7001", "$100.00"), ("NW-7002", "$250.00"), ("NW-7003", "$75.25")):
        assert number in page.text
        assert due in page.text
    assert "Total: $425.25" in page.text
    done = as_manager.post(URL, post_for(page, invoices, card_token()))
    assert "Payment has been processed" in done.text, done.text
    assert len(sales_at_gateway(sandbox_gateway)) == 1
    payment = Payment.objects.get()
    assert payment.amount == Decimal("425.25")
    for invoice in invoices:
        invoice.refresh_from_db()
        assert invoice.amount_due == 0
        assert invoice.number in done.text
    assert OutgoingEmail.objects.filter(kind=EmailKind.RECEIPT, payment=payment).count() == 1


def test_a_tampered_amount_is_ignored_when_partial_payments_are_off(
    as_manager, invoices, gateway, card_token
):
    page = as_manager.get(URL, {"invoice": [invoices[0].pk, invoices[1].pk], "add": "card"})
    assert 'name="amount-' not in page.text  # nothing to edit
    data = post_for(page, invoices[:2], card_token(), **{f"amount-{invoices[0].pk}": "1.00"})
    assert "Payment has been processed" in as_manager.post(URL, data).text
    assert Payment.objects.get().amount == Decimal("350.00")


def test_a_partial_payment_when_allowed(as_manager, invoices, gateway, provider, card_token):
    provider.partial_payments_allowed = True
    provider.save()
    page = as_manager.get(URL, {"invoice": [invoices[0].pk], "add": "card"})
    assert f'name="amount-{invoices[0].pk}"' in page.text
    data = post_for(page, invoices[:1], card_token(), **{f"amount-{invoices[0].pk}": "40.00"})
    assert "Payment has been processed" in as_manager.post(URL, data).text
    invoices[0].refresh_from_db()
    assert invoices[0].amount_due == Decimal("60.00")
    listing = as_manager.get(URL, {"invoice": [invoices[0].pk]}).text
    assert "Partly paid" in listing
    assert "$60.00" in listing


def test_an_over_payment_is_refused_next_to_its_line(
    as_manager, invoices, gateway, provider, sandbox_gateway, card_token
):
    provider.partial_payments_allowed = True
    provider.save()
    page = as_manager.get(URL, {"invoice": [invoices[0].pk], "add": "card"})
    data = post_for(page, invoices[:1], card_token(), **{f"amount-{invoices[0].pk}": "100.01"})
    answer = as_manager.post(URL, data)
    assert answer.status_code == 200
    assert f'id="amount-{invoices[0].pk}-error"' in answer.text
    assert "At most $100.00 is due on invoice NW-7001." in answer.text
    assert 'value="100.01"' in answer.text  # what the user typed is kept
    assert not PaymentAllocation.objects.exists()
    assert sales_at_gateway(sandbox_gateway) == []


def test_another_organizations_invoice_is_refused(
    as_manager, invoices, contoso_invoice, gateway, sandbox_gateway, card_token
):
    page = as_manager.get(URL, {"invoice": [invoices[0].pk], "add": "card"})
    data = post_for(page, [invoices[0], contoso_invoice], card_token())
    answer = as_manager.post(URL, data)
    assert "One of the selected invoices was not found." in answer.text
    assert "CT-2001" not in answer.text
    assert not Payment.objects.exists()
    assert sales_at_gateway(sandbox_gateway) == []


def test_an_empty_selection_says_so(as_manager, invoices, gateway):
    assert "Select at least one invoice" in as_manager.get(URL).text
