"""bench/pages.py's two floor views exist only when a bench turns them on: a 404 in production."""

import importlib

import pytest
from django.urls import clear_url_caches

import remit.urls

FLOORS = ["/_bench/floor/plain", "/_bench/floor/signed-in"]


@pytest.fixture
def floors_on(settings):
    """remit.urls as it is built with REMIT_BENCH_FLOOR_VIEWS=1; rebuilt without afterwards."""
    settings.BENCH_FLOOR_VIEWS = True
    clear_url_caches()
    importlib.reload(remit.urls)
    yield
    settings.BENCH_FLOOR_VIEWS = False
    clear_url_caches()
    importlib.reload(remit.urls)


def test_off_by_default():
    from remit import settings as production

    assert production.BENCH_FLOOR_VIEWS is False


@pytest.mark.django_db
@pytest.mark.parametrize("path", FLOORS)
def test_not_found_in_production_settings(client, manager, path):
    client.force_login(manager)
    assert client.get(path).status_code == 404


@pytest.mark.django_db
def test_served_only_when_the_bench_turns_them_on(client, manager, floors_on):
    assert client.get("/_bench/floor/plain").content == b"ok"
    assert client.get("/_bench/floor/signed-in").status_code == 302  # login_required
    client.force_login(manager)
    assert "manager@northwind.example" in client.get("/_bench/floor/signed-in").text
