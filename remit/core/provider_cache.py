"""The provider row in Django's cache: every request reads it (ProviderMiddleware), it changes when
staff save the settings.

- The entry is the row's column values; the gateway's security key stays encrypted in it (as in
  the database), so the cache never holds the secret in clear.
- Saving or deleting the row drops the entry at once and again after the commit: a request that
  read the old row just before the commit cannot leave it cached for longer than that. Queryset
  `.update()` bypasses the signals; nothing in Remit updates the provider that way outside
  migrations, and the key names the model's columns, so a migration that adds one starts afresh.
  The entry also expires after TIMEOUT seconds, as a bound on anything missed.
"""

from __future__ import annotations

import hashlib

from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save

from remit.core.encryption import EncryptedTextField

TIMEOUT = 300


def _fields():
    from remit.core.models import Provider

    return Provider._meta.concrete_fields


def _key() -> str:
    names = ",".join(field.attname for field in _fields())
    return "provider:" + hashlib.sha256(names.encode()).hexdigest()[:12]


def get():
    from remit.core.models import Provider

    values = cache.get(_key())
    if values is None:
        return None
    fields = _fields()
    values = [
        field.from_db_value(value, None, None) if isinstance(field, EncryptedTextField) else value
        for field, value in zip(fields, values, strict=True)
    ]
    return Provider.from_db("default", [field.attname for field in fields], values)


def put(provider) -> None:
    values = [
        field.get_prep_value(getattr(provider, field.attname))
        if isinstance(field, EncryptedTextField)
        else getattr(provider, field.attname)
        for field in _fields()
    ]
    cache.set(_key(), values, TIMEOUT)


def forget() -> None:
    cache.delete(_key())


def _changed(sender, **kwargs) -> None:
    forget()
    transaction.on_commit(forget)


def connect() -> None:
    from remit.core.models import Provider

    post_save.connect(_changed, sender=Provider, dispatch_uid="provider_cache_save")
    post_delete.connect(_changed, sender=Provider, dispatch_uid="provider_cache_delete")
