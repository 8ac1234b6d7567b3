"""Periodic reconciliation that cannot starve, and the alert for payments stuck in flight.

Each periodic run claims a batch of the payments the gateway knows more about
(`services.payments_to_reconcile`) and looks each up by order id (`services.reconcile_payment`):

1. **Urgent first**: every payment `unknown`, or `processing` past RECONCILE_PROCESSING_GRACE —
   a web worker died mid-call or the first look-up failed; the client may have been charged and the
   invoice is blocked "already being processed". Never-checked first, then the longest unchecked.
2. **Then the watched set** (approved cards until they settle, pending eChecks, settled eChecks within
   their return window), the same order: never-checked first, then the longest unchecked.

A batch is RECONCILE_BATCH payments, or more: each tier takes at least its size divided by the number
of runs in RECONCILE_MAX_INTERVAL, so whatever the size of the watched set, the whole of it is paged
through — and no payment goes unchecked — for longer than about RECONCILE_MAX_INTERVAL.

Claiming stamps `last_checked_at` before the look-ups, in one short transaction that skips rows
another run has locked (PostgreSQL): runs that overlap take different payments, and a payment whose
look-up fails moves to the back of its tier instead of blocking the head of it.

Why never-checked first must be spelled out: PostgreSQL sorts NULL *last* in ascending order (SQLite
first), so "order by last_checked_at" alone left never-checked payments behind every watched one.
"""

from __future__ import annotations

import datetime
import logging
import math

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from remit.audit.services import record_event
from remit.gateway import GatewayNotConfigured, get_gateway
from remit.payments.models import Payment, PaymentState, Refund, RefundState

logger = logging.getLogger(__name__)

STUCK_STATES = (PaymentState.PROCESSING, PaymentState.UNKNOWN)
LONGEST_UNCHECKED_FIRST = (F("last_checked_at").asc(nulls_first=True), "id")


def _tiers(now: datetime.datetime) -> tuple[QuerySet, QuerySet]:
    from remit.payments.services import payments_to_reconcile

    watched = payments_to_reconcile(now)
    urgent = Q(state__in=STUCK_STATES)
    return (
        watched.filter(urgent).order_by(*LONGEST_UNCHECKED_FIRST),
        watched.exclude(urgent).order_by(*LONGEST_UNCHECKED_FIRST),
    )


def _runs_per_interval() -> int:
    return max(1, int(settings.RECONCILE_MAX_INTERVAL // max(settings.RECONCILE_EVERY, 1)))


def claim_batch(now: datetime.datetime | None = None) -> list[int]:
    """The ids this run looks up, urgent first; their `last_checked_at` is set to now."""
    now = now or timezone.now()
    batch = settings.RECONCILE_BATCH
    runs = _runs_per_interval()
    claimed: list[int] = []
    with transaction.atomic():
        for tier in _tiers(now):
            share = math.ceil(tier.count() / runs)
            take = max(batch - len(claimed), share)
            if take <= 0:
                continue
            # Chosen first, locked second: FOR UPDATE over the ordered query would make PostgreSQL
            # sort every watched row instead of keeping the top few (250 ms at 100,000, not 60).
            chosen = list(tier.values_list("pk", flat=True)[:take])
            free = set(
                Payment.objects.filter(pk__in=chosen)
                .select_for_update(skip_locked=True)
                .values_list("pk", flat=True)
            )
            claimed += [pk for pk in chosen if pk in free]
        Payment.objects.filter(pk__in=claimed).update(last_checked_at=now)
    return claimed  # urgent first: that tier was queried first


def run_reconciliation(now: datetime.datetime | None = None) -> dict[str, int]:
    """One periodic run: claim a batch, look each payment up, finish refunds being confirmed, then
    alert staff about payments stuck past RECONCILE_ALERT_AFTER. Returns {state after: count}."""
    from remit.payments.services import reconcile_payment, reconcile_refund

    now = now or timezone.now()
    counts: dict[str, int] = {}
    try:
        gateway = get_gateway()
    except GatewayNotConfigured:
        gateway = None
        logger.warning("reconciliation skipped: the gateway is not configured")
    if gateway is not None:
        for payment_id in claim_batch(now):
            try:
                state = reconcile_payment(payment_id, gateway=gateway)
            except Exception:  # one broken record must not stop the others
                logger.exception("reconciling payment %s failed", payment_id)
                state = "error"
            counts[state] = counts.get(state, 0) + 1
        for refund_id in Refund.objects.filter(state=RefundState.UNKNOWN).values_list(
            "pk", flat=True
        ):
            try:
                reconcile_refund(refund_id, gateway=gateway)
            except Exception:
                logger.exception("reconciling refund %s failed", refund_id)
    alerted = alert_stuck_payments()
    if alerted:
        counts["alerted"] = len(alerted)
    return counts


def stuck_payments(now: datetime.datetime | None = None) -> QuerySet:
    """Processing or unknown for longer than RECONCILE_ALERT_AFTER."""
    now = now or timezone.now()
    since = now - datetime.timedelta(seconds=settings.RECONCILE_ALERT_AFTER)
    return Payment.objects.filter(state__in=STUCK_STATES, created_at__lt=since)


def alert_stuck_payments(now: datetime.datetime | None = None) -> list[int]:
    """Alert staff once per payment stuck in flight: an audit event and an email to staff, in the
    transaction that marks it alerted (the back office's badge counts alerted, still-stuck ones)."""
    from remit.outbox.models import EmailKind
    from remit.outbox.services import email_queue

    now = now or timezone.now()
    alerted = []
    candidates = stuck_payments(now).filter(stuck_alerted_at__isnull=True)
    for payment_id in candidates.values_list("pk", flat=True)[:500]:
        with transaction.atomic():
            payment = (
                stuck_payments(now)
                .filter(pk=payment_id, stuck_alerted_at__isnull=True)
                .select_for_update(of=("self",))
                .select_related("invoice")
                .first()
            )
            if payment is None:  # finished meanwhile, or another worker alerted
                continue
            payment.stuck_alerted_at = now
            payment.save(update_fields=["stuck_alerted_at"])
            minutes = int((now - payment.created_at).total_seconds() // 60)
            record_event(
                "payment.stuck",
                actor_label="reconcile",
                outcome="failure",
                obj=payment,
                summary=f"Payment {payment.order_id} for invoice {payment.invoice.number} has "
                f"been {payment.get_state_display().lower()} for {minutes} minutes",
                order_id=payment.order_id,
                state=payment.state,
            )
            email_queue(EmailKind.STUCK_PAYMENT, payment=payment)
            alerted.append(payment.pk)
    return alerted


def stuck_alerted() -> QuerySet:
    """What the back office's badge counts: alerted and still in flight."""
    return Payment.objects.filter(state__in=STUCK_STATES, stuck_alerted_at__isnull=False)
