"""An API key manages the organizations it created and those staff granted it, and nothing else: it
cannot update another's organization, nor create, link, update or move users outside its own
(403 `organization-not-managed`, audited, nothing written). Moving a user between two of its
organizations signs them out everywhere and is audited with the key's name."""

from importlib import import_module

import pytest
from django.apps import apps as django_apps
from django.core.management import call_command
from django.test import Client

from remit.accounts.models import Organization, User
from remit.api.models import ApiKey, Scope
from remit.audit.models import AuditEvent
from tests.api.conftest import ApiClient, assert_problem
from tests.factories import OrganizationFactory, sign_in_staff, user_of

SLUG = "organization-not-managed"
pytestmark = pytest.mark.django_db


@pytest.fixture
def psa(client, make_key, provider):
    """The PSA sync: the integration that created Fabrikam and its people."""
    api_key, key = make_key(*Scope.values, name="ConnectWise PSA sync")
    psa = ApiClient(client, key, api_key)
    assert psa.put("/api/organizations/CW-100", {"name": "Fabrikam Inc"}).status_code == 201
    return psa


@pytest.fixture
def intruder(make_key, provider):
    """Another integration's key with the same scopes, and an organization of its own."""
    api_key, key = make_key(*Scope.values, name="Side project sync")
    intruder = ApiClient(Client(), key, api_key)
    assert intruder.put("/api/organizations/EV-1", {"name": "Evil Corp"}).status_code == 201
    return intruder


def refused(response) -> dict:
    body = assert_problem(response, 403, SLUG)
    assert "this API key" in body["detail"]
    assert "grant" in body["detail"]
    return body


class TestTakeover:
    def test_a_back_office_user_of_another_organization_is_not_linked(
        self, intruder, manager, northwind
    ):
        """Northwind and its manager were made in the back office; no key was given them."""
        response = intruder.put(
            "/api/users/EV-USER-1",
            {"email": manager.email.upper(), "organization": "EV-1", "security_level": "Manager"},
        )
        refused(response)
        manager.refresh_from_db()
        assert (manager.organization, manager.external_id) == (northwind, None)
        event = AuditEvent.objects.get(outcome="refused", object_id=str(manager.pk))
        assert (event.action, event.actor_label) == ("user.linked", "Side project sync")
        assert event.details["reason"] == SLUG

    def test_another_integrations_user_is_not_moved_or_changed(self, psa, intruder):
        created = psa.put(
            "/api/users/CT-7", {"email": "dana@fabrikam.example", "organization": "CW-100"}
        )
        assert created.status_code == 201
        for body in (
            {"email": "dana@fabrikam.example", "organization": "EV-1"},
            {"email": "attacker@evil.example", "organization": "CW-100"},
        ):
            refused(intruder.put("/api/users/CT-7", body))
        dana = User.objects.get(external_id="CT-7")
        assert (dana.email, dana.organization.external_id) == ("dana@fabrikam.example", "CW-100")
        assert not AuditEvent.objects.filter(action="user.updated", outcome="success").exists()

    def test_no_users_are_created_in_another_integrations_organization(self, psa, intruder):
        response = intruder.put(
            "/api/users/EV-USER-2", {"email": "mole@evil.example", "organization": "CW-100"}
        )
        refused(response)
        assert not User.objects.filter(external_id="EV-USER-2").exists()

    def test_another_integrations_organization_is_not_updated(self, psa, intruder):
        response = intruder.put(
            "/api/organizations/CW-100",
            {"name": "Fabrikam Inc", "billing_email": "receipts@evil.example"},
        )
        refused(response)
        fabrikam = Organization.objects.get(external_id="CW-100")
        assert fabrikam.billing_email == ""
        event = AuditEvent.objects.get(action="organization.updated")
        assert (event.outcome, event.actor_label) == ("refused", "Side project sync")

    def test_the_problem_type_is_explained(self, client):
        response = client.get(f"/api/problems/{SLUG}")
        assert response.status_code == 200
        assert "grant" in response.text


