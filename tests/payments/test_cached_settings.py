"""What a payment reads from the shared cache instead of the database (whether any webhook endpoint
is active, whether a surcharge or discount is set) follows the rows as soon as they are saved:
the next payment after a change sees it (remit/core/flag_cache.py)."""

import datetime
from decimal import Decimal

import pytest

from remit.payments.models import PaymentMethod
from remit.payments.services import SavedMethod
from remit.payments.surcharge_models import SurchargePolicy
from remit.webhooks.models import WebhookDelivery, WebhookEndpoint
from tests.factories import make_invoice
from tests.payments.conftest import new_card

pytestmark = pytest.mark.django_db


def credit_card(manager) -> PaymentMethod:
    return PaymentMethod.objects.create(
        owner=manager,
        kind="card",
        vault_id="v-credit",
        brand="Visa",
        last4="1111",
        exp_month=12,
        exp_year=datetime.date.today().year + 2,
        card_category="credit",
        billing={"state": "WA"},
    )


def test_an_endpoint_added_after_payments_without_one_gets_the_next_payment(pay, northwind):
    pay(make_invoice(northwind, total="5.00"), new_card())  # no endpoint: nothing delivered
    assert not WebhookDelivery.objects.exists()
    WebhookEndpoint.objects.create(url="https://psa.example/hook", secret="s")
    payment = pay(make_invoice(northwind, total="6.00"), new_card())
    assert WebhookDelivery.objects.get().payment == payment


def test_an_endpoint_turned_off_gets_no_more_events(pay, northwind):
    endpoint = WebhookEndpoint.objects.create(url="https://psa.example/hook", secret="s")
    pay(make_invoice(northwind, total="5.00"), new_card())
    endpoint.is_active = False
    endpoint.save()
    pay(make_invoice(northwind, total="6.00"), new_card())
    assert WebhookDelivery.objects.count() == 1


def test_a_surcharge_turned_on_after_payments_without_one_is_charged_at_once(
    pay, manager, northwind
):
    card = credit_card(manager)
    first = pay(make_invoice(northwind, total="100.00"), SavedMethod(card))
    assert first.surcharge_amount == 0
    policy = SurchargePolicy.load()
    policy.enabled, policy.percent = True, Decimal("3.00")
    policy.acquirer_notified_on = datetime.date.today() - datetime.timedelta(days=40)
    policy.save()
    second = pay(make_invoice(northwind, total="100.00"), SavedMethod(card))
    assert second.surcharge_amount == Decimal("3.00")
    policy.enabled = False
    policy.save()
    third = pay(make_invoice(northwind, total="100.00"), SavedMethod(card))
    assert third.surcharge_amount == 0


@pytest.mark.django_db(transaction=True)
def test_a_change_rolled_back_leaves_no_flag_behind(northwind):
    """Read inside the transaction that changed the table, the flag is not stored: after a rollback
    the endpoint is active again and the next payment's event must find it."""
    from django.db import transaction

    from remit.core import flag_cache
    from remit.webhooks.services import ANY_ACTIVE, _any_active, active_endpoints

    endpoint = WebhookEndpoint.objects.create(url="https://hooks.example/remit")
    assert flag_cache.cached(ANY_ACTIVE, _any_active) is True

    def turn_off_then_fail():
        with transaction.atomic():
            endpoint.is_active = False
            endpoint.save()
            assert active_endpoints("payment.succeeded") == []  # it sees its own change
            raise RuntimeError

    with pytest.raises(RuntimeError):
        turn_off_then_fail()
    assert WebhookEndpoint.objects.get().is_active
    assert flag_cache.cached(ANY_ACTIVE, _any_active) is True
    assert active_endpoints("payment.succeeded") == [endpoint]
