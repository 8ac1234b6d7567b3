"""The provider row in Django's cache: every request reads it (ProviderMiddleware), it changes when
staff save the settings.

- The entry is the row's column values; the gateway's security key stays encrypted in it (as in
  the database), so the cache never holds the secret in clear.
- Saving or deleting the row drops the entry at once and again after the commit: a request that
  read the old row just before the commit cannot leave it cached for longer than that. Queryset
  `.update()` bypasses the signals; nothing in Remit updates the provider that way outside
  migrations, and the key names the model's columns and the encryption keys (see _key).
  The entry also expires after TIMEOUT seconds, as a bound on anything missed.
"""

from __future__ import annotations

import functools
import hashlib
import os

from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_delete, post_save

from remit.core import shared_cache
from remit.core.encryption import ENV_NAME, EncryptedTextField

TIMEOUT = 300


def _fields():
    from remit.core.models import Provider

    return Provider._meta.concrete_fields


def _key() -> str:
    """Names the model's columns and the encryption keys in use: a migration that adds a column,
    or a rotated REMIT_ENCRYPTION_KEY, starts afresh (the entry's token is re-encrypted with the
    first key, so with the old keys gone it must not outlive them)."""
    return _key_for(os.environ.get(ENV_NAME, ""), settings.SECRET_KEY)


@functools.cache
def _key_for(keys: str, secret_key: str) -> str:
    names = ",".join(field.attname for field in _fields())
    return "provider:" + hashlib.sha256(f"{names}|{keys}|{secret_key}".encode()).hexdigest()[:16]


def get():
    from remit.core.models import Provider

    values = shared_cache.get(_key())
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
    shared_cache.set(_key(), values, TIMEOUT)


def forget() -> None:
    shared_cache.delete_many([_key()])


def _changed(sender, **kwargs) -> None:
    forget()
    transaction.on_commit(forget)


def connect() -> None:
    from remit.core.models import Provider

    post_save.connect(_changed, sender=Provider, dispatch_uid="provider_cache_save")
    post_delete.connect(_changed, sender=Provider, dispatch_uid="provider_cache_delete")
