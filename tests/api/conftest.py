"""API tests: keys with chosen scopes, and a client that sends one."""

import json
import uuid

import pytest

from remit.api.keys import api_key_create
from remit.api.models import Scope
from remit.payments.services.several import pay_invoices
from tests.payments.conftest import (
    new_card,
    pay,  # noqa: F401  (paying through the sandbox gateway)
)


class ApiClient:
    """Django's test client speaking JSON with `Authorization: Bearer <key>`."""

    def __init__(self, client, key: str | None, api_key=None):
        self.client, self.key, self.api_key = client, key, api_key

    def _headers(self, headers):
        base = {"Authorization": f"Bearer {self.key}"} if self.key else {}
        return {**base, **(headers or {})}

    def get(self, path, params=None, headers=None):
        return self.client.get(path, params or {}, headers=self._headers(headers))

    def put(self, path, data, headers=None):
        body = data if isinstance(data, str | bytes) else json.dumps(data)
        return self.client.put(
            path, body, content_type="application/json", headers=self._headers(headers)
        )

    def post(self, path, data, headers=None):
        body = data if isinstance(data, str | bytes) else json.dumps(data)
        return self.client.post(
            path, body, content_type="application/json", headers=self._headers(headers)
        )


@pytest.fixture
def pay_several(gateway, manager):
    """pay_several(invoices, choice=a new card): one payment of them all, each for its balance,
    as the Northwind manager through the sandbox gateway."""

    def _pay(invoices, choice=None):
        return pay_invoices(
            user=manager,
            selection=[(invoice.pk, None) for invoice in invoices],
            attempt_key=uuid.uuid4(),
            choice=choice or new_card(),
            gateway=gateway,
        )

    return _pay


@pytest.fixture
def make_key(db, staff):
    def make(*scopes: str, name: str | None = None):
        api_key, key = api_key_create(
            name=name or f"Key {'+'.join(scopes) or 'none'}", scopes=scopes, created_by=staff
        )
        return api_key, key

    return make


@pytest.fixture
def psa_key(make_key, provider):
    """A key with every scope, named like the integration."""
    return make_key(*Scope.values, name="ConnectWise PSA sync")


@pytest.fixture
def api(client, psa_key):
    return ApiClient(client, psa_key[1], psa_key[0])


@pytest.fixture
def api_as(client, make_key, provider):
    """api_as(*scopes): a client whose key holds exactly these scopes."""

    def make(*scopes: str):
        api_key, key = make_key(*scopes)
        return ApiClient(client, key, api_key)

    return make


def managed(api: ApiClient, organization):
    """Staff grant the organization to the client's key (as the key's back-office page does)."""
    api.api_key.organizations.add(organization)
    return organization


def assert_problem(response, status: int, slug: str | None = None) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status
    assert body["title"]
    assert body["type"] == (f"/api/problems/{slug}" if slug else "about:blank")
    return body
