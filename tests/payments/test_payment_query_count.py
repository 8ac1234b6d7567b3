"""A saved-card payment through Make a Payment runs a fixed, small number of SQL statements
(issue 15): each one is a round trip to PostgreSQL inside Remit's own time per payment."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from remit.payments.models import PaymentMethod, PaymentState
from tests.factories import make_invoice
from tests.payments.conftest import new_card
from tests.payments.test_make_payment_view import attempt_key, post, window

pytestmark = pytest.mark.django_db

EXPECTED = 15  # two transactions of one round trip of writes each (remit/core/batch.py)


def test_a_saved_card_payment_runs_a_fixed_number_of_statements(
    as_manager, manager, northwind, pay, due_invoice
):
    pay(make_invoice(northwind, total="5.00"), new_card(), save=True)
    method = PaymentMethod.objects.get(owner=manager)
    opened = window(as_manager, due_invoice)  # warms the provider, session, permission caches
    data = {
        "attempt_key": attempt_key(opened),
        "amount": str(due_invoice.amount_due),
        "method": f"saved:{method.pk}",
        "confirmed": "yes",
    }
    with CaptureQueriesContext(connection) as captured:
        response = post(as_manager, due_invoice, data)
    assert "Payment has been processed" in response.text
    # The done page shows what is left to pay now, not what was due before.
    assert "<dt>Amount Due</dt><dd>$0.00" in response.text
    due_invoice.refresh_from_db()
    assert due_invoice.amount_due == 0
    assert due_invoice.payments.get().state == PaymentState.APPROVED
    statements = [query["sql"] for query in captured.captured_queries]
    assert len(statements) == EXPECTED, "\n".join(statements)
