"""The shared cache (Redis across machines) going away costs queries, never a payment: the provider,
the permissions, the payment's flags and the surcharge settings are read from their rows instead,
and the gateway's answer is still recorded (remit/core/shared_cache.py)."""

import pytest
from django.test import override_settings

from remit.payments.models import PaymentMethod, PaymentState
from remit.webhooks.models import WebhookDelivery, WebhookEndpoint
from tests.factories import make_invoice
from tests.payments.conftest import new_card
from tests.payments.test_make_payment_view import post, saved_post, window

pytestmark = pytest.mark.django_db

# Nothing listens on port 1: every cache call fails at once with a connection error.
UNREACHABLE = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
    }
}


@pytest.fixture
def cache_down():
    with override_settings(CACHES=UNREACHABLE):
        from django.core.cache import cache

        with pytest.raises(Exception, match=r"(?i)connect"):
            cache.get("anything")  # the cache really is unreachable
        yield


def test_a_saved_card_payment_is_charged_and_recorded_with_the_cache_down(
    as_manager, manager, northwind, pay, due_invoice, caplog
):
    pay(make_invoice(northwind, total="5.00"), new_card(), save=True)
    method = PaymentMethod.objects.get(owner=manager)
    endpoint = WebhookEndpoint.objects.create(url="https://hooks.example/remit")
    with override_settings(CACHES=UNREACHABLE):
        home = as_manager.get("/")
        assert home.status_code == 200
        assert "Recent Invoices" in home.text
        opened = window(as_manager, due_invoice)
        response = post(
            as_manager,
            due_invoice,
            saved_post(opened, due_invoice, method),
        )
    assert "Payment has been processed" in response.text
    payment = due_invoice.payments.get()
    assert payment.state == PaymentState.APPROVED
    due_invoice.refresh_from_db()
    assert due_invoice.amount_due == 0
    # The endpoint's flag was read from its table: the event is not dropped.
    assert WebhookDelivery.objects.filter(
        endpoint=endpoint, event_type="payment.succeeded"
    ).exists()
    assert "shared cache unavailable" in caplog.text


def test_saving_a_webhook_endpoint_with_the_cache_down_is_logged_not_refused(
    northwind, cache_down, caplog
):
    WebhookEndpoint.objects.create(url="https://hooks.example/remit", description="AP system")
    assert WebhookEndpoint.objects.count() == 1
    assert "not renewed; stale until it expires" in caplog.text
