"""Sessions as Django's `cached_db` keeps them (the database, read through the shared cache), with
every cache call guarded: Django 5.2 catches a failing cache read and write on save, but not the
write after a database read, the look-up of a new key or the drop at sign-out — with Redis
unreachable each of those was a 500 on every signed-in page (tests/payments/test_cache_down.py).
The database stays the record; a session the cache could not drop at sign-out is logged as an
error (it is gone from the database, and expires from the cache with its age)."""

from __future__ import annotations

import logging

from django.contrib.sessions.backends.cached_db import SessionStore as CachedDBStore

logger = logging.getLogger("django.contrib.sessions")


class SessionStore(CachedDBStore):
    def load(self):
        try:
            data = self._cache.get(self.cache_key)
        except Exception:
            data = None  # a failing cache reads as a miss (Django's own handling)
        if data is not None:
            return data
        stored = self._get_session_from_db()
        if not stored:
            return {}
        data = self.decode(stored.session_data)
        try:
            self._cache.set(self.cache_key, data, self.get_expiry_age(expiry=stored.expire_date))
        except Exception:
            logger.warning("session not cached: the shared cache is unavailable", exc_info=True)
        return data

    def exists(self, session_key):
        try:
            if session_key and (self.cache_key_prefix + session_key) in self._cache:
                return True
        except Exception:
            logger.warning("session key looked up in the database only", exc_info=True)
        return super(CachedDBStore, self).exists(session_key)

    def delete(self, session_key=None):
        super(CachedDBStore, self).delete(session_key)  # the database row
        if session_key is None:
            if self.session_key is None:
                return
            session_key = self.session_key
        try:
            self._cache.delete(self.cache_key_prefix + session_key)
        except Exception:
            logger.error(
                "ended session not dropped from the shared cache; it expires with its age",
                exc_info=True,
            )
