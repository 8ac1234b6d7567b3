"""Enrolling in autopay, cancelling, ending, pausing and resuming: one transaction each, an audit
event each, the emails queued through the outbox in the same transaction."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from remit.audit.services import record_event
from remit.autopay import consent, events
from remit.autopay.models import Enrolment, Trigger
from remit.core.models import Provider
from remit.core.money import format_money
from remit.payments.models import MethodKind, PaymentMethod

# The largest amount an invoice can hold (12 digits, two decimals): a cap above it caps nothing.
MAX_CAP = Decimal("9999999999.99")


class EnrolmentRefused(Exception):
    """Refused, nothing written. `errors` maps a form field (or "__all__") to its message."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(errors.values()))
        self.errors = errors


@dataclass(frozen=True)
class Terms:
    method: PaymentMethod
    trigger: str
    days_after: int | None
    cap: Decimal | None


def allowed_triggers(provider: Provider) -> list[tuple[str, str]]:
    """(value, label) of the choices the provider allows: `due_date`, `after:<days>`."""
    choices = []
    if provider.autopay_on_due_date:
        choices.append(("due_date", "On the due date"))
    for days in provider.autopay_allowed_days:
        choices.append(
            (f"after:{days}", f"{days} day{'s' if days != 1 else ''} after the invoice date")
        )
    return choices


def parse_trigger(value: str, provider: Provider) -> tuple[str, int | None]:
    if value not in {v for v, _ in allowed_triggers(provider)}:
        raise EnrolmentRefused({"trigger": "Choose one of the charge dates offered."})
    if value == "due_date":
        return Trigger.DUE_DATE, None
    return Trigger.AFTER_INVOICE, int(value.partition(":")[2])


def check_terms(user, method: PaymentMethod, trigger_value: str, cap: Decimal | None, provider):
    """The terms, checked: the method is the user's own, active and not expired; the trigger is
    one the provider allows; the cap is positive, in cents, and not above any invoice."""
    errors: dict[str, str] = {}
    cap = Decimal(cap) if isinstance(cap, str | int) else cap
    if not provider.autopay_enabled:
        raise EnrolmentRefused({"__all__": f"{provider.name} does not offer autopay."})
    if method.owner_id != user.pk or method.removed_at is not None:
        errors["payment_method"] = "Choose one of your saved payment methods."
    elif method.is_expired:
        errors["payment_method"] = (
            "That card has expired. Pay an invoice with a new card to save it."
        )
    elif method.kind == MethodKind.CARD and not provider.offers_card:
        errors["payment_method"] = "Cards are not accepted. Choose a bank account."
    elif method.kind == MethodKind.ECHECK and not provider.offers_echeck:
        errors["payment_method"] = "eChecks are not accepted. Choose a card."
    try:
        trigger, days = parse_trigger(trigger_value, provider)
    except EnrolmentRefused as refused:
        errors.update(refused.errors)
        trigger, days = "", None
    if cap is not None:
        if cap <= 0:
            errors["cap"] = "Enter a cap above zero, or leave it empty for no cap."
        elif cap.as_tuple().exponent < -2:
            errors["cap"] = "Enter the cap in dollars and cents (at most two decimals)."
        elif cap > MAX_CAP:
            errors["cap"] = (
                f"The cap is above any invoice's amount (at most {format_money(MAX_CAP)})."
            )
    if errors:
        raise EnrolmentRefused(errors)
    return Terms(method=method, trigger=trigger, days_after=days, cap=cap)


def consent_for(terms: Terms, *, organization, provider: Provider, starts) -> str:
    when = (
        "on its due date"
        if terms.trigger == Trigger.DUE_DATE
        else f"{terms.days_after} day{'s' if terms.days_after != 1 else ''} after its invoice date"
    )
    return consent.consent_text(
        provider=provider.name,
        organization=organization.name,
        method_label=terms.method.label,
        method_kind=terms.method.kind,
        business_account=terms.method.account_holder_type == "business",
        when=when,
        cap=terms.cap,
        starts=starts,
        contact=provider.support_email or provider.support_phone,
        surcharge_percent=_surcharge_percent(terms.method, organization),
    )


def _surcharge_percent(method: PaymentMethod, organization) -> Decimal | None:
    """The surcharge the payment code would add to a charge of this method (same rules)."""
    from remit.payments.services import SavedMethod
    from remit.payments.surcharge import quote

    adjustment = quote(SavedMethod(method=method), organization=organization, base=Decimal("100"))
    return adjustment.surcharge_percent


