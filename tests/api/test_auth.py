"""Every operation: no key, an unknown key or a revoked key is 401; a key without the operation's
scope is 403 — before the body is even looked at — and nothing is written."""

import uuid

import pytest
from django.core.management import call_command

from remit.accounts.models import Organization
from remit.api.keys import api_key_authenticate, api_key_revoke, hash_key
from remit.api.models import ApiKey, Scope
from remit.audit.models import AuditEvent
from tests.api.conftest import ApiClient, assert_problem

ORGANIZATION = {"name": "Fabrikam Inc"}
INVOICE = {
    "organization": "CW-1",
    "invoice_date": "2025-03-01",
    "due_date": "2025-03-31",
    "lines": [{"description": "Support", "quantity": "1", "unit_price": "10.00"}],
}
USER = {"email": "pat@fabrikam.example", "organization": "CW-1"}

# (method, path, body, the scope it needs)
OPERATIONS = [
    ("put", "/api/organizations/CW-1", ORGANIZATION, Scope.ORGANIZATIONS_WRITE),
    ("put", "/api/users/U-1", USER, Scope.USERS_WRITE),
    ("put", "/api/invoices/INV-1", INVOICE, Scope.INVOICES_WRITE),
    ("get", "/api/payments", None, Scope.PAYMENTS_READ),
    ("get", f"/api/payments/{uuid.uuid4()}", None, Scope.PAYMENTS_READ),
    ("post", f"/api/payments/{uuid.uuid4()}/refunds", {}, Scope.REFUNDS_WRITE),
    ("get", "/api/organizations/CW-1/statement", None, Scope.PAYMENTS_READ),
]
IDS = [f"{method} {path.split('/')[2]}" for method, path, _, _ in OPERATIONS]


def call(api: ApiClient, method, path, body):
    if method == "get":
        return api.get(path)
    headers = {"Idempotency-Key": "k-1"}
    return getattr(api, method)(path, body, headers=headers)


@pytest.mark.parametrize(("method", "path", "body", "scope"), OPERATIONS, ids=IDS)
class TestEveryOperation:
    def test_it_needs_a_key(self, client, provider, method, path, body, scope):
        response = call(ApiClient(client, None), method, path, body)
        assert_problem(response, 401)
        assert response["WWW-Authenticate"].startswith("Bearer")

    def test_it_refuses_an_unknown_key(self, client, psa_key, method, path, body, scope):
        _, key = psa_key
        forged = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
        for bad in (forged, "rmt_nothing", "not-a-key", ""):
            assert_problem(call(ApiClient(client, bad), method, path, body), 401)

    def test_it_refuses_a_revoked_key(self, client, psa_key, method, path, body, scope):
        api_key, key = psa_key
        api_key_revoke(api_key)
        assert_problem(call(ApiClient(client, key), method, path, body), 401)

    def test_it_refuses_a_key_without_the_scope(self, api_as, method, path, body, scope):
        others = [s for s in Scope.values if s != scope]
        response = call(api_as(*others), method, path, body)
        problem = assert_problem(response, 403)
        assert scope in problem["detail"]
        assert not Organization.objects.filter(external_id="CW-1").exists()
        assert not AuditEvent.objects.filter(details__via="api").exists()

    def test_scope_comes_before_validation(self, api_as, method, path, body, scope):
        others = [s for s in Scope.values if s != scope]
        if method == "get":
            response = api_as(*others).get(path, {"limit": "nope"})
        else:
            response = getattr(api_as(*others), method)(
                path, {"nonsense": True}, headers={"Idempotency-Key": "k"}
            )
        assert_problem(response, 403)

    def test_a_key_with_the_scope_gets_past_the_door(self, api_as, method, path, body, scope):
        response = call(api_as(scope), method, path, body)
        assert response.status_code not in (401, 403), response.content


class TestKeys:
    def test_only_a_hash_is_stored(self, psa_key):
        api_key, key = psa_key
        assert key.startswith(api_key.prefix + "_")
        assert len(key) > 50
        stored = ApiKey.objects.get(pk=api_key.pk)
        assert stored.secret_hash == hash_key(key)
        assert key not in str(ApiKey.objects.filter(pk=api_key.pk).values().first())

    def test_last_used_is_recorded(self, api, psa_key):
        api_key, _ = psa_key
        assert api_key.last_used_at is None
        api.get("/api/payments")
        api_key.refresh_from_db()
        assert api_key.last_used_at is not None

    def test_creation_and_revocation_are_audited(self, psa_key, staff):
        api_key, key = psa_key
        created = AuditEvent.objects.get(action="api_key.created")
        assert (created.actor, created.object_id) == (staff, str(api_key.pk))
        assert key not in str(created.details)
        assert key not in created.summary
        assert api_key_revoke(api_key, acting_user=staff)
        assert not api_key_revoke(api_key, acting_user=staff)  # once
        assert AuditEvent.objects.filter(action="api_key.revoked").count() == 1
        assert api_key_authenticate(key) is None

    def test_the_command_prints_the_key_once(self, provider, capsys):
        call_command("create_api_key", name="Xero", scopes="payments:read,refunds:write")
        out, err = capsys.readouterr()
        key = out.strip()
        api_key = api_key_authenticate(key)
        assert api_key.name == "Xero"
        assert api_key.scopes == ["payments:read", "refunds:write"]
        assert "Shown once" in err
        assert key not in err

    def test_the_command_refuses_unknown_scopes(self, provider):
        from django.core.management import CommandError

        with pytest.raises(CommandError, match="Unknown scope"):
            call_command("create_api_key", name="Xero", scopes="payments:write")
        assert not ApiKey.objects.exists()

    def test_the_command_revokes_by_prefix(self, psa_key, capsys):
        api_key, key = psa_key
        call_command("revoke_api_key", api_key.prefix)
        assert api_key_authenticate(key) is None
        assert "Revoked" in capsys.readouterr().out

    def test_two_live_keys_cannot_share_a_name(self, make_key):
        from remit.api.keys import ApiKeyError

        api_key, _ = make_key(Scope.PAYMENTS_READ, name="Sync")
        with pytest.raises(ApiKeyError):
            make_key(Scope.PAYMENTS_READ, name="Sync")
        api_key_revoke(api_key)
        make_key(Scope.PAYMENTS_READ, name="Sync")  # the name is free again
