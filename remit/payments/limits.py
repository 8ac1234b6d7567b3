"""Card-testing defence: limits on failed payments and on newly entered cards or accounts, per user,
per organization and per IP address over time. Past a limit, payment is paused for that scope (a
`PaymentBlock`), no gateway call is made, and provider staff can see and lift the block.

Counters are rows in the database, so every web process and every machine sees the same numbers.

Concurrency: a failure is known only after the gateway call, so checking past failures alone would
let any number of simultaneous attempts through (8, 7, 5, 5 declined sales were measured against a
limit of 5). Instead `check_and_reserve`, in the payment's first transaction, locks a `LimitLock`
row per scope and counts the payments still in flight (processing, unknown) as if they had failed:
an attempt goes ahead only if failures so far plus attempts in flight stay under every failure
limit, and the payment it inserts then holds that place until its outcome is recorded — which
happens under the same locks (`record_limit_event`). N concurrent attempts past a limit therefore
make at most the limit's failed sales, on PostgreSQL (row locks) and on SQLite (one writer)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from remit.audit.services import record_event
from remit.core.prepared import Prepared, Slot, server_prepared_cursor
from remit.payments.models import LimitEvent, LimitLock, Payment, PaymentBlock, PaymentState

# Why check_and_reserve refused an attempt (PaymentRefused codes).
BLOCKED = "blocked"
BUSY = "busy"
# Payments whose outcome is not known yet: each may still become a failure.
_UNDECIDED = (PaymentState.PROCESSING, PaymentState.UNKNOWN)


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


def _scopes_q(keys: dict[str, str]) -> Q:
    condition = Q()
    for scope, key in keys.items():
        condition |= Q(scope=scope, key=key)
    return condition


def _active_block_query(now, **keys) -> QuerySet[PaymentBlock]:
    return PaymentBlock.objects.filter(
        _scopes_q(keys), lifted_at__isnull=True, expires_at__gt=now
    ).order_by("-expires_at")[:1]


# The window asks on every open whether a block stops the payer: built once per process
# (core/prepared.py), one query for a payer with an IP address and one without.
_KEY = Slot(PaymentBlock, "key")
_NOW = Slot(PaymentBlock, "expires_at")
_SCOPES = (PaymentBlock.Scope.USER, PaymentBlock.Scope.ORGANIZATION, PaymentBlock.Scope.IP)
_active_block = {
    scopes: Prepared(
        _active_block_query, on_server=True, now=_NOW, **{scope: _KEY for scope in scopes}
    )
    for scopes in (_SCOPES, _SCOPES[:2])
}


def active_block(user, ip_address: str | None) -> PaymentBlock | None:
    """The block that stops this payer now, if any."""
    keys = _scope_keys(user, ip_address)
    return _active_block[tuple(keys)].first(now=timezone.now(), **keys)


def check_and_reserve(
    user, ip_address: str | None, *, new_method: bool, locked: bool = False
) -> str | None:
    """Phase one of a payment, inside its transaction and before the payment row is inserted:
    lock this payer's scopes, then say why the attempt may not go ahead — BLOCKED (a block, or
    failures already at a limit) or BUSY (failures plus payments still in flight would reach a
    limit if they all failed) — or None, having counted the new card or account if there is one.
    The caller commits either way (a block created here must stay) and, when None, inserts the
    payment as processing in this same transaction, taking its place under the limits.
    `locked`: the caller took the scopes' locks already, in a statement of its own before this
    (lock_statement), so that the counts below see what the lock waited for."""
    now = timezone.now()
    keys = _scope_keys(user, ip_address)
    if not locked:
        _lock(keys, now)
    failure_limits = _limits(LimitEvent.Kind.FAILURE, keys)
    # One statement (one snapshot): a block in force, the payments in flight, the failures.
    blocked, in_flight, failures = _standing(keys, failure_limits, now)
    if blocked:
        return BLOCKED
    busy = False
    for limit in failure_limits:
        if failures[limit.scope] >= limit.count:
            _block(limit, keys[limit.scope], user, now)  # reached without a block: limits lowered
            return BLOCKED
        busy = busy or failures[limit.scope] + in_flight[limit.scope] >= limit.count
    if busy:
        return BUSY
    if new_method:
        _record(LimitEvent.Kind.NEW_METHOD, user, ip_address, keys, now)
    return None


def record_limit_event(kind: str, *, user, ip_address: str | None) -> None:
    """Count a failure or a new method; pause payments for every scope that reaches its limit
    (the next attempt then meets the block, before any gateway call). Call it inside the
    transaction that records the outcome: it takes the scopes' locks, so a concurrent
    check_and_reserve sees the payment either in flight or failed, never neither."""
    now = timezone.now()
    keys = _scope_keys(user, ip_address)
    _lock(keys, now)
    _record(kind, user, ip_address, keys, now)


def _record(kind: str, user, ip_address: str | None, keys: dict[str, str], now) -> None:
    LimitEvent.objects.create(
        kind=kind, user=user, organization_id=user.organization_id, ip_address=ip_address, at=now
    )
    limits = _limits(kind, keys)
    counts = _counts(kind, limits, keys, now)
    for limit in limits:
        if counts[limit.scope] >= limit.count:
            _block(limit, keys[limit.scope], user, now)


def _limits(kind: str, keys: dict[str, str]) -> list[Limit]:
    return [limit for limit in configured_limits() if limit.kind == kind and limit.scope in keys]


def _lock(keys: dict[str, str], now) -> None:
    """Lock (creating on first use) one row per scope: an upsert, which locks the rows on
    PostgreSQL and takes SQLite's write lock. Always in the same order (scope, key), so two
    attempts sharing scopes wait for each other instead of deadlocking. Callers lock the invoice
    before this, never after."""
    rows = [
        LimitLock(scope=scope, key=key, last_attempt_at=now) for scope, key in sorted(keys.items())
    ]
    LimitLock.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["scope", "key"],
        update_fields=["last_attempt_at"],
    )


def lock_statement(user, ip_address: str | None) -> tuple[str, list]:
    """_lock as SQL for PostgreSQL, to run as a data-modifying WITH of a caller's statement (the
    same upsert, the same order). Its snapshot is the statement's, taken before the lock is
    waited for: the caller reads nothing there that the scopes' locks protect, and counts in
    check_and_reserve(locked=True), a later statement."""
    now = timezone.now()
    rows = sorted(_scope_keys(user, ip_address).items())
    table = LimitLock._meta.db_table
    values = ", ".join(["(%s, %s, %s)"] * len(rows))
    statement = (
        f'INSERT INTO {table} (scope, "key", last_attempt_at) VALUES {values}'  # noqa: S608 (names from the model; values bound)
        ' ON CONFLICT (scope, "key") DO UPDATE SET last_attempt_at = EXCLUDED.last_attempt_at'
        " RETURNING id"
    )
    return statement, [value for scope, key in rows for value in (scope, key, now)]


_PAYMENT_FIELD = {
    PaymentBlock.Scope.USER: "payer_id",
    PaymentBlock.Scope.ORGANIZATION: "organization_id",
    PaymentBlock.Scope.IP: "ip_address",
}


def _standing(
    keys: dict[str, str], limits: list[Limit], now
) -> tuple[bool, dict[str, int], dict[str, int]]:
    """Whether a block stops one of the scopes now, the payments per scope whose outcome is not
    known yet, and the failures per limit's scope within its window since staff last lifted a
    block on it — one statement of scalar subqueries, each on its index."""
    blocks, payments = PaymentBlock._meta.db_table, Payment._meta.db_table
    events = LimitEvent._meta.db_table
    scopes = " OR ".join(['(scope = %s AND "key" = %s)'] * len(keys))
    scope_params = [value for item in keys.items() for value in item]
    undecided = ", ".join(["%s"] * len(_UNDECIDED))
    columns = [
        f"(SELECT COUNT(*) FROM {blocks} WHERE lifted_at IS NULL AND expires_at > %s AND ({scopes}))"  # noqa: S608 (names from the models; values bound)
    ]
    params = [now, *scope_params]
    for scope, key in keys.items():
        field = _PAYMENT_FIELD[scope]
        columns.append(
            f"(SELECT COUNT(*) FROM {payments} WHERE state IN ({undecided}) AND {field} = %s)"  # noqa: S608 (as above)
        )
        params += [*_UNDECIDED, key]
    for limit in limits:
        field, since = _EVENT_FIELD[limit.scope], now - limit.window
        # Events before staff last lifted a block on the scope no longer count for it.
        columns.append(
            f"(SELECT COUNT(*) FROM {events} WHERE kind = %s AND {field} = %s AND at > %s"  # noqa: S608 (as above)
            f" AND at > COALESCE((SELECT MAX(lifted_at) FROM {blocks}"
            ' WHERE scope = %s AND "key" = %s AND lifted_at IS NOT NULL), %s))'
        )
        params += [
            LimitEvent.Kind.FAILURE,
            keys[limit.scope],
            since,
            limit.scope,
            keys[limit.scope],
            since,
        ]
    with server_prepared_cursor(connection) as cursor:  # by keys: one plan fits every payment
        cursor.execute("SELECT " + ", ".join(columns), params)
        row = list(cursor.fetchone())
    blocked = row.pop(0) > 0
    in_flight = {scope: row.pop(0) for scope in keys}
    failures = {limit.scope: row.pop(0) for limit in limits}
    return blocked, in_flight, failures


def _lifted(rows) -> dict[str, datetime.datetime]:
    """(scope, lifted_at) rows: when staff last lifted a block on each scope."""
    lifted: dict[str, datetime.datetime] = {}
    for scope, at in rows:
        if at is not None:
            lifted[scope] = max(at, lifted.get(scope, at))
    return lifted


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


_EVENT_FIELD = {
    PaymentBlock.Scope.USER: "user_id",
    PaymentBlock.Scope.ORGANIZATION: "organization_id",
    PaymentBlock.Scope.IP: "ip_address",
}


def _counts(kind: str, limits: list[Limit], keys: dict[str, str], now) -> dict[str, int]:
    """Events of `kind` per scope within each limit's window — two queries for every scope."""
    if not limits:
        return {}
    earliest = now - max(limit.window for limit in limits)
    # Events before staff last lifted a block on a scope no longer count for it.
    lifts = PaymentBlock.objects.filter(
        Q(*[Q(scope=limit.scope, key=keys[limit.scope]) for limit in limits], _connector=Q.OR),
        lifted_at__gt=earliest,
    )
    lifted = _lifted(lifts.values_list("scope", "lifted_at"))
    counts = {}
    for limit in limits:
        since = max(now - limit.window, lifted.get(limit.scope, now - limit.window))
        field = _EVENT_FIELD[limit.scope]
        counts[limit.scope] = Count("id", filter=Q(at__gt=since, **{field: keys[limit.scope]}))
    return LimitEvent.objects.filter(kind=kind, at__gt=earliest).aggregate(**counts)


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
        organization=user.organization_id,
        obj=block,
        outcome="refused",
        summary=f"Online payment paused: {block}",
        scope=limit.scope,
    )


def _human(delta: datetime.timedelta) -> str:
    hours = int(delta.total_seconds() // 3600)
    return "a day" if hours == 24 else "an hour" if hours == 1 else f"{hours} hours"
