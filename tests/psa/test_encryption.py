"""Secrets at rest: the gateway's security key and the Autotask secret are stored encrypted,
read back as entered, survive a key rotation, and a lost key reads as "not configured"."""

import importlib

import pytest
from cryptography.fernet import Fernet
from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from remit.core.encryption import SecretUnreadable, decrypt, encrypt
from remit.core.models import Provider
from remit.psa.models import PsaConnection

pytestmark = pytest.mark.django_db

KEY = "gw-key-6f1c2b7e9d"


def raw_gateway_key() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT gateway_security_key FROM core_provider WHERE id = 1")
        return cursor.fetchone()[0]


def test_the_gateway_key_is_stored_encrypted_and_read_back(provider):
    provider.gateway_security_key = KEY
    provider.save()
    assert KEY not in raw_gateway_key()
    assert raw_gateway_key().startswith("gAAAAA")
    assert Provider.load().gateway_security_key == KEY


def test_the_data_migration_encrypts_a_key_saved_in_plain_text(provider):
    with connection.cursor() as cursor:
        cursor.execute("UPDATE core_provider SET gateway_security_key = %s WHERE id = 1", [KEY])
    assert Provider.load().gateway_security_key == KEY  # a plain value reads as is meanwhile
    migration = importlib.import_module("remit.core.migrations.0007_encrypt_gateway_security_key")
    migration.encrypt_saved_keys(apps, None)
    assert KEY not in raw_gateway_key()
    assert Provider.load().gateway_security_key == KEY


def test_a_rotated_key_still_reads_and_a_lost_key_reads_as_not_configured(provider, monkeypatch):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    monkeypatch.setenv("REMIT_ENCRYPTION_KEY", old)
    provider.gateway_security_key = KEY
    provider.save()
    token = encrypt("autotask-secret")
    monkeypatch.setenv("REMIT_ENCRYPTION_KEY", f"{new},{old}")  # the new one first
    assert Provider.load().gateway_security_key == KEY
    assert decrypt(token) == "autotask-secret"
    monkeypatch.setenv("REMIT_ENCRYPTION_KEY", new)  # the old key is gone
    assert Provider.load().gateway_security_key == ""
    with pytest.raises(SecretUnreadable):
        decrypt(token)


def test_a_malformed_key_is_an_error_naming_the_variable(monkeypatch):
    monkeypatch.setenv("REMIT_ENCRYPTION_KEY", "not-a-fernet-key")
    with pytest.raises(ImproperlyConfigured, match="REMIT_ENCRYPTION_KEY: key 1"):
        encrypt("x")


def test_the_autotask_secret_is_stored_encrypted(provider):
    row = PsaConnection(username="api@example.com", integration_code="CODE")
    row.secret = "at-secret-81c"
    row.save()
    stored = PsaConnection.objects.values_list("secret_encrypted", flat=True).get()
    assert "at-secret-81c" not in stored
    assert PsaConnection.objects.get().secret == "at-secret-81c"
