"""Periodic reconciliation cannot starve: a payment left processing by a crashed web worker, or
unknown, is looked up by the next periodic run however many payments are being watched (approved
cards not yet settled, pending eChecks, settled eChecks within their return window), and the watched
set itself is paged through within RECONCILE_MAX_INTERVAL whatever its size.

The defect: the run took the first 500 by last_checked_at, and PostgreSQL sorts the never-checked
(NULL) last — a charged client's invoice stayed blocked "already being processed"."""

import datetime
import uuid
from decimal import Decimal

import pytest
from django.utils import timezone

from remit.core.periodic import enqueue_due_jobs
from remit.payments.models import Payment, PaymentState
from remit.payments.services import IN_FLIGHT_MESSAGE, PaymentRefused
from tests.factories import make_invoice
from tests.payments.conftest import new_card, run_worker, sales_at_gateway

pytestmark = pytest.mark.django_db

WATCHED = 1_000


def watch(organization, payer, count: int = WATCHED) -> list[int]:
    """`count` approved card payments waiting to settle, each looked up 2 to 50 minutes ago."""
    invoice = make_invoice(organization, total="25.00", number=f"NW-W{uuid.uuid4().hex[:6]}")
    now = timezone.now()
    rows = [
        Payment(
            invoice=invoice,
            organization=organization,
            payer=payer,
            attempt_key=uuid.uuid4(),
            request_fingerprint="watched",
            state=PaymentState.APPROVED,
            amount=Decimal("25.00"),
            applied_amount=Decimal("25.00"),
            method_kind="card",
            method_brand="Visa",
            method_last4="1111",
            transaction_id=f"W{n}",
            created_at=now - datetime.timedelta(days=2),
            last_checked_at=now - datetime.timedelta(minutes=2, seconds=(n * 7) % 2880),
        )
        for n in range(count)
    ]
    return [p.pk for p in Payment.objects.bulk_create(rows, batch_size=500)]


def orphan(pay, invoice, **fields) -> Payment:
    """Charged at the gateway, then the web worker died before phase three: still `processing`."""
    payment = pay(invoice, new_card())
    assert payment.state == PaymentState.APPROVED
    Payment.objects.filter(pk=payment.pk).update(
        state=PaymentState.PROCESSING,
        applied_amount=0,
        created_at=timezone.now() - datetime.timedelta(minutes=5),
        **fields,
    )
    type(invoice).objects.filter(pk=invoice.pk).update(amount_paid=0)
    return payment


def next_periodic_run() -> None:
    assert "reconcile-payments" in enqueue_due_jobs()
    run_worker()


def test_an_orphan_never_checked_is_finished_by_the_next_run_behind_1000_watched(
    pay, manager, northwind, due_invoice, sandbox_gateway, settings
):
    settings.RECONCILE_BATCH = 50  # the watched set needs 17 a run (1,000 over 60 runs an hour)
    watch(northwind, manager)
    payment = orphan(pay, due_invoice, last_checked_at=None)
    with pytest.raises(PaymentRefused, match=IN_FLIGHT_MESSAGE):
        pay(due_invoice, new_card())  # blocked, as the client saw it

    next_periodic_run()

    payment.refresh_from_db()
    due_invoice.refresh_from_db()
    assert payment.state == PaymentState.APPROVED
    assert due_invoice.amount_paid == Decimal("1234.00")
    assert len(sales_at_gateway(sandbox_gateway)) == 1  # found, never charged again


def test_an_unknown_payment_checked_a_minute_ago_still_goes_before_the_watched_set(
    pay, manager, northwind, due_invoice, sandbox_gateway, settings
):
    """Its first look-up came too early (or failed): it is now the most recently checked — behind
    every watched payment in a plain oldest-checked-first order, on SQLite as on PostgreSQL."""
    settings.RECONCILE_BATCH = 50
    watch(northwind, manager)
    sandbox_gateway.set_fault("drop_after_approve")
    payment = pay(due_invoice, new_card())
    assert payment.state == PaymentState.UNKNOWN
    Payment.objects.filter(pk=payment.pk).update(
        last_checked_at=timezone.now() - datetime.timedelta(minutes=1)
    )

    next_periodic_run()

    payment.refresh_from_db()
    assert payment.state == PaymentState.APPROVED
    assert len(sales_at_gateway(sandbox_gateway)) == 1


def test_the_watched_set_is_paged_through_within_the_max_interval(manager, northwind, settings):
    """1,000 watched, batches of 10, RECONCILE_MAX_INTERVAL 10 minutes at one run a minute: each run
    takes at least a tenth, so ten runs check every one; an urgent payment arriving meanwhile is
    the first of the very next run."""
    from remit.payments.reconcile import claim_batch

    settings.RECONCILE_BATCH = 10
    settings.RECONCILE_EVERY = 60
    settings.RECONCILE_MAX_INTERVAL = 600
    watched = set(watch(northwind, manager))
    urgent_invoice = make_invoice(northwind, total="80.00")
    now = timezone.now()
    seen: set[int] = set()
    for run in range(10):
        now += datetime.timedelta(seconds=60)
        if run == 4:
            late = Payment.objects.create(
                invoice=urgent_invoice,
                organization=northwind,
                payer=manager,
                attempt_key=uuid.uuid4(),
                request_fingerprint="late",
                state=PaymentState.UNKNOWN,
                amount=Decimal("80.00"),
                method_kind="card",
                last_checked_at=now - datetime.timedelta(seconds=5),  # just looked up, no answer
            )
        batch = claim_batch(now)
        if run == 4:
            assert batch[0] == late.pk
        assert len(batch) >= 100
        seen.update(batch)
    assert watched <= seen
    checked = Payment.objects.filter(pk__in=watched).values_list("last_checked_at", flat=True)
    assert min(checked) > timezone.now()  # every one was taken up by these (future) runs


def test_never_checked_come_first_within_the_watched_set(manager, northwind, settings):
    from remit.payments.reconcile import claim_batch

    settings.RECONCILE_BATCH = 5
    watch(northwind, manager, count=30)
    fresh = watch(northwind, manager, count=3)
    Payment.objects.filter(pk__in=fresh).update(last_checked_at=None)
    assert set(claim_batch()[:3]) == set(fresh)
