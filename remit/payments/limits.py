"""Card-testing defence: limits on failed payments and on newly entered cards or accounts, per user,
per organization and per IP address over time. Past a limit, payment is paused for that scope (a
`PaymentBlock`), no gateway call is made, and provider staff can see and lift the block.

Counters are rows in the database, so every web process and every machine sees the same numbers."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from remit.audit.services import record_event
from remit.payments.models import LimitEvent, PaymentBlock


@dataclass(frozen=True)
class Limit:
    kind: str  # LimitEvent.Kind
    scope: str  # PaymentBlock.Scope
    count: int
    window: datetime.timedelta
    block_for: datetime.timedelta


def configured_limits() -> list[Limit]:
    conf = settings.PAYMENT_LIMITS
    hour, day = datetime.timedelta(hours=1), datetime.timedelta(days=1)
    failure, new = LimitEvent.Kind.FAILURE, LimitEvent.Kind.NEW_METHOD
    user, org, ip = PaymentBlock.Scope.USER, PaymentBlock.Scope.ORGANIZATION, PaymentBlock.Scope.IP
    return [
        Limit(failure, user, conf["failures_per_user_per_hour"], hour, hour),
        Limit(failure, org, conf["failures_per_organization_per_hour"], hour, hour),
        Limit(failure, ip, conf["failures_per_ip_per_hour"], hour, hour),
        Limit(new, user, conf["new_methods_per_user_per_day"], day, day),
        Limit(new, org, conf["new_methods_per_organization_per_day"], day, day),
        Limit(new, ip, conf["new_methods_per_ip_per_day"], day, day),
    ]


def _scope_keys(user, ip_address: str | None) -> dict[str, str]:
    keys = {
        PaymentBlock.Scope.USER: str(user.pk),
        PaymentBlock.Scope.ORGANIZATION: str(user.organization_id),
    }
    if ip_address:
        keys[PaymentBlock.Scope.IP] = ip_address
    return keys


def active_block(user, ip_address: str | None) -> PaymentBlock | None:
    """The block that stops this payer now, if any."""
    condition = Q()
    for scope, key in _scope_keys(user, ip_address).items():
        condition |= Q(scope=scope, key=key)
    return (
        PaymentBlock.objects.filter(
            condition, lifted_at__isnull=True, expires_at__gt=timezone.now()
        )
        .order_by("-expires_at")
        .first()
    )


def would_exceed_new_method_limit(user, ip_address: str | None) -> bool:
    """True when one more new card or account would pass a limit: refuse before calling the gateway."""
    now = timezone.now()
    keys = _scope_keys(user, ip_address)
    for limit in configured_limits():
        if limit.kind != LimitEvent.Kind.NEW_METHOD or limit.scope not in keys:
            continue
        if _count(limit, keys[limit.scope], now) + 1 > limit.count:
            _block(limit, keys[limit.scope], user, now)
            return True
    return False


def record_limit_event(kind: str, *, user, ip_address: str | None) -> None:
    """Count a failure or a new method; pause payments for every scope it pushes past its limit."""
    now = timezone.now()
    LimitEvent.objects.create(
        kind=kind, user=user, organization_id=user.organization_id, ip_address=ip_address, at=now
    )
    keys = _scope_keys(user, ip_address)
    for limit in configured_limits():
        if (
            limit.kind == kind
            and limit.scope in keys
            and _count(limit, keys[limit.scope], now) >= limit.count
        ):
            _block(limit, keys[limit.scope], user, now)


def lift_block(block: PaymentBlock, *, acting_user, request=None) -> PaymentBlock:
    if block.lifted_at is None:
        block.lifted_at = timezone.now()
        block.lifted_by = acting_user
        block.save(update_fields=["lifted_at", "lifted_by"])
        record_event(
            "payment_block.lifted",
            actor=acting_user,
            request=request,
            obj=block,
            summary=f"Lifted: {block}",
            scope=block.scope,
        )
    return block


def _count(limit: Limit, key: str, now: datetime.datetime) -> int:
    since = now - limit.window
    # Events before staff last lifted a block on this scope no longer count.
    lifted = (
        PaymentBlock.objects.filter(scope=limit.scope, key=key, lifted_at__gt=since)
        .order_by("-lifted_at")
        .values_list("lifted_at", flat=True)
        .first()
    )
    events = LimitEvent.objects.filter(kind=limit.kind, at__gt=lifted or since)
    field = {
        PaymentBlock.Scope.USER: "user_id",
        PaymentBlock.Scope.ORGANIZATION: "organization_id",
        PaymentBlock.Scope.IP: "ip_address",
    }[limit.scope]
    return events.filter(**{field: key}).count()


def _block(limit: Limit, key: str, user, now: datetime.datetime) -> None:
    if PaymentBlock.objects.filter(
        scope=limit.scope, key=key, lifted_at__isnull=True, expires_at__gt=now
    ).exists():
        return
    label = {
        PaymentBlock.Scope.USER: user.email,
        PaymentBlock.Scope.ORGANIZATION: getattr(user.organization, "name", ""),
        PaymentBlock.Scope.IP: key,
    }[limit.scope]
    what = "failed payments" if limit.kind == LimitEvent.Kind.FAILURE else "new cards or accounts"
    block = PaymentBlock.objects.create(
        scope=limit.scope,
        key=key,
        label=label,
        reason=f"{limit.count} {what} within {_human(limit.window)}",
        created_at=now,
        expires_at=now + limit.block_for,
    )
    record_event(
        "payment_block.created",
        actor_label="system",
        organization=user.organization,
        obj=block,
        outcome="refused",
        summary=f"Online payment paused: {block}",
        scope=limit.scope,
    )


def _human(delta: datetime.timedelta) -> str:
    hours = int(delta.total_seconds() // 3600)
    return "a day" if hours == 24 else "an hour" if hours == 1 else f"{hours} hours"
