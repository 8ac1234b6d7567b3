import pytest
from django.urls import reverse
from fpdf import FPDF  # noqa: F401  (the renderer is pure Python)

from tests.factories import make_invoice


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
    import zlib

    invoice = make_invoice(northwind, number="NW-7002", total="1234.56", paid="234.56")
    body = as_manager.get(reverse("invoice_pdf", args=[invoice.pk])).content
    text = b""
    for chunk in body.split(b"stream\n")[1:]:
        raw = chunk.split(b"\nendstream")[0]
        try:
            text += zlib.decompress(raw)
        except zlib.error:
            text += raw
    for expected in [b"NW-7002", b"$1,234.56", b"$234.56", b"$1,000.00", b"Northwind Traders"]:
        assert expected in text, expected
