"""What every request reads comes from Django's cache and is dropped when it changes: the provider
row, a security level's permissions, the session (cached_db). And which cache production uses."""

import json
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from remit.accounts.models import PortalPermission, SecurityLevel
from remit.core import provider_cache
from remit.core.models import Provider
from remit.core.sessions import SessionStore


@pytest.mark.django_db
class TestProvider:
    def test_read_once_then_from_the_cache(self, provider):
        Provider.load()
        with CaptureQueriesContext(connection) as captured:
            loaded = Provider.load()
        assert len(captured) == 0
        assert loaded.name == "Harbor Point IT"
        assert loaded.time_zone == "America/New_York"

    def test_saving_drops_it(self, provider):
        Provider.load()
        provider.name = "Harbor Point Managed IT"
        provider.save()
        assert Provider.load().name == "Harbor Point Managed IT"

    def test_a_saved_setting_shows_on_the_next_page(self, as_manager, provider):
        assert "Harbor Point IT" in as_manager.get(reverse("home")).text
        provider.name = "Renamed IT"
        provider.save()
        assert "Renamed IT" in as_manager.get(reverse("home")).text

    def test_the_gateway_key_stays_encrypted_in_the_cache(self, provider):
        provider.gateway_security_key = "sk-very-secret-9876"
        provider.save()
        assert Provider.load().gateway_security_key == "sk-very-secret-9876"
        cached = cache.get(provider_cache._key())
        assert cached is not None
        assert "sk-very-secret-9876" not in json.dumps(cached, default=str)
        assert Provider.load().gateway_security_key == "sk-very-secret-9876"  # from the cache

    def test_deleting_drops_it(self, provider):
        Provider.load()
        Provider.objects.all().delete()
        assert Provider.load().name == "Your Service Provider"  # made again, not the cached one


@pytest.mark.django_db
class TestPermissions:
    def test_a_level_losing_view_invoices_hides_them_on_the_next_request(
        self, as_manager, manager, invoice
    ):
        url = reverse("invoice_list")
        assert as_manager.get(url).status_code == 200
        view = PortalPermission.objects.get(code=PortalPermission.VIEW_FINANCIALS)
        manager.security_level.permissions.remove(view)
        assert as_manager.get(url).status_code == 404
        manager.security_level.permissions.add(view)
        assert as_manager.get(url).status_code == 200

    def test_changed_from_the_permission_side_too(self, as_manager, manager, invoice):
        url = reverse("invoice_list")
        assert as_manager.get(url).status_code == 200
        view = PortalPermission.objects.get(code=PortalPermission.VIEW_FINANCIALS)
        view.security_levels.remove(manager.security_level)
        assert as_manager.get(url).status_code == 404
        view.security_levels.add(manager.security_level)
        assert as_manager.get(url).status_code == 200
        view.security_levels.clear()
        assert as_manager.get(url).status_code == 404

    def test_read_once_per_level(self, as_manager, as_user, manager, plain_user, invoice):
        from remit.accounts.permission_cache import codes_of

        codes_of(manager.security_level_id)
        with CaptureQueriesContext(connection) as captured:
            assert PortalPermission.VIEW_FINANCIALS in codes_of(manager.security_level_id)
        assert len(captured) == 0
        assert SecurityLevel.objects.count() >= 2


@pytest.mark.django_db
def test_a_session_ended_elsewhere_is_gone_here(client, manager):
    """Another process signs the session out (it deletes the row and the shared cache entry):
    this one does not find it in its cache any more."""
    client.force_login(manager)
    assert client.get(reverse("home")).status_code == 200
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    SessionStore(session_key=key).delete()  # what logout in another process does
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def production_cache(**env) -> dict:
    """The CACHES and SESSION_ENGINE that remit.settings makes in a fresh process with `env`."""
    code = (
        "import json, remit.settings as s; "
        "print(json.dumps({'backend': s.CACHES['default']['BACKEND'], "
        "'location': s.CACHES['default']['LOCATION'], 'sessions': s.SESSION_ENGINE}))"
    )
    base = {k: v for k, v in os.environ.items() if k not in ("CACHE_URL", "DJANGO_SETTINGS_MODULE")}
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**base, "SECRET_KEY": "x" * 50, "DEBUG": "0", **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)


def test_production_uses_redis_when_given_and_files_otherwise(tmp_path):
    redis = production_cache(CACHE_URL="redis://127.0.0.1:6379/3")
    assert redis["backend"] == "django.core.cache.backends.redis.RedisCache"
    assert redis["location"] == "redis://127.0.0.1:6379/3"
    files = production_cache(REMIT_VAR_DIR=str(tmp_path))
    assert files["backend"] == "django.core.cache.backends.filebased.FileBasedCache"
    assert files["location"].startswith(str(tmp_path))  # shared by every process on the machine
    assert redis["sessions"] == files["sessions"] == "remit.core.sessions"


def test_each_database_has_its_own_cache_entries(tmp_path):
    one = production_cache(REMIT_VAR_DIR=str(tmp_path), DATABASE_URL="postgres://h/one")
    two = production_cache(REMIT_VAR_DIR=str(tmp_path), DATABASE_URL="postgres://h/two")
    assert one["location"] != two["location"]


@pytest.mark.django_db(transaction=True)
def test_a_flag_cached_here_is_renewed_by_a_change_in_another_process(tmp_path):
    """The payment's flags (remit/core/flag_cache.py) rest on the shared cache: an endpoint added
    by another process (the back office's gunicorn worker) must be seen by this one (a worker
    recording a payment) at once, through production's file cache and a database both can see."""
    if connection.vendor != "postgresql":
        pytest.skip(
            "the other process needs a database it can see (the test's SQLite is in memory)"
        )
    from django.test import override_settings

    from remit.core import flag_cache
    from remit.webhooks.services import ANY_ACTIVE, _any_active

    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    location = production_cache(REMIT_VAR_DIR=str(tmp_path), DATABASE_URL=url)["location"]
    files = {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": location}
    with override_settings(CACHES={"default": files}):
        assert flag_cache.cached(ANY_ACTIVE, _any_active) is False
        with CaptureQueriesContext(connection) as captured:
            assert flag_cache.cached(ANY_ACTIVE, _any_active) is False
        assert len(captured) == 0  # kept in the files
        code = (
            "import django; django.setup(); from remit.webhooks.models import WebhookEndpoint; "
            "WebhookEndpoint.objects.create(url='https://hooks.example/remit')"
        )
        base = {k: v for k, v in os.environ.items() if k not in ("CACHE_URL",)}
        env = {"DJANGO_SETTINGS_MODULE": "remit.settings", "SECRET_KEY": "x" * 50, "DEBUG": "0"}
        env |= {"DATABASE_URL": url, "REMIT_VAR_DIR": str(tmp_path), "ALLOWED_HOSTS": "localhost"}
        subprocess.run([sys.executable, "-c", code], env={**base, **env}, check=True)
        assert flag_cache.cached(ANY_ACTIVE, _any_active) is True