def enrol(
    *,
    user,
    method: PaymentMethod,
    trigger: str,
    cap: Decimal | None,
    ip_address: str | None,
    provider: Provider | None = None,
    staff=None,
    consent_note: str = "",
    locked: bool = False,
) -> Enrolment:
    """Enrol the user's organization, replacing its active enrolment (unless locked). `staff`:
    provider staff enrolling on the client's behalf, with the written consent as `consent_note`."""
    provider = provider or Provider.load()
    terms = check_terms(user, method, trigger, cap, provider)
    if staff is not None:
        if not provider.autopay_staff_may_enrol:
            raise EnrolmentRefused({"__all__": "Staff enrolment is turned off in the settings."})
        if not consent_note.strip():
            raise EnrolmentRefused({"consent_note": "Record where the client's consent is."})
    starts = timezone.localdate(timezone.now(), provider.zone)
    organization = user.organization
    text = consent_for(terms, organization=organization, provider=provider, starts=starts)
    try:
        with transaction.atomic():
            current = (
                Enrolment.objects.select_for_update()
                .filter(organization=organization, ended_at__isnull=True)
                .first()
            )
            if current is not None:
                if current.locked and staff is None:
                    raise EnrolmentRefused(
                        {
                            "__all__": f"Autopay is locked by {provider.name}. Contact them to change it."
                        }
                    )
                _end(
                    current,
                    reason="Replaced by a new enrolment",
                    code=events.EndReason.REPLACED,
                    by=staff or user,
                    email=False,
                )
            enrolment = Enrolment.objects.create(
                organization=organization,
                user=user,
                payment_method=method,
                trigger=terms.trigger,
                days_after=terms.days_after,
                cap=terms.cap,
                consent_version=consent.VERSION,
                consent_text=text,
                consent_ip=ip_address,
                enrolled_by=staff or user,
                consent_note=consent_note.strip(),
                locked=bool(locked and staff is not None),
                starts_on=starts,
            )
            record_event(
                "autopay.enrolled",
                actor=staff or user,
                obj=enrolment,
                organization=organization.pk,
                ip_address=ip_address,
                summary=f"Autopay with {method.label}, {enrolment.trigger_label}, {enrolment.cap_label}",
                consent_version=consent.VERSION,
                on_behalf=staff is not None,
            )
            _email("autopay_enrolled", enrolment)
            events.enrolled(enrolment)
    except IntegrityError:  # another enrolment of the organization won the race
        raise EnrolmentRefused(
            {"__all__": "Autopay was just changed by someone else. Reload the page."}
        ) from None
    return enrolment


def cancel(enrolment: Enrolment, *, user, ip_address: str | None = None, staff: bool = False):
    """One click: no charge is made after this. Confirmed by email."""
    if enrolment.locked and not staff:
        raise EnrolmentRefused(
            {"__all__": "Autopay is locked by your service provider. Contact them to cancel it."}
        )
    with transaction.atomic():
        locked = Enrolment.objects.select_for_update().get(pk=enrolment.pk)
        if locked.ended_at is not None:
            return locked
        _end(
            locked,
            reason=f"Cancelled by {user.email}",
            code=events.EndReason.CANCELLED,
            by=user,
            ip_address=ip_address,
        )
    return locked


def end_enrolments(enrolments, *, reason: str, code: str) -> int:
    """Ended because the saved method was removed or its owner deactivated (`code`:
    method_removed, user_deactivated): both sides told."""
    ended = 0
    with transaction.atomic():
        for enrolment in enrolments.select_for_update().filter(ended_at__isnull=True):
            _end(enrolment, reason=reason, code=code, by=None)
            ended += 1
    return ended


def _end(
    enrolment: Enrolment, *, reason: str, code: str, by, ip_address=None, email: bool = True
) -> None:
    enrolment.ended_at = timezone.now()
    enrolment.end_reason = reason[:200]
    enrolment.ended_by = by
    enrolment.save(update_fields=["ended_at", "end_reason", "ended_by"])
    # Attempts not yet charged stop here: no charge after the enrolment ends.
    from remit.autopay.models import Attempt, AttemptState

    Attempt.objects.filter(enrolment=enrolment, state=AttemptState.DUE).update(
        state=AttemptState.SKIPPED, reason=f"Autopay ended: {reason}"[:200]
    )
    record_event(
        "autopay.cancelled",
        actor=by,
        actor_label="" if by else "autopay",
        obj=enrolment,
        organization=enrolment.organization_id,
        ip_address=ip_address,
        summary=f"Autopay with {enrolment.payment_method.label} ended: {reason}",
    )
    events.cancelled(enrolment, code)
    if email:
        _email("autopay_ended", enrolment)


def pause(enrolment: Enrolment, *, reason: str, by=None) -> None:
    with transaction.atomic():
        locked = Enrolment.objects.select_for_update().get(pk=enrolment.pk)
        if locked.paused_at is not None or locked.ended_at is not None:
            return
        locked.paused_at = timezone.now()
        locked.pause_reason = reason[:200]
        locked.save(update_fields=["paused_at", "pause_reason"])
        record_event(
            "autopay.paused",
            actor=by,
            actor_label="" if by else "autopay",
            obj=locked,
            organization=locked.organization_id,
            summary=f"Autopay paused: {reason}",
        )
        _email("autopay_paused", locked)


def resume(enrolment: Enrolment, *, by) -> None:
    with transaction.atomic():
        locked = Enrolment.objects.select_for_update().get(pk=enrolment.pk)
        if locked.paused_at is None or locked.ended_at is not None:
            return
        locked.paused_at = None
        locked.pause_reason = ""
        locked.save(update_fields=["paused_at", "pause_reason"])
        record_event(
            "autopay.resumed",
            actor=by,
            obj=locked,
            organization=locked.organization_id,
            summary="Autopay resumed",
        )


def _email(kind: str, enrolment: Enrolment, attempt=None) -> None:
    from remit.outbox.services import email_queue

    email_queue(kind, about_id=(attempt or enrolment).pk)
