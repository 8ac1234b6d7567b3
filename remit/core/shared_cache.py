"""Django's shared cache, used so that losing it costs queries, never a request.

The provider, the permissions of a security level and the payment's two flags (remit/core/
provider_cache.py, remit/accounts/permission_cache.py, remit/core/flag_cache.py) are copies of rows
kept in the shared cache (Redis across machines, docs/deploy.md). Django's Redis backend raises when
Redis cannot be reached; unguarded, a blip would turn every signed-in page into a 500 and — worse —
fail the transaction that records a gateway's answer after the card was charged. Here a failing
read is a miss (the caller reads the row), a failing write is skipped, and both are logged. A
failed invalidation is logged as an error: the entry it meant to drop lives until its timeout
(600 s at most) if the cache comes back with it. Sessions (`cached_db`) fall back to the database
on their own (Django 5.1 and later)."""

from __future__ import annotations

import logging
from logging import ERROR, WARNING

from django.core.cache import cache

logger = logging.getLogger(__name__)


def _guarded(call, level: int, what: str, subject, default=None):
    """call(), or `default` when the cache fails (logged; the message is formatted only then)."""
    try:
        return call()
    except Exception:
        logger.log(level, "shared cache unavailable: " + what, subject, exc_info=True)
        return default


def get(key: str, default=None):
    return _guarded(lambda: cache.get(key, default), WARNING, "%s read as a miss", key, default)


def get_many(keys: list[str]) -> dict:
    return _guarded(lambda: cache.get_many(keys), WARNING, "%s read as misses", keys, {})


def set(key: str, value, timeout: int) -> None:
    _guarded(lambda: cache.set(key, value, timeout), WARNING, "%s not stored", key)


def add(key: str, value, timeout: int) -> None:
    _guarded(lambda: cache.add(key, value, timeout), WARNING, "%s not stored", key)


def delete_many(keys: list[str]) -> None:
    _guarded(lambda: cache.delete_many(keys), ERROR, "%s not dropped; stale until it expires", keys)


def invalidate(key: str, value, timeout: int) -> None:
    """Overwrite `key` (a generation), as an invalidation: a failure is an error, not a warning."""
    what = "%s not renewed; stale until it expires"
    _guarded(lambda: cache.set(key, value, timeout), ERROR, what, key)
