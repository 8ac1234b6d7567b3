"""A saved-card payment through Make a Payment runs a fixed, small number of SQL statements
(issue 15): each one is a round trip to PostgreSQL inside Remit's own time per payment. The 14:
the user, the invoice and the saved methods (the view); phase one's savepoint, invoice lock, one
statement taking the card-testing scopes' locks and looking up the attempt key and the payments in
flight, the limits' counts, its writes in one round trip, its release; phase three's savepoint,
payment lock (reserving the receipt's id), allocations and invoices locked, its writes in one round
trip (the receipt's row among them), its release (in production each savepoint and release is a
BEGIN and a COMMIT)."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from remit.payments.models import PaymentBlock, PaymentMethod, PaymentState
from tests.factories import make_invoice
from tests.payments.conftest import new_card, sales_at_gateway
from tests.payments.test_make_payment_view import post, saved_post, window

pytestmark = pytest.mark.django_db

EXPECTED = 14  # two transactions of one round trip of writes each (remit/core/batch.py)


def test_a_saved_card_payment_runs_a_fixed_number_of_statements(
    as_manager, manager, northwind, pay, due_invoice
):
    if connection.vendor != "postgresql":
        pytest.skip("round trips to PostgreSQL: elsewhere a batch's writes run one by one")
    pay(make_invoice(northwind, total="5.00"), new_card(), save=True)
    method = PaymentMethod.objects.get(owner=manager)
    opened = window(as_manager, due_invoice)  # warms the provider, session, permission caches
    data = saved_post(opened, due_invoice, method)
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


def test_a_confirmed_post_while_paused_is_told_when_the_pause_lifts(
    as_manager, manager, northwind, pay, due_invoice, sandbox_gateway
):
    """The pause notice is not read before a confirmed post (phase one checks the blocks under
    the lock); a payer paused meanwhile is still told when it lifts, and nothing is charged."""
    pay(make_invoice(northwind, total="5.00"), new_card(), save=True)
    method = PaymentMethod.objects.get(owner=manager)
    opened = window(as_manager, due_invoice)
    PaymentBlock.objects.create(
        scope=PaymentBlock.Scope.USER,
        key=str(manager.pk),
        reason="5 failed payments within an hour",
        expires_at=timezone.now() + datetime.timedelta(hours=1),
    )
    sales = len(sales_at_gateway(sandbox_gateway))
    response = post(
        as_manager,
        due_invoice,
        saved_post(opened, due_invoice, method),
    )
    assert "online payment is paused after several unsuccessful attempts, until" in response.text
    assert "Payment has been processed" not in response.text
    assert len(sales_at_gateway(sandbox_gateway)) == sales
    assert not due_invoice.payments.exists()


def test_every_statement_of_a_saved_card_payment_runs_prepared_on_the_server(
    as_manager, manager, northwind, pay, due_invoice
):
    """Look-ups and locks by key and the batches' writes are prepared (remit/settings.py): after
    one payment, the next runs no statement PostgreSQL parses afresh — only the savepoints
    (BEGIN and COMMIT in production)."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's prepared statements")
    pay(make_invoice(northwind, total="5.00"), new_card(), save=True)
    method = PaymentMethod.objects.get(owner=manager)
    first = make_invoice(northwind, total="7.00")
    post(as_manager, first, saved_post(window(as_manager, first), first, method))
    data = saved_post(window(as_manager, due_invoice), due_invoice, method)
    unprepared = connection.connection._prepared._counts  # psycopg: queries run unprepared
    before = dict(unprepared)
    response = post(as_manager, due_invoice, data)
    assert "Payment has been processed" in response.text
    ran_unprepared = [
        key[0].decode()
        for key, count in unprepared.items()
        if count > before.get(key, 0)
        and not key[0].startswith((b"SAVEPOINT", b"RELEASE SAVEPOINT", b"ROLLBACK TO"))
    ]
    assert ran_unprepared == []
