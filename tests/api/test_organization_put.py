"""PUT /api/organizations/{external_id}: create or update by the PSA's id, idempotently."""

from remit.accounts.models import Organization
from remit.audit.models import AuditEvent
from tests.api.conftest import assert_problem, managed
from tests.factories import OrganizationFactory

URL = "/api/organizations/CW-100"


def test_it_creates(api):
    response = api.put(URL, {"name": "Fabrikam Inc", "billing_email": "AP@Fabrikam.example"})
    assert response.status_code == 201
    body = response.json()
    assert body["external_id"] == "CW-100"
    assert body["name"] == "Fabrikam Inc"
    assert body["billing_email"] == "ap@fabrikam.example"
    assert body["is_active"] is True
    organization = Organization.objects.get(external_id="CW-100")
    assert organization.name == "Fabrikam Inc"
    event = AuditEvent.objects.get(action="organization.created")
    assert event.actor_label == "ConnectWise PSA sync"
    assert event.actor is None
    assert event.organization == organization
    assert (event.object_type, event.object_id) == ("organization", str(organization.pk))
    assert event.details["via"] == "api"
    assert event.ip_address == "127.0.0.1"


def test_the_same_put_twice_changes_nothing(api):
    data = {"name": "Fabrikam Inc", "billing_email": "ap@fabrikam.example", "is_active": True}
    assert api.put(URL, data).status_code == 201
    before = Organization.objects.get(external_id="CW-100")
    second = api.put(URL, data)
    assert second.status_code == 200
    assert Organization.objects.count() == 1
    assert AuditEvent.objects.filter(action__startswith="organization.").count() == 1
    assert second.json()["created_at"] == api.put(URL, data).json()["created_at"]
    assert Organization.objects.get(external_id="CW-100").name == before.name


def test_it_updates_and_audits_what_changed(api):
    api.put(URL, {"name": "Fabrikam Inc", "billing_email": "ap@fabrikam.example"})
    response = api.put(URL, {"name": "Fabrikam Incorporated", "is_active": False})
    assert response.status_code == 200
    organization = Organization.objects.get(external_id="CW-100")
    assert organization.name == "Fabrikam Incorporated"
    assert organization.is_active is False
    assert organization.billing_email == "ap@fabrikam.example"  # omitted: left as it was
    event = AuditEvent.objects.get(action="organization.updated")
    assert event.details["changes"] == {
        "name": ["Fabrikam Inc", "Fabrikam Incorporated"],
        "is_active": [True, False],
    }
    api.put(URL, {"name": "Fabrikam Incorporated", "billing_email": ""})
    assert Organization.objects.get(external_id="CW-100").billing_email == ""


def test_it_leaves_organizations_without_that_id_alone(api, northwind):
    api.put(URL, {"name": "Northwind Traders"})
    assert Organization.objects.filter(name="Northwind Traders").count() == 2
    northwind.refresh_from_db()
    assert northwind.external_id is None


def test_it_updates_one_made_in_the_back_office_once_given_its_id_and_granted(api):
    made = managed(api, OrganizationFactory(name="Tailspin Toys", external_id="CW-100"))
    assert api.put(URL, {"name": "Tailspin Toys LLC"}).status_code == 200
    made.refresh_from_db()
    assert made.name == "Tailspin Toys LLC"


def test_a_bad_email_is_refused(api):
    problem = assert_problem(
        api.put(URL, {"name": "X", "billing_email": "nope"}), 422, "validation-error"
    )
    assert problem["errors"][0]["pointer"] == "#/billing_email"
