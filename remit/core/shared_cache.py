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

from django.core.cache import cache

logger = logging.getLogger(__name__)


def get(key: str, default=None):
    try:
        return cache.get(key, default)
    except Exception:
        logger.warning("shared cache unavailable: read of %s treated as a miss", key, exc_info=True)
        return default


def get_many(keys: list[str]) -> dict:
    try:
        return cache.get_many(keys)
    except Exception:
        logger.warning(
            "shared cache unavailable: read of %s treated as a miss", keys, exc_info=True
        )
        return {}


def set(key: str, value, timeout: int) -> None:
    try:
        cache.set(key, value, timeout)
    except Exception:
        logger.warning("shared cache unavailable: %s not stored", key, exc_info=True)


def add(key: str, value, timeout: int) -> None:
    try:
        cache.add(key, value, timeout)
    except Exception:
        logger.warning("shared cache unavailable: %s not stored", key, exc_info=True)


def delete_many(keys: list[str]) -> None:
    try:
        cache.delete_many(keys)
    except Exception:
        logger.error(
            "shared cache unavailable: %s not dropped; stale until it expires",
            keys,
            exc_info=True,
        )


def invalidate(key: str, value, timeout: int) -> None:
    """Overwrite `key` (a generation), as an invalidation: a failure is an error, not a warning."""
    try:
        cache.set(key, value, timeout)
    except Exception:
        logger.error(
            "shared cache unavailable: %s not renewed; stale until it expires", key, exc_info=True
        )
