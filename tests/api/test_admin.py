"""API keys in the back office: created with scopes and shown once, scopes changed, revoked."""

import re

import pytest

from remit.api.keys import api_key_authenticate
from remit.api.models import ApiKey
from remit.audit.models import AuditEvent
from tests.factories import sign_in_staff

ADD = "/backoffice/api/apikey/add/"
LIST = "/backoffice/api/apikey/"


@pytest.fixture
def as_staff(client, staff):
    sign_in_staff(client, staff)  # password and TOTP code
    return client


def test_a_new_key_is_shown_once(as_staff, staff):
    response = as_staff.post(
        ADD, {"name": "Autotask", "scopes": ["invoices:write", "payments:read"]}
    )
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    key = re.search(r"rmt_[A-Za-z0-9]{8}_[A-Za-z0-9_-]{20,}", response.content.decode()).group()
    api_key = api_key_authenticate(key)
    assert (api_key.name, api_key.scopes, api_key.created_by) == (
        "Autotask",
        ["invoices:write", "payments:read"],
        staff,
    )
    for page in (LIST, f"/backoffice/api/apikey/{api_key.pk}/change/"):
        shown = as_staff.get(page)
        assert shown.status_code == 200
        assert api_key.prefix in shown.content.decode()
        assert key not in shown.content.decode()


def test_a_live_name_cannot_be_taken_twice(as_staff):
    as_staff.post(ADD, {"name": "Autotask", "scopes": ["payments:read"]})
    response = as_staff.post(ADD, {"name": "Autotask", "scopes": ["payments:read"]})
    assert "already has this name" in response.content.decode()
    assert ApiKey.objects.count() == 1


def test_scopes_change_and_are_audited(as_staff, make_key):
    api_key, _ = make_key("payments:read", name="Xero")
    url = f"/backoffice/api/apikey/{api_key.pk}/change/"
    response = as_staff.post(url, {"scopes": ["payments:read", "refunds:write"]})
    assert response.status_code == 302
    api_key.refresh_from_db()
    assert api_key.scopes == ["payments:read", "refunds:write"]
    event = AuditEvent.objects.get(action="api_key.scopes_changed")
    assert event.details == {
        "before": ["payments:read"],
        "after": ["payments:read", "refunds:write"],
    }


def test_keys_are_revoked_not_deleted(as_staff, make_key):
    api_key, key = make_key("payments:read", name="Xero")
    response = as_staff.post(LIST, {"action": "revoke", "_selected_action": [api_key.pk]})
    assert response.status_code == 302
    assert api_key_authenticate(key) is None
    assert AuditEvent.objects.filter(action="api_key.revoked").count() == 1
    assert as_staff.post(f"/backoffice/api/apikey/{api_key.pk}/delete/").status_code == 403


def test_client_users_stay_out(client, manager):
    client.force_login(manager)
    for url in (LIST, ADD):
        assert client.get(url).status_code != 200
    assert client.post(ADD, {"name": "Mine", "scopes": ["refunds:write"]}).status_code != 200
    assert not ApiKey.objects.exists()


def test_a_revoked_keys_scopes_are_frozen(as_staff, make_key):
    api_key, _ = make_key("payments:read", name="Xero")
    as_staff.post(LIST, {"action": "revoke", "_selected_action": [api_key.pk]})
    url = f"/backoffice/api/apikey/{api_key.pk}/change/"
    as_staff.post(url, {"scopes": ["refunds:write"]})
    api_key.refresh_from_db()
    assert api_key.scopes == ["payments:read"]
