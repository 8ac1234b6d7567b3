"""One person, one email, one lockout counter: addresses are compared in one normal form
(remit.accounts.emails.normalise_email) by sign-in, the lockout, password reset, the back office's
user forms and the stored rows, whatever the casing or surrounding spaces typed."""

import pytest
from axes.models import AccessAttempt
from django.apps import apps as django_apps
from django.core import mail
from django.test import Client
from django.urls import reverse

from remit.accounts.emails import normalise_email
from remit.accounts.models import User
from remit.audit.models import AuditEvent
from tests.factories import PASSWORD, confirmed_totp_device
from tests.payments.conftest import run_worker

PORTAL_LOGIN = reverse("login")
BACKOFFICE_LOGIN = "/backoffice/login/"


def variants(email: str) -> list[str]:
    """Ways to type one address that sign-in accepts as that address."""
    local, _, domain = email.partition("@")
    return [
        email.upper(),
        f"{local.capitalize()}@{domain.title()}",
        f"  {email}  ",
        f"{local}@{domain.upper()}",
        f" {email.swapcase()}",
        email,
    ]


def fail(client, url, username, times=1):
    for _ in range(times):
        response = client.post(url, {"username": username, "password": "wrong guess"})
        assert response.status_code in (200, 429)


def test_the_normal_form():
    assert normalise_email("  Dana.Birkby@Fabrikam.EXAMPLE \t") == "dana.birkby@fabrikam.example"
    assert normalise_email("ｄana@fabrikam.example") == "dana@fabrikam.example"  # fullwidth d


@pytest.mark.django_db
class TestPortalLockout:
    def test_failures_in_every_casing_count_as_one_person(self, client, manager):
        # Four case variants, four wrong guesses each: 16 guesses, none of them "five in a row".
        for username in variants(manager.email)[:4]:
            fail(client, PORTAL_LOGIN, username, times=4)
        response = client.post(PORTAL_LOGIN, {"username": manager.email, "password": PASSWORD})
        assert response.status_code == 429
        assert "Too many sign-in attempts" in response.text
        assert "_auth_user_id" not in client.session
        attempts = AccessAttempt.objects.all()
        assert [a.username for a in attempts] == [manager.email]

    def test_a_locked_account_does_not_sign_in_with_another_casing(self, client, manager):
        fail(client, PORTAL_LOGIN, manager.email, times=5)
        for username in variants(manager.email):
            response = Client().post(PORTAL_LOGIN, {"username": username, "password": PASSWORD})
            assert response.status_code == 429, username
        assert not AuditEvent.objects.filter(action="auth.sign_in", outcome="success").exists()

    def test_a_success_in_another_casing_does_not_lift_the_lockout(self, client, manager):
        fail(client, PORTAL_LOGIN, "  " + manager.email.upper(), times=5)
        Client().post(PORTAL_LOGIN, {"username": manager.email.title(), "password": PASSWORD})
        # The lock still holds, in the casing the guesses used and in the stored one.
        for username in (manager.email.upper(), manager.email):
            response = Client().post(PORTAL_LOGIN, {"username": username, "password": PASSWORD})
            assert response.status_code == 429, username
        assert AccessAttempt.objects.get(username=manager.email).failures_since_start >= 5

    def test_fewer_failures_in_mixed_casing_still_sign_in(self, client, manager):
        for username in variants(manager.email)[:4]:
            fail(client, PORTAL_LOGIN, username)
        response = client.post(
            PORTAL_LOGIN, {"username": " Manager@Northwind.Example ", "password": PASSWORD}
        )
        assert response.status_code == 302
        # The success cleared the one counter all those failures went to.
        assert not AccessAttempt.objects.exists()


@pytest.mark.django_db
class TestBackofficeLockout:
    def test_failures_in_every_casing_count_as_one_person(self, client, staff):
        confirmed_totp_device(staff)
        for username in variants(staff.email)[:4]:
            fail(client, BACKOFFICE_LOGIN, username, times=2)
        response = client.post(BACKOFFICE_LOGIN, {"username": staff.email, "password": PASSWORD})
        assert response.status_code == 429
        assert "_auth_user_id" not in client.session

    def test_a_locked_account_does_not_sign_in_with_another_casing(self, client, staff):
        confirmed_totp_device(staff)
        fail(client, BACKOFFICE_LOGIN, staff.email.upper(), times=5)
        for username in (staff.email.capitalize(), f" {staff.email} ", staff.email):
            response = Client().post(BACKOFFICE_LOGIN, {"username": username, "password": PASSWORD})
            assert response.status_code == 429, username
            assert "_auth_user_id" not in Client().session


