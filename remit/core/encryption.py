"""Secrets kept in the database (PSA API secrets, the gateway's security key) are encrypted at rest with Fernet
(AES-128-CBC + HMAC-SHA256, from `cryptography`).

Key policy:
- `REMIT_ENCRYPTION_KEY`: one or more Fernet keys (urlsafe base64 of 32 bytes, as made by
  `python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"`),
  comma-separated. The first encrypts; every one decrypts (MultiFernet), so a key is rotated by
  putting the new one first and keeping the old one until every secret was saved again (saving
  re-encrypts with the first key). A malformed key is an error at first use that names the variable.
- Unset: a key is derived from SECRET_KEY (HKDF-SHA256). Fine for the demo and tests; in
  production set REMIT_ENCRYPTION_KEY (`remit check --deploy` warns otherwise), because changing
  SECRET_KEY would then make the stored secrets unreadable (they must be entered again).
"""

from __future__ import annotations

import base64
import logging
import os
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

logger = logging.getLogger(__name__)

ENV_NAME = "REMIT_ENCRYPTION_KEY"


class SecretUnreadable(Exception):
    """The stored secret was encrypted with a key that is no longer configured."""


def _derived_key() -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"remit-encryption-at-rest")
    return base64.urlsafe_b64encode(hkdf.derive(settings.SECRET_KEY.encode()))


def key_is_derived() -> bool:
    return not os.environ.get(ENV_NAME, "").strip()


@cache
def _fernet(configured: str, secret_key: str) -> MultiFernet:
    keys = [key.strip() for key in configured.split(",") if key.strip()]
    if not keys:
        return MultiFernet([Fernet(_derived_key())])
    fernets = []
    for position, key in enumerate(keys, start=1):
        try:
            fernets.append(Fernet(key.encode()))
        except ValueError:
            raise ImproperlyConfigured(
                f"{ENV_NAME}: key {position} is not a Fernet key (32 bytes, urlsafe base64)."
            ) from None
    return MultiFernet(fernets)


def fernet() -> MultiFernet:
    return _fernet(os.environ.get(ENV_NAME, ""), settings.SECRET_KEY)


def encrypt(plaintext: str) -> str:
    return fernet().encrypt(plaintext.encode()).decode() if plaintext else ""


def decrypt(token: str) -> str:
    if not token:
        return ""
    try:
        return fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable(
            f"A stored secret cannot be decrypted with the configured {ENV_NAME}; enter it again."
        ) from None


def looks_encrypted(value: str) -> bool:
    # Every Fernet token starts with the version byte 0x80, "gAAAAA" in urlsafe base64.
    return value.startswith("gAAAAA")


class EncryptedTextField(models.TextField):
    """A text column stored encrypted (Fernet), read back as plain text: code that reads or sets
    the attribute sees the secret; the database, its dumps and backups only see the token.

    A value that cannot be decrypted (the key changed) reads as empty and is logged, so a lost
    key means "not configured" (staff enter the secret again), never an error on every page. A
    value that is not a token at all (written before the column was encrypted) reads as is, until
    the data migration or the next save encrypts it."""

    def from_db_value(self, value, expression, connection):
        if not value:
            return value or ""
        if not looks_encrypted(value):
            return value
        try:
            return decrypt(value)
        except SecretUnreadable:
            logger.error("%s cannot be decrypted with the configured %s", self.name, ENV_NAME)
            return ""

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return encrypt(value) if value else ""