class TestOwnOrganizations:
    def test_a_key_manages_what_it_created(self, psa):
        assert list(psa.api_key.organizations.values_list("external_id", flat=True)) == ["CW-100"]
        response = psa.put(
            "/api/users/CT-7", {"email": "dana@fabrikam.example", "organization": "CW-100"}
        )
        assert response.status_code == 201
        assert psa.put("/api/organizations/CW-100", {"name": "Fabrikam"}).status_code == 200

    def test_moving_a_user_ends_their_sessions_and_is_audited_with_the_key(self, psa):
        assert psa.put("/api/organizations/CW-200", {"name": "Fabrikam East"}).status_code == 201
        psa.put("/api/users/CT-7", {"email": "dana@fabrikam.example", "organization": "CW-100"})
        dana = User.objects.get(external_id="CT-7")
        browser = Client()
        browser.force_login(dana)
        assert browser.get("/").status_code == 200

        response = psa.put(
            "/api/users/CT-7", {"email": "dana@fabrikam.example", "organization": "CW-200"}
        )
        assert response.status_code == 200
        assert response.json()["organization"] == "CW-200"
        page = browser.get("/")
        assert page.status_code == 302
        assert "/login/" in page["Location"]
        event = AuditEvent.objects.get(action="user.moved")
        assert event.actor_label == "ConnectWise PSA sync"
        assert "ConnectWise PSA sync" in event.summary
        assert event.organization.external_id == "CW-200"
        assert event.details["from_organization"] == "CW-100"
        assert event.details["to_organization"] == "CW-200"
        assert event.details["sessions_ended"] == 1

    def test_an_update_within_the_organization_keeps_the_session(self, psa):
        psa.put("/api/users/CT-7", {"email": "dana@fabrikam.example", "organization": "CW-100"})
        browser = Client()
        browser.force_login(User.objects.get(external_id="CT-7"))
        body = {"email": "dana@fabrikam.example", "organization": "CW-100", "first_name": "Dana"}
        assert psa.put("/api/users/CT-7", body).status_code == 200
        assert browser.get("/").status_code == 200
        assert not AuditEvent.objects.filter(action="user.moved").exists()


class TestGrants:
    def test_staff_grant_a_back_office_organization_and_it_is_audited(
        self, client, staff, make_key, manager, northwind
    ):
        northwind.external_id = "CW-300"
        northwind.save()
        api_key, key = make_key(*Scope.values, name="ConnectWise PSA sync")
        api = ApiClient(Client(), key, api_key)
        body = {"email": manager.email, "organization": "CW-300"}
        refused(api.put("/api/users/CT-9", body))

        sign_in_staff(client, staff)
        page = client.post(
            f"/backoffice/api/apikey/{api_key.pk}/change/",
            {"scopes": api_key.scopes, "organizations": [northwind.pk]},
        )
        assert page.status_code == 302
        event = AuditEvent.objects.get(action="api_key.organizations_changed")
        assert (event.actor, event.details["granted"]) == (staff, ["CW-300"])
        assert client.get(f"/backoffice/api/apikey/{api_key.pk}/change/").status_code == 200

        assert api.put("/api/users/CT-9", body).status_code == 200  # linked now
        manager.refresh_from_db()
        assert manager.external_id == "CT-9"

    def test_a_replacement_key_gets_the_old_keys_organizations(self, psa, capsys):
        call_command(
            "create_api_key",
            name="ConnectWise PSA sync 2027",
            scopes="all",
            organizations_of=psa.api_key.prefix,
        )
        new = ApiKey.objects.get(name="ConnectWise PSA sync 2027")
        assert list(new.organizations.values_list("external_id", flat=True)) == ["CW-100"]

    def test_the_migration_grants_existing_keys_what_they_created(self, psa, intruder):
        """api.0002 reads the audit log: organizations a key created through the API are its."""
        ApiKey.organizations.through.objects.all().delete()
        OrganizationFactory(name="Made in the back office", external_id="BO-1")
        module = import_module("remit.api.migrations.0002_api_key_organizations")
        module.grant_created(django_apps, None)
        assert list(psa.api_key.organizations.values_list("external_id", flat=True)) == ["CW-100"]
        assert list(intruder.api_key.organizations.values_list("external_id", flat=True)) == [
            "EV-1"
        ]


def test_a_user_in_a_managed_organization_is_still_linked(psa):
    fabrikam = Organization.objects.get(external_id="CW-100")
    existing = user_of(fabrikam, email="dana@fabrikam.example")
    response = psa.put(
        "/api/users/CT-7", {"email": "Dana@Fabrikam.example ", "organization": "CW-100"}
    )
    assert response.status_code == 200
    existing.refresh_from_db()
    assert existing.external_id == "CT-7"
