"""The Payments page (the organization's payments, newest first, with receipts) and the receipt
PDF: each invoice with the amount applied and what is still due, the method's last four, the
gateway's transaction id; another organization's payment is not found."""

import uuid
import zlib

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from remit.payments.services.several import pay_invoices
from tests.factories import make_invoice, manager_of
from tests.payments.conftest import new_card

pytestmark = pytest.mark.django_db


def pdf_text(body: bytes) -> bytes:
    text = b""
    for chunk in body.split(b"stream\n")[1:]:
        raw = chunk.split(b"\nendstream")[0]
        try:
            text += zlib.decompress(raw)
        except zlib.error:
            text += raw
    return text


def pay(user, invoices, gateway):
    return pay_invoices(
        user=user,
        selection=[(i.pk, None) for i in invoices],
        attempt_key=uuid.uuid4(),
        choice=new_card(),
        gateway=gateway,
    )


def test_the_payments_page_lists_payments_with_their_invoices_and_receipts(
    as_manager, manager, northwind, gateway
):
    a = make_invoice(northwind, total="10.00", number="NW-8001")
    b = make_invoice(northwind, total="20.00", number="NW-8002")
    payment = pay(manager, [a, b], gateway)
    page = as_manager.get(reverse("payment_list")).text
    assert "NW-8001" in page
    assert "NW-8002" in page
    assert "$30.00" in page
    assert reverse("payment_receipt_pdf", args=[payment.public_id]) in page


def test_the_payments_page_makes_the_same_queries_whatever_the_number_of_payments(
    as_manager, manager, northwind, gateway
):
    pay(manager, [make_invoice(northwind, total="10.00")], gateway)
    as_manager.get(reverse("payment_list"))  # warm: the provider and permissions are then cached
    with CaptureQueriesContext(connection) as one:
        as_manager.get(reverse("payment_list"))
    for _ in range(3):
        pay(manager, [make_invoice(northwind, total="10.00") for _ in range(3)], gateway)
    with CaptureQueriesContext(connection) as many:
        as_manager.get(reverse("payment_list"))
    assert len(many) == len(one)


def test_the_receipt_pdf_lists_each_invoice_and_the_method(as_manager, manager, northwind, gateway):
    a = make_invoice(northwind, total="10.00", number="NW-8101")
    b = make_invoice(northwind, total="20.50", number="NW-8102")
    payment = pay(manager, [a, b], gateway)
    response = as_manager.get(reverse("payment_receipt_pdf", args=[payment.public_id]))
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    text = pdf_text(response.content)
    for expected in [b"RECEIPT", b"NW-8101", b"NW-8102", b"$30.50", b"$20.50", b"1111"]:
        assert expected in text, expected
    assert payment.transaction_id.encode() in text
    assert b"4111111111111111" not in response.content


def test_another_organizations_receipt_is_not_found(client, manager, northwind, contoso, gateway):
    payment = pay(manager, [make_invoice(northwind, total="10.00")], gateway)
    client.force_login(manager_of(contoso, email="ap@contoso.example"))
    assert client.get(reverse("payment_receipt_pdf", args=[payment.public_id])).status_code == 404
    assert str(payment.public_id) not in client.get(reverse("payment_list")).text
