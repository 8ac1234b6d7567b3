"""The card-testing limits hold under concurrency: many attempts at once, on different invoices, make
at most the limit's declined sales. A sale's outcome is known only after the gateway call, so a
payment still in flight holds a place under the limits until its outcome is recorded.

Real threads, one database connection each (PostgreSQL row locks; on SQLite, its one writer), the
sandbox gateway over HTTP."""

import uuid

import pytest

from remit.payments.models import LimitEvent, Payment, PaymentBlock, PaymentState
from remit.payments.services import BUSY_MESSAGE, PaymentRefused, pay_invoice
from tests.factories import make_invoice, manager_of
from tests.payments.conftest import DECLINED_CARD, new_card, sales_at_gateway
from tests.payments.test_concurrency import run_together

ATTEMPTS = 12
LIMIT = 3
HIGH = 1000


def limits(settings, **tight):
    settings.PAYMENT_LIMITS = {
        "failures_per_user_per_hour": HIGH,
        "failures_per_organization_per_hour": HIGH,
        "failures_per_ip_per_hour": HIGH,
        "new_methods_per_user_per_day": HIGH,
        "new_methods_per_organization_per_day": HIGH,
        "new_methods_per_ip_per_day": HIGH,
        **tight,
    }


def attempt(user, invoice, gateway, ip="198.51.100.20"):
    try:
        return pay_invoice(
            user=user,
            invoice=invoice,
            attempt_key=uuid.uuid4(),
            choice=new_card(DECLINED_CARD),
            ip_address=ip,
            gateway=gateway,
        ).state
    except PaymentRefused as refused:
        return refused.code


@pytest.mark.django_db(transaction=True)
def test_concurrent_declines_by_one_user_stop_at_the_limit(
    gateway, sandbox_gateway, northwind, settings
):
    limits(settings, failures_per_user_per_hour=LIMIT)
    payer = manager_of(northwind, email="tester@northwind.example")
    targets = [make_invoice(northwind, total=f"{20 + n}.00") for n in range(ATTEMPTS)]

    outcomes = run_together(ATTEMPTS, lambda i: attempt(payer, targets[i], gateway))

    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    declined = outcomes.count(PaymentState.DECLINED)
    assert 1 <= declined <= LIMIT, outcomes
    assert set(outcomes) <= {PaymentState.DECLINED, "busy", "blocked"}, outcomes
    # What the gateway saw: no more sales than the limit allows.
    assert len(sales_at_gateway(sandbox_gateway)) == declined <= LIMIT
    assert Payment.objects.count() == declined
    # Once the limit's failures are in, the payer is paused.
    if declined == LIMIT:
        assert PaymentBlock.objects.filter(scope="user", key=str(payer.pk)).count() == 1
        assert attempt(payer, targets[0], gateway) == "blocked"
        assert len(sales_at_gateway(sandbox_gateway)) == declined


@pytest.mark.django_db(transaction=True)
def test_concurrent_declines_from_one_address_by_many_people(
    gateway, sandbox_gateway, northwind, contoso, settings
):
    limits(settings, failures_per_ip_per_hour=LIMIT)
    people = [
        manager_of(northwind if n % 2 else contoso, email=f"p{n}@ip.example")
        for n in range(ATTEMPTS)
    ]
    targets = [
        make_invoice(person.organization, total=f"{40 + n}.00") for n, person in enumerate(people)
    ]

    outcomes = run_together(ATTEMPTS, lambda i: attempt(people[i], targets[i], gateway))

    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    assert 1 <= outcomes.count(PaymentState.DECLINED) <= LIMIT, outcomes
    assert len(sales_at_gateway(sandbox_gateway)) <= LIMIT
    assert LimitEvent.objects.filter(kind="failure").count() <= LIMIT


@pytest.mark.django_db
def test_a_payment_in_flight_holds_a_place_under_the_limit(
    pay, gateway, sandbox_gateway, northwind, manager, settings
):
    """One failure allowed, one payment still being processed: the next attempt waits (no gateway
    call) rather than risk a second failure; once the first is approved, payment goes ahead."""
    limits(settings, failures_per_user_per_hour=1)
    first, second = make_invoice(northwind, total="31.00"), make_invoice(northwind, total="32.00")
    in_flight = pay(first, new_card())
    Payment.objects.filter(pk=in_flight.pk).update(state=PaymentState.UNKNOWN)
    sales = len(sales_at_gateway(sandbox_gateway))

    with pytest.raises(PaymentRefused) as refused:
        pay(second, new_card())
    assert refused.value.code == "busy"
    assert refused.value.message == BUSY_MESSAGE
    assert len(sales_at_gateway(sandbox_gateway)) == sales
    assert not PaymentBlock.objects.exists()  # nothing failed: no block

    Payment.objects.filter(pk=in_flight.pk).update(state=PaymentState.APPROVED)
    assert pay(second, new_card()).state == PaymentState.APPROVED
