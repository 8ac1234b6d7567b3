import pytest
from django.urls import reverse
from fpdf import FPDF  # noqa: F401  (the renderer is pure Python)

from tests.factories import make_invoice
from tests.payments.test_payments_page import pdf_text


@pytest.mark.django_db
def test_pdf_is_a_real_pdf_naming_the_invoice(as_manager, northwind):
    invoice = make_invoice(northwind, number="NW-7001", total="2957.00")
    invoice.lines.create(description="Onsite visit", quantity=2, unit_price="0.00", amount="0.00")
    response = as_manager.get(reverse("invoice_pdf", args=[invoice.pk]))
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="invoice-NW-7001.pdf"'
    body = response.content
    assert body.startswith(b"%PDF-1.")
    assert body.rstrip().endswith(b"%%EOF")
    assert b"/Title (Invoice NW-7001)" in body or b"Invoice NW-7001" in body


@pytest.mark.django_db
def test_pdf_text_shows_amounts(as_manager, northwind):
    """Decompress the page stream and look for what a reader would see."""
    invoice = make_invoice(northwind, number="NW-7002", total="1234.56", paid="234.56")
    text = pdf_text(as_manager.get(reverse("invoice_pdf", args=[invoice.pk])).content)
    for expected in [b"NW-7002", b"$1,234.56", b"$234.56", b"$1,000.00", b"Northwind Traders"]:
        assert expected in text, expected


@pytest.mark.django_db
def test_a_cached_pdf_is_drawn_again_after_any_change(as_manager, northwind, provider):
    """The PDF is kept in the cache, keyed by what it is drawn from: a payment, a new line, the
    provider's or the organization's name each give a new document."""
    from remit.billing.models import Invoice

    invoice = make_invoice(northwind, number="NW-7003", total="500.00")
    url = reverse("invoice_pdf", args=[invoice.pk])
    first = as_manager.get(url).content
    assert as_manager.get(url).content == first  # from the cache
    Invoice.objects.filter(pk=invoice.pk).update(amount_paid="200.00")  # as a payment does
    assert b"$300.00" in pdf_text(as_manager.get(url).content)
    invoice.lines.create(description="Extra cabling", quantity=1, unit_price="0.00", amount="0.00")
    assert b"Extra cabling" in pdf_text(as_manager.get(url).content)
    provider.name = "Renamed Provider IT"
    provider.save()
    assert b"Renamed Provider IT" in pdf_text(as_manager.get(url).content)
    northwind.name = "Northwind Holdings"
    northwind.save()
    assert b"Northwind Holdings" in pdf_text(as_manager.get(url).content)