@pytest.mark.django_db
class TestLookUps:
    def test_sign_in_with_spaces_and_casing(self, client, manager):
        response = client.post(
            PORTAL_LOGIN, {"username": "  MANAGER@northwind.EXAMPLE ", "password": PASSWORD}
        )
        assert response.status_code == 302

    def test_password_reset_in_another_casing_goes_to_the_stored_address(self, client, manager):
        response = client.post(reverse("password_reset"), {"email": " Manager@NORTHWIND.example "})
        assert response.status_code == 302
        run_worker()
        assert [message.to for message in mail.outbox] == [[manager.email]]

    def test_a_new_user_is_stored_normalised(self, northwind):
        from tests.factories import user_of

        user = user_of(northwind, email="  New.Person@Northwind.EXAMPLE ")
        assert user.email == "new.person@northwind.example"
        assert User.objects.get_by_natural_key("NEW.PERSON@northwind.example ") == user


@pytest.mark.django_db
class TestBackofficeUserForms:
    def test_an_invitation_in_another_casing_is_refused(self, client, staff, northwind, manager):
        from tests.factories import sign_in_staff

        sign_in_staff(client, staff)
        response = client.post(
            "/backoffice/accounts/user/add/",
            {
                "email": " MANAGER@Northwind.example",
                "organization": northwind.pk,
                "security_level": manager.security_level_id,
                "_save": "Save",
            },
        )
        assert response.status_code == 200
        assert "A user with this email already exists." in response.text
        assert User.objects.filter(email__iexact=manager.email).count() == 1

    def test_changing_an_email_to_another_users_in_another_casing_is_refused(
        self, client, staff, northwind, manager, plain_user
    ):
        from tests.factories import sign_in_staff

        sign_in_staff(client, staff)
        data = {
            "email": "  Manager@Northwind.EXAMPLE",
            "organization": northwind.pk,
            "security_level": plain_user.security_level_id,
            "is_active": "on",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
            "_save": "Save",
        }
        url = f"/backoffice/accounts/user/{plain_user.pk}/change/"
        response = client.post(url, data)
        assert response.status_code == 200
        assert "A user with this email already exists." in response.text
        plain_user.refresh_from_db()
        assert plain_user.email == "user@northwind.example"
        # Its own address in another casing is fine, and stored in the normal form.
        response = client.post(url, {**data, "email": " User@NORTHWIND.example "})
        assert response.status_code == 302
        plain_user.refresh_from_db()
        assert plain_user.email == "user@northwind.example"


@pytest.mark.django_db
class TestStoredRowsMigration:
    """accounts.0003_normalise_emails, run on rows written past User.save (bulk loads)."""

    def migrate(self):
        from importlib import import_module

        module = import_module("remit.accounts.migrations.0003_normalise_emails")
        module.normalise(django_apps, None)

    def test_stored_emails_are_normalised(self, manager):
        User.objects.filter(pk=manager.pk).update(email="  Manager@Northwind.Example")
        self.migrate()
        manager.refresh_from_db()
        assert manager.email == "manager@northwind.example"
        assert manager.is_active
        assert AuditEvent.objects.get(action="user.email_normalised").object_id == str(manager.pk)
        assert (
            Client()
            .post(PORTAL_LOGIN, {"username": "manager@northwind.example", "password": PASSWORD})
            .status_code
            == 302
        )

    def test_twins_keep_the_normalised_account_and_deactivate_the_other(self, manager, northwind):
        from tests.factories import user_of

        twin = user_of(northwind, email="twin@northwind.example")
        User.objects.filter(pk=twin.pk).update(email=" manager@northwind.example ")
        self.migrate()
        manager.refresh_from_db()
        twin.refresh_from_db()
        assert (manager.email, manager.is_active) == ("manager@northwind.example", True)
        assert twin.email == f"duplicate-{twin.pk}.manager@northwind.example"
        assert not twin.is_active
        event = AuditEvent.objects.get(action="user.deactivated", object_id=str(twin.pk))
        assert event.details["before"] == " manager@northwind.example "

    def test_nothing_to_do_writes_nothing(self, manager, plain_user):
        self.migrate()
        assert not AuditEvent.objects.exists()
