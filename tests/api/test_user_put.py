"""PUT /api/users/{external_id}: portal users of an organization, by the PSA's id."""

from remit.accounts.models import SecurityLevel, User
from remit.audit.models import AuditEvent
from tests.api.conftest import assert_problem, managed
from tests.factories import OrganizationFactory, user_of

URL = "/api/users/CT-7"


def org(api, external_id="CW-100"):
    """An organization the key manages (made in the back office, granted to the key by staff)."""
    return managed(api, OrganizationFactory(name="Fabrikam Inc", external_id=external_id))


def test_it_creates_a_user_without_a_password(api):
    fabrikam = org(api)
    response = api.put(
        URL,
        {
            "email": "Dana@Fabrikam.example",
            "first_name": "Dana",
            "last_name": "Birkby",
            "organization": "CW-100",
            "security_level": "Manager",
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["email"] == "dana@fabrikam.example"
    assert (body["organization"], body["security_level"]) == ("CW-100", "Manager")
    user = User.objects.get(external_id="CT-7")
    assert user.organization == fabrikam
    assert not user.has_usable_password()
    assert not user.is_staff
    event = AuditEvent.objects.get(action="user.created")
    assert event.actor_label == "ConnectWise PSA sync"
    assert event.organization == fabrikam


def test_new_users_default_to_the_user_level(api):
    org(api)
    api.put(URL, {"email": "dana@fabrikam.example", "organization": "CW-100"})
    assert User.objects.get(external_id="CT-7").security_level.name == SecurityLevel.USER


def test_the_same_put_twice_changes_nothing(api):
    org(api)
    data = {"email": "dana@fabrikam.example", "organization": "CW-100", "first_name": "Dana"}
    assert api.put(URL, data).status_code == 201
    assert api.put(URL, data).status_code == 200
    assert User.objects.filter(external_id="CT-7").count() == 1
    assert AuditEvent.objects.filter(action__startswith="user.").count() == 1


def test_it_updates_moves_and_audits(api):
    org(api)
    org(api, "CW-200")
    api.put(URL, {"email": "dana@fabrikam.example", "organization": "CW-100"})
    response = api.put(
        URL,
        {"email": "dana.b@fabrikam.example", "organization": "CW-200", "security_level": "Manager"},
    )
    assert response.status_code == 200
    user = User.objects.get(external_id="CT-7")
    assert user.email == "dana.b@fabrikam.example"
    assert user.organization.external_id == "CW-200"
    changes = AuditEvent.objects.get(action="user.updated").details["changes"]
    assert set(changes) == {"email", "organization", "security_level"}
    assert changes["security_level"] == ["User", "Manager"]


def test_deactivating_ends_their_sessions(api, client, manager):
    manager.organization.external_id = "CW-100"
    manager.organization.save()
    managed(api, manager.organization)
    manager.external_id = "CT-7"
    manager.save()
    client.force_login(manager)
    assert client.get("/").status_code == 200
    response = api.put(URL, {"email": manager.email, "organization": "CW-100", "is_active": False})
    assert response.status_code == 200
    assert response.json()["is_active"] is False
    page = client.get("/")
    assert page.status_code == 302
    assert "/login/" in page["Location"]


def test_a_user_from_the_back_office_is_linked_by_email_not_duplicated(api):
    fabrikam = org(api)
    existing = user_of(fabrikam, email="dana@fabrikam.example")
    response = api.put(URL, {"email": "DANA@fabrikam.example", "organization": "CW-100"})
    assert response.status_code == 200
    existing.refresh_from_db()
    assert existing.external_id == "CT-7"
    assert User.objects.filter(email="dana@fabrikam.example").count() == 1


def test_an_email_of_another_synced_user_is_a_conflict(api):
    fabrikam = org(api)
    user_of(fabrikam, email="dana@fabrikam.example", external_id="CT-1")
    response = api.put(URL, {"email": "dana@fabrikam.example", "organization": "CW-100"})
    assert_problem(response, 409, "conflict")
    assert not User.objects.filter(external_id="CT-7").exists()


def test_staff_are_out_of_reach(api, staff):
    org(api)
    response = api.put(URL, {"email": staff.email, "organization": "CW-100"})
    assert_problem(response, 409, "conflict")
    staff.refresh_from_db()
    assert staff.is_staff
    assert staff.organization is None
    assert staff.external_id is None


def test_unknown_organization_and_level_are_named(api):
    problem = assert_problem(
        api.put(URL, {"email": "dana@fabrikam.example", "organization": "CW-999"}),
        422,
        "unknown-reference",
    )
    assert problem["errors"][0]["pointer"] == "#/organization"
    org(api)
    problem = assert_problem(
        api.put(
            URL,
            {"email": "dana@fabrikam.example", "organization": "CW-100", "security_level": "Boss"},
        ),
        422,
        "unknown-reference",
    )
    assert problem["errors"][0]["pointer"] == "#/security_level"
    assert not User.objects.filter(external_id="CT-7").exists()


def test_a_bad_email_is_refused(api):
    org(api)
    problem = assert_problem(
        api.put(URL, {"email": "dana@", "organization": "CW-100"}), 422, "validation-error"
    )
    assert problem["errors"][0]["pointer"] == "#/email"
