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


def test_a_line_description_with_markup_is_shown_as_text(as_manager, northwind):
    invoice = make_invoice(northwind)
    invoice.lines.update(description=HOSTILE)
    page = as_manager.get(reverse("invoice_detail", args=[invoice.pk])).content.decode()
    assert "<img src=x" not in page
    assert (
        '<td class="cell--wide">&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&amp;&#x27;</td>'
        in page
    )


def test_the_invoice_page_shows_its_items_and_totals_in_the_invoices_currency(
    as_manager, northwind
):
    invoice = make_invoice(northwind, total="1234.50", tax="34.50", paid="200.00")
    invoice.lines.update(quantity="2.5", unit_price="480.00")
    type(invoice).objects.filter(pk=invoice.pk).update(currency="EUR")
    page = as_manager.get(reverse("invoice_detail", args=[invoice.pk])).content.decode()
    assert '<td class="num" data-label="Quantity">2.50</td>' in page
    assert '<td class="num" data-label="Unit Price">480.00 EUR</td>' in page
    for label, amount in [
        ("Subtotal", "1,200.00 EUR"),
        ("Tax", "34.50 EUR"),
        ("Total", "1,234.50 EUR"),
        ("Amount Paid", "200.00 EUR"),
        ("Amount Due", "1,034.50 EUR"),
    ]:
        assert f'<th scope="row">{label}</th><td class="num">{amount}</td>' in page
    assert "<dt>Amount Due</dt><dd>1,034.50 EUR</dd>" in page
    assert "$" not in page.split("<main")[1].split("</main>")[0]


def test_the_payment_history_shows_each_payment_in_its_currency(as_manager, manager, northwind):
    from remit.payments.models import PaymentAllocation
    from tests.backoffice.conftest import make_payment

    invoice = make_invoice(northwind, total="300.00")
    type(invoice).objects.filter(pk=invoice.pk).update(currency="EUR")
    payment = make_payment(invoice, manager, amount="120.00", currency="EUR")
    PaymentAllocation.objects.create(payment=payment, invoice=invoice, amount=payment.amount)
    page = as_manager.get(reverse("invoice_detail", args=[invoice.pk])).content.decode()
    history = page.split("Payment history")[1]
    assert '<td class="num" data-label="Amount">120.00 EUR' in history
    assert "$" not in history.split("</main>")[0]
