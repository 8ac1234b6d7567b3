"""Many payers, one invoice, at the same moment — through the real view, on real database connections
(one per thread), against the sandbox gateway. Exactly one sale; everyone else is refused cleanly."""

import threading
import uuid

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from remit.payments.models import Payment, PaymentState
from tests.factories import make_invoice, manager_of
from tests.payments.test_make_payment_view import card_post

THREADS = 20


def run_together(n, work):
    """Start n threads at one barrier; each returns work(i). Each thread closes its connection."""
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def target(i):
        try:
            barrier.wait()
            results[i] = work(i)
        except Exception as error:
            results[i] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db(transaction=True)
class TestOneInvoiceManyPayers:
    def test_twenty_payers_at_once_make_exactly_one_sale(self, gateway, sandbox_gateway, northwind):
        invoice = make_invoice(northwind, total="1234.00", number="NW-3001")
        payers = [
            manager_of(northwind, email=f"payer{i}@northwind.example") for i in range(THREADS)
        ]
        clients = [logged_in(user) for user in payers]
        url = reverse("make_payment", args=[invoice.pk])
        windows = [client.get(url) for client in clients]
        tokens = [sandbox_gateway.card_token("4111111111111111") for _ in range(THREADS)]

        def pay(i):
            return clients[i].post(url, card_post(windows[i], invoice, tokens[i]))

        responses = run_together(THREADS, pay)
        assert not [r for r in responses if isinstance(r, Exception)], responses
        assert sorted({r.status_code for r in responses}) == [200]
        processed = [r for r in responses if "Payment has been processed" in r.text]
        refused = [
            r
            for r in responses
            if "A payment for this invoice is already being processed." in r.text
            or "This invoice is already paid." in r.text
        ]
        assert len(processed) == 1
        assert len(refused) == THREADS - 1
        sales = [s for s in gateway.query(order_id=Payment.objects.get().order_id)]
        assert len(sales) == 1
        assert len(_all_sales(sandbox_gateway)) == 1
        invoice.refresh_from_db()
        assert invoice.amount_paid == invoice.total

    def test_the_same_attempt_key_ten_times_at_once_is_one_sale(
        self, gateway, sandbox_gateway, northwind
    ):
        invoice = make_invoice(northwind, total="250.00", number="NW-3002")
        payer = manager_of(northwind, email="doubleclick@northwind.example")
        client = logged_in(payer)
        url = reverse("make_payment", args=[invoice.pk])
        data = card_post(client.get(url), invoice, sandbox_gateway.card_token("4111111111111111"))
        cookies = client.cookies

        def pay(i):
            c = Client()
            c.cookies = cookies
            return c.post(url, data)

        responses = run_together(10, pay)
        assert not [r for r in responses if isinstance(r, Exception)], responses
        assert {r.status_code for r in responses} == {200}
        assert all(
            "Payment has been processed" in r.text or "already being processed" in r.text
            for r in responses
        )
        assert Payment.objects.count() == 1
        assert Payment.objects.get().state == PaymentState.APPROVED
        assert len(_all_sales(sandbox_gateway)) == 1

    def test_service_level_race_with_different_keys(self, gateway, sandbox_gateway, northwind):
        """pay_invoice itself, without the view's early check: the row lock and the partial
        unique index decide."""
        from remit.payments.services import PaymentRefused, pay_invoice
        from tests.payments.conftest import new_card

        invoice = make_invoice(northwind, total="75.00", number="NW-3003")
        payer = manager_of(northwind, email="racer@northwind.example")

        def pay(i):
            try:
                return pay_invoice(
                    user=payer,
                    invoice=invoice,
                    attempt_key=uuid.uuid4(),
                    choice=new_card(),
                    gateway=gateway,
                ).state
            except PaymentRefused as refused:
                return refused.code

        outcomes = run_together(THREADS, pay)
        assert outcomes.count(PaymentState.APPROVED) == 1, outcomes
        assert set(outcomes) - {PaymentState.APPROVED} <= {"in_flight", "not_payable"}, outcomes
        assert len(_all_sales(sandbox_gateway)) == 1


def _all_sales(sandbox):
    from tests.payments.conftest import sales_at_gateway

    return sales_at_gateway(sandbox)
