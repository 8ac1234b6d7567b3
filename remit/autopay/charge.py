"""The autopay job: find the invoices due for autopay, charge each once.

plan_attempts   one Attempt row per invoice and charge date, inserted with ON CONFLICT DO
                NOTHING: the unique constraint (invoice, charge_date) makes a second impossible,
                whatever the number of workers or their clocks (the charge date is the
                invoice's, not the worker's).
claim           a try is taken by one conditional UPDATE (state due → charging, tries + 1):
                of concurrent workers exactly one gets it.
charge          through remit.payments.services.autopay_charge, with an attempt key derived
                from (attempt, try): the payment's own unique (payer, attempt_key) means a try
                started again (a crash, a stale claim taken over) finds its payment instead of
                charging again. An unknown outcome is left to the existing reconciliation.
settle          the try's payment decides: charged; declined → again on a later day, at most
                twice more, then autopay is paused for the organization and both sides told.
"""

from __future__ import annotations

import datetime
import logging
import uuid
from collections import Counter

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from remit.audit.services import record_event
from remit.autopay.models import Attempt, AttemptState, Enrolment, Trigger
from remit.billing.models import Invoice
from remit.core.models import Provider
from remit.core.money import ZERO, format_money
from remit.payments.models import (
    APPLIED_STATES,
    IN_FLIGHT_STATES,
    Payment,
    PaymentAllocation,
    PaymentState,
)
from remit.payments.services import PaymentRefused, autopay_charge

logger = logging.getLogger(__name__)

ATTEMPT_NAMESPACE = uuid.UUID("6d1f3a52-6c1e-4c57-9a59-3f0d7c1e2b10")
# A claimed try whose worker has not finished it after this long is taken over (it finds its
# payment by attempt key, so it cannot charge twice).
STALE_CLAIM = datetime.timedelta(minutes=10)
# Invoices whose charge date passed longer ago than this (the worker was down) are not charged
# late by surprise; they are left for the client to pay.
LOOKBACK_DAYS = 7
RETRY_AFTER_DAYS = 1
SUCCESS_STATES = (*APPLIED_STATES, PaymentState.PENDING)


def attempt_key(attempt_id: int, try_number: int) -> uuid.UUID:
    return uuid.uuid5(ATTEMPT_NAMESPACE, f"autopay:{attempt_id}:{try_number}")


def charged_by_autopay(payment: Payment) -> bool:
    """Whether `payment` is a try of an autopay attempt of its invoice: its attempt key is one the
    job derives. Reads `payment.invoice.autopay_attempts` (prefetched by the API's
    payments_represented, so a page of payments costs one query more, not one per payment)."""
    keys = {
        attempt_key(attempt.pk, try_number)
        for attempt in payment.invoice.autopay_attempts.all()
        for try_number in range(1, Attempt.MAX_TRIES + 1)
    }
    return payment.attempt_key in keys


def provider_today(provider: Provider, now: datetime.datetime | None = None) -> datetime.date:
    return timezone.localdate(now or timezone.now(), provider.zone)


def run_autopay(*, gateway=None, now: datetime.datetime | None = None) -> dict:
    """One run of the periodic job (safe to run on any number of workers at once)."""
    provider = Provider.load()
    if not provider.autopay_enabled:
        return {"enabled": False}
    now = now or timezone.now()
    today = provider_today(provider, now)
    counts: Counter = Counter(planned=plan_attempts(today))
    for attempt_id in _open_tries(now):  # crashed or slow workers' tries, and unknown outcomes
        counts[
            f"resumed_{finish_try(attempt_id, gateway=gateway, provider=provider, now=now)}"
        ] += 1
    due = Attempt.objects.filter(state=AttemptState.DUE, next_try_on__lte=today).order_by("id")
    for attempt_id, tries in due.values_list("id", "tries").iterator(chunk_size=500):
        if not _claim(attempt_id, tries, now):
            counts["taken_by_another_worker"] += 1
            continue
        counts[str(charge_try(attempt_id, gateway=gateway, provider=provider, today=today))] += 1
    return dict(counts)


def invoices_charged_between(enrolment: Enrolment, first: datetime.date, last: datetime.date):
    """The open invoices of the enrolment's organization whose charge date is in [first, last]."""
    invoices = Invoice.objects.filter(
        organization_id=enrolment.organization_id,
        state=Invoice.State.ISSUED,
        amount_due__gt=ZERO,
    )
    if enrolment.trigger == Trigger.DUE_DATE:
        return invoices.filter(due_date__gte=first, due_date__lte=last)
    shift = datetime.timedelta(days=enrolment.days_after or 0)
    return invoices.filter(invoice_date__gte=first - shift, invoice_date__lte=last - shift)


