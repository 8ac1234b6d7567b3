"""A value derived from a table (is there any active webhook endpoint?) kept in Django's shared
cache, so the request that needs it usually reads no row, and never a stale one for longer than a
commit takes to be announced.

Each value is stored with the generation of its table it was read under. Saving or deleting a row
of the table starts a new generation at once and again after the commit (post_save, post_delete):
a value read before the change was committed is stored under the generation in force when the read
began, which is no longer current once the change is announced, so it is ignored and read again.
The transaction that made the change reads its own rows but stores nothing (a rollback would
announce nothing after it). A lost entry, or a cache that cannot be reached, only costs the query. Queryset `.update()`, `bulk_create`, data migrations and SQL
typed into psql send no signals: nothing in Remit changes these tables that way, and a row changed
so is seen once the entries expire (TIMEOUT)."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models.signals import post_delete, post_save

from remit.core import shared_cache

TIMEOUT = 600


def _generation_key(name: str) -> str:
    return f"flag-generation:{name}"


def _value_key(name: str) -> str:
    return f"flag-value:{name}"


def cached(name: str, compute: Callable[[], object]):
    """The value `compute()` returns, from the cache when it was stored under the current
    generation of `name`."""
    generation_key, value_key = _generation_key(name), _value_key(name)
    found = shared_cache.get_many([generation_key, value_key])
    generation = found.get(generation_key)
    entry = found.get(value_key)
    if generation is not None and entry is not None and entry[0] == generation:
        return entry[1]
    if generation is None:
        shared_cache.add(generation_key, uuid.uuid4().hex, TIMEOUT)
        generation = shared_cache.get(generation_key)
    value = compute()  # read after the generation: a change committed since is announced after it
    if generation is not None and not _changed_in_this_transaction(name):
        shared_cache.set(value_key, (generation, value), TIMEOUT)
    return value


def invalidate(name: str) -> None:
    shared_cache.invalidate(_generation_key(name), uuid.uuid4().hex, TIMEOUT)


def _changed_in_this_transaction(name: str) -> bool:
    """True while the open transaction has changed `name`'s table: what it reads is not committed,
    and would outlive a rollback (no commit would announce it) if it were stored. Django gives each
    transaction a new `run_on_commit` list (on commit, rollback, or a savepoint's rollback), so the
    list the change was marked with is this transaction's only while it lasts."""
    connection = connections[DEFAULT_DB_ALIAS]  # this thread's connection, not the proxy
    marked = connection.__dict__.get("_remit_flag_changes", {}).get(name)
    return marked is not None and marked is connection.run_on_commit


def invalidate_on_change(name: str, model) -> None:
    """Start a new generation of `name` whenever a row of `model` is saved or deleted."""

    def changed(sender, **kwargs) -> None:
        connection = connections[DEFAULT_DB_ALIAS]
        if connection.in_atomic_block:
            connection.__dict__.setdefault("_remit_flag_changes", {})[name] = (
                connection.run_on_commit
            )
        invalidate(name)
        transaction.on_commit(lambda: invalidate(name), robust=True)

    post_save.connect(changed, sender=model, weak=False, dispatch_uid=f"flag_cache_{name}_save")
    post_delete.connect(changed, sender=model, weak=False, dispatch_uid=f"flag_cache_{name}_del")
