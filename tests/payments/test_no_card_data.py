"""Pay by card and by eCheck through the window, with "Save payment information", then search
everything Remit keeps — every table of its database, every log record, every email, every task
payload, every page it answered — for the card number, the CVV and the account number."""

import logging
import re

import pytest
from django.core import mail
from django.db import connection
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from remit.payments.models import Payment, PaymentMethod, PaymentState
from tests.factories import make_invoice
from tests.payments.conftest import ROUTING, run_worker
from tests.payments.test_make_payment_view import attempt_key, card_post

CARD = "5431111111111111"  # NMI's test Mastercard
CVV = "739"
ACCOUNT = "98765432101"
DECLINED = "4000000000000002"


def secrets_found(text: str) -> list[str]:
    found = [secret for secret in (CARD, ACCOUNT, DECLINED) if secret in text]
    # The CVV is short: count it only where it stands alone, not inside ids, hex or amounts.
    if re.search(rf"(?<![0-9A-Za-z.]){CVV}(?![0-9A-Za-z])", text):
        found.append("cvv")
    return found


def database_dump() -> str:
    parts = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            parts.append(f"## {table}\n" + "\n".join(repr(row) for row in cursor.fetchall()))
    return "\n".join(parts)


@pytest.mark.django_db
def test_no_card_or_account_number_anywhere(
    as_manager, northwind, gateway, sandbox_gateway, caplog
):
    caplog.set_level(logging.DEBUG)
    pages = []
    card_invoice = make_invoice(northwind, total="310.00", number="NW-4001")
    bank_invoice = make_invoice(northwind, total="420.00", number="NW-4002")
    url = reverse("make_payment", args=[card_invoice.pk])
    # The numbers go to the sandbox's hosted-field endpoints, as the iframes send them; Remit
    # gets the tokens.
    declined_token = sandbox_gateway.card_token(DECLINED, cvv=CVV)
    card_token = sandbox_gateway.card_token(CARD, cvv=CVV)
    bank_token = sandbox_gateway.check_token(ACCOUNT, ROUTING, name="Northwind Traders")

    # A declined attempt first: the page comes back with errors and must not echo anything.
    window = as_manager.get(url, {"add": "card"})
    pages.append(window.text)
    declined = as_manager.post(
        url, card_post(window, card_invoice, declined_token, **{"card-save": "on"})
    )
    pages.append(declined.text)
    # A bad ZIP: a validation error, nothing sent.
    invalid = as_manager.post(
        url, card_post(declined, card_invoice, card_token, **{"card-zip": "1"})
    )
    pages.append(invalid.text)
    paid = as_manager.post(
        url, card_post(declined, card_invoice, card_token, **{"card-save": "on"})
    )
    pages.append(paid.text)
    assert "Payment has been processed" in paid.text

    bank_url = reverse("make_payment", args=[bank_invoice.pk])
    bank_window = as_manager.get(bank_url, {"add": "bank"})
    echeck = as_manager.post(
        bank_url,
        {
            "attempt_key": attempt_key(bank_window),
            "amount": "420.00",
            "method": "new_bank",
            "confirmed": "yes",
            "authorize": "on",
            "payment_token": bank_token,
            "bank-account_holder_type": "business",
            "bank-account_type": "checking",
            "bank-first_name": "Nancy",
            "bank-last_name": "Davolio",
            "bank-company": "Northwind Traders",
            "bank-address1": "1 Main St",
            "bank-city": "Seattle",
            "bank-state": "WA",
            "bank-zip": "98122",
            "bank-country": "US",
            "bank-save": "on",
        },
    )
    pages.append(echeck.text)
    assert "Payment submitted — pending until your bank settles it" in echeck.text
    pages.append(as_manager.get(reverse("payment_methods")).text)
    pages.append(as_manager.get(reverse("invoice_detail", args=[card_invoice.pk])).text)

    run_worker()  # the receipts

    # What was kept is real and masked — the search below would see the numbers if they were here.
    assert Payment.objects.filter(state=PaymentState.APPROVED, method_last4="1111").exists()
    assert Payment.objects.filter(state=PaymentState.PENDING, method_last4="2101").exists()
    assert PaymentMethod.objects.count() == 2
    dump = database_dump()
    assert "Mastercard" in dump
    assert "2101" in dump
    assert secrets_found(f"x{CARD}x {ACCOUNT} cvv {CVV}.") == [CARD, ACCOUNT, "cvv"]

    logs = "\n".join(record.getMessage() + str(record.exc_text or "") for record in caplog.records)
    emails = "\n".join(
        f"{m.subject}\n{m.to}\n{m.body}\n"
        + "\n".join(str(a[0]) for a in getattr(m, "alternatives", []))
        for m in mail.outbox
    )
    assert len(mail.outbox) == 2
    payloads = "\n".join(
        f"{job.task_path} {job.args_kwargs} {job.return_value}"
        for job in DBTaskResult.objects.all()
    )
    assert DBTaskResult.objects.exists()

    assert secrets_found(dump) == []
    assert secrets_found(logs) == []
    assert secrets_found(emails) == []
    assert secrets_found(payloads) == []
    assert secrets_found("\n".join(pages)) == []