def plan_attempts(today: datetime.date) -> int:
    """Insert the attempts whose charge date has come; existing ones are left alone."""
    planned = 0
    since = today - datetime.timedelta(days=LOOKBACK_DAYS)
    for enrolment in Enrolment.objects.charging():
        start = max(enrolment.starts_on, since)
        days = datetime.timedelta(days=enrolment.days_after or 0)
        invoices = invoices_charged_between(enrolment, start, today)
        existing = set(
            Attempt.objects.filter(
                invoice__in=invoices.values("id"), charge_date__gte=start
            ).values_list("invoice_id", "charge_date")
        )
        rows = []
        for pk, invoice_date, due_date in invoices.values_list("id", "invoice_date", "due_date"):
            when = due_date if enrolment.trigger == Trigger.DUE_DATE else invoice_date + days
            if (pk, when) not in existing:
                rows.append(
                    Attempt(invoice_id=pk, charge_date=when, enrolment=enrolment, next_try_on=when)
                )
        # ON CONFLICT DO NOTHING: another worker's row for the same (invoice, date) stands.
        Attempt.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)
        planned += len(rows)
    return planned


def _claim(attempt_id: int, tries: int, now) -> bool:
    return bool(
        Attempt.objects.filter(pk=attempt_id, state=AttemptState.DUE, tries=tries).update(
            state=AttemptState.CHARGING, tries=F("tries") + 1, claimed_at=now, updated_at=now
        )
    )


def _open_tries(now) -> list[int]:
    """Tries whose payment has ended meanwhile (reconciled), or whose worker stopped or stalled
    before recording one (claimed longer than STALE_CLAIM ago)."""
    ended = [*SUCCESS_STATES, PaymentState.DECLINED, PaymentState.FAILED]
    return list(
        Attempt.objects.filter(state=AttemptState.CHARGING)
        .filter(Q(claimed_at__lt=now - STALE_CLAIM) | Q(payment__state__in=ended))
        .order_by("id")
        .values_list("id", flat=True)
    )


def _try_payment(attempt: Attempt) -> Payment | None:
    return Payment.objects.filter(
        payer_id=attempt.enrolment.user_id, attempt_key=attempt_key(attempt.pk, attempt.tries)
    ).first()


def finish_try(attempt_id: int, *, gateway=None, provider=None, now=None) -> str:
    """A try already claimed: its payment decides; with none yet (the worker stopped before
    inserting it), a stale claim is taken over and the try made now, under the same key."""
    now = now or timezone.now()
    attempt = Attempt.objects.select_related("enrolment").get(pk=attempt_id)
    payment = attempt.payment or _try_payment(attempt)
    if payment is not None:
        return settle(attempt.pk, payment.pk)
    taken = Attempt.objects.filter(
        pk=attempt.pk, state=AttemptState.CHARGING, claimed_at=attempt.claimed_at
    ).update(claimed_at=now)
    if not taken:
        return "taken_by_another_worker"
    provider = provider or Provider.load()
    return charge_try(
        attempt.pk, gateway=gateway, provider=provider, today=provider_today(provider, now)
    )


def charge_try(attempt_id: int, *, gateway, provider: Provider, today: datetime.date) -> str:
    """The claimed try: checked again, then charged (or skipped, with its reason)."""
    attempt = Attempt.objects.select_related(
        "enrolment__payment_method__owner", "enrolment__organization", "invoice"
    ).get(pk=attempt_id)
    enrolment, invoice = attempt.enrolment, attempt.invoice
    method = enrolment.payment_method
    if enrolment.ended_at is not None:
        return _skip(attempt, f"Autopay ended: {enrolment.end_reason}", email=False)
    if enrolment.paused_at is not None:
        return _skip(attempt, f"Autopay is paused: {enrolment.pause_reason}", email=False)
    if invoice.state == Invoice.State.VOID:
        return _skip(attempt, "The invoice is void.", email=False)
    balance = invoice.balance
    if balance <= ZERO:
        return _skip(attempt, "The invoice is already paid.", email=False)
    if enrolment.cap is not None and balance > enrolment.cap:
        return _skip(
            attempt,
            f"The invoice's balance, {format_money(balance)}, is above the autopay cap of "
            f"{format_money(enrolment.cap)}. It was not charged; please pay it in the portal.",
        )
    if method.removed_at is not None:
        return _skip(attempt, "The saved payment method was removed.")
    if method.is_expired:
        return _skip(attempt, f"{method.label} has expired. Please pay in the portal.")
    if PaymentAllocation.objects.filter(invoice=invoice, in_flight=True).exists():
        return _wait(attempt, today, "A payment of this invoice was being processed.")
    try:
        payment = autopay_charge(
            invoice=invoice,
            method=method,
            attempt_key=attempt_key(attempt.pk, attempt.tries),
            gateway=gateway,
            provider=provider,
        )
    except PaymentRefused as refused:
        if refused.code in ("in_flight", "busy"):
            return _wait(attempt, today, refused.message)
        return _skip(attempt, refused.message)
    return settle(attempt.pk, payment.pk, today=today)


def settle(attempt_id: int, payment_id: int, *, today: datetime.date | None = None) -> str:
    """One transaction: the try's payment, applied to its attempt. Returns the attempt's state."""
    with transaction.atomic():
        attempt = Attempt.objects.select_for_update().select_related("enrolment").get(pk=attempt_id)
        if attempt.state != AttemptState.CHARGING:
            return attempt.state
        payment = Payment.objects.get(pk=payment_id)
        attempt.payment = payment
        attempt.amount = payment.amount
        if payment.state in IN_FLIGHT_STATES and payment.state != PaymentState.PENDING:
            attempt.save(update_fields=["payment", "amount", "updated_at"])
            return "in_flight"  # reconciliation finishes the payment; a later run, the attempt
        if payment.state in SUCCESS_STATES:
            attempt.state = AttemptState.CHARGED
            attempt.reason = ""
            attempt.save()
            _audit(attempt, "autopay.charged", f"Charged {format_money(payment.amount)}")
            return attempt.state
        today = today or provider_today(Provider.load())
        if attempt.tries >= Attempt.MAX_TRIES:
            attempt.state = AttemptState.FAILED
            attempt.reason = (
                f"Declined {attempt.tries} times; autopay is paused until it is resumed."
            )
            attempt.save()
            _audit(attempt, "autopay.failed", attempt.reason, outcome="failure")
            from remit.autopay.services import pause

            pause(
                attempt.enrolment,
                reason=f"Invoice {attempt.invoice.number} was declined {attempt.tries} times",
            )
            return attempt.state
        attempt.state = AttemptState.DUE
        attempt.next_try_on = today + datetime.timedelta(days=RETRY_AFTER_DAYS)
        attempt.reason = (
            f"Declined on try {attempt.tries}; autopay tries again on "
            f"{attempt.next_try_on:%b %-d, %Y}."
        )
        attempt.save()
        _audit(attempt, "autopay.declined", attempt.reason, outcome="failure")
        _email("autopay_declined", attempt)
        return "declined"


def _skip(attempt: Attempt, reason: str, *, email: bool = True) -> str:
    with transaction.atomic():
        updated = Attempt.objects.filter(pk=attempt.pk, state=AttemptState.CHARGING).update(
            state=AttemptState.SKIPPED, reason=reason[:200], updated_at=timezone.now()
        )
        if updated:
            attempt.reason = reason[:200]
            _audit(attempt, "autopay.skipped", reason)
            if email:
                _email("autopay_skipped", attempt)
    return "skipped"


def _wait(attempt: Attempt, today: datetime.date, reason: str) -> str:
    """Not tried after all: given back (the try not counted), looked at again the next day until
    LOOKBACK_DAYS after its charge date."""
    if today - attempt.charge_date >= datetime.timedelta(days=LOOKBACK_DAYS):
        return _skip(attempt, reason)
    Attempt.objects.filter(pk=attempt.pk, state=AttemptState.CHARGING).update(
        state=AttemptState.DUE,
        tries=F("tries") - 1,
        next_try_on=today + datetime.timedelta(days=1),
        reason=f"{reason} Autopay looks again the next day."[:200],
        updated_at=timezone.now(),
    )
    return "waiting"


def _audit(attempt: Attempt, action: str, summary: str, *, outcome: str = "success") -> None:
    record_event(
        action,
        actor_label="autopay",
        outcome=outcome,
        obj=attempt,
        organization=attempt.enrolment.organization_id,
        summary=f"Invoice {attempt.invoice.number}: {summary}"[:300],
        payment=attempt.payment_id,
    )


def _email(kind: str, attempt: Attempt) -> None:
    from remit.outbox.services import email_queue

    email_queue(kind, about_id=attempt.pk)
