"""Portal users: invited by email (they choose their password from a link), deactivated (signed
out at once), security levels and their permissions; organizations."""

import re

import pytest
from django.contrib.sessions.models import Session
from django.core import mail
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from remit.accounts.models import PortalPermission, SecurityLevel, User
from tests.backoffice.conftest import audit, confirmed_device
from tests.factories import PASSWORD
from tests.payments.conftest import run_worker

NEW_PASSWORD = "a long new password 2026"


@pytest.mark.django_db
class TestInvite:
    def test_staff_invite_a_user_who_then_chooses_a_password(self, as_staff, northwind):
        level = SecurityLevel.objects.get(name="Manager")
        response = as_staff.post(
            "/backoffice/accounts/user/add/",
            {
                "email": "New.Person@Northwind.example",
                "first_name": "New",
                "last_name": "Person",
                "organization": northwind.pk,
                "security_level": level.pk,
                "_save": "Save",
            },
        )
        assert response.status_code == 302
        user = User.objects.get(email="new.person@northwind.example")
        assert not user.has_usable_password()
        assert (user.organization, user.security_level, user.is_staff) == (northwind, level, False)
        assert audit("user.invited", object_id=str(user.pk), organization=northwind).count() == 1

        assert not mail.outbox  # the background worker sends it
        assert run_worker() == 1
        (message,) = mail.outbox
        assert message.to == ["new.person@northwind.example"]
        assert "Harbor Point IT" in message.subject
        link = re.search(r"http://testserver(/invite/\S+/)", message.body).group(1)

        person = Client()
        page = person.get(link, follow=True)
        assert "Choose a password for new.person@northwind.example" in page.text
        done = person.post(
            page.redirect_chain[-1][0],
            {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        )
        assert done.status_code == 302
        assert (
            person.post(
                "/login/", {"username": "new.person@northwind.example", "password": NEW_PASSWORD}
            ).status_code
            == 302
        )
        assert audit("user.invitation_accepted").count() == 1
        # The link works once.
        assert "This invitation no longer works" in Client().get(link, follow=True).text

    def test_an_existing_email_is_refused(self, as_staff, northwind, manager):
        response = as_staff.post(
            "/backoffice/accounts/user/add/",
            {
                "email": manager.email.upper(),
                "organization": northwind.pk,
                "security_level": manager.security_level_id,
            },
        )
        assert response.status_code == 200
        assert "A user with this email already exists." in response.text
        assert not mail.outbox

    def test_the_invitation_can_be_sent_again(self, as_staff, northwind, manager):
        invited = User.objects.create_user(
            "invited@northwind.example",
            None,
            organization=northwind,
            security_level=manager.security_level,
        )
        as_staff.post(
            "/backoffice/accounts/user/",
            {"action": "resend_invitation", "_selected_action": [invited.pk, manager.pk]},
        )
        run_worker()
        assert [m.to for m in mail.outbox] == [["invited@northwind.example"]]


@pytest.mark.django_db
class TestDeactivate:
    def test_a_deactivated_client_is_signed_out_at_once(self, as_staff, manager, invoice):
        person = Client()
        person.force_login(manager)
        assert person.get(f"/invoices/{invoice.pk}/").status_code == 200
        assert Session.objects.count() == 2

        response = as_staff.post(f"/backoffice/accounts/user/{manager.pk}/deactivate/")
        assert response.status_code == 302
        manager.refresh_from_db()
        assert not manager.is_active
        # Their session is gone and the next request is anonymous.
        assert Session.objects.count() == 1
        next_request = person.get(f"/invoices/{invoice.pk}/")
        assert next_request.status_code == 302
        assert next_request["Location"].startswith("/login/")
        event = audit("user.deactivated", object_id=str(manager.pk)).get()
        assert event.details["sessions_ended"] == 1
        assert event.actor.is_staff

    def test_unticking_active_on_the_users_page_signs_them_out_too(
        self, as_staff, manager, northwind
    ):
        person = Client()
        person.force_login(manager)
        response = as_staff.post(
            f"/backoffice/accounts/user/{manager.pk}/change/",
            {
                "email": manager.email,
                "first_name": manager.first_name,
                "last_name": manager.last_name,
                "organization": northwind.pk,
                "security_level": manager.security_level_id,
                "date_joined_0": "2026-01-01",
                "date_joined_1": "00:00:00",
                "_save": "Save",
            },
        )
        assert response.status_code == 302, response.context["adminform"].form.errors
        manager.refresh_from_db()
        assert not manager.is_active
        assert person.get("/")["Location"].startswith("/login/")
        assert audit("user.deactivated").count() == 1

    def test_the_bulk_action(self, as_staff, manager, plain_user):
        as_staff.post(
            "/backoffice/accounts/user/",
            {"action": "deactivate_users", "_selected_action": [manager.pk, plain_user.pk]},
        )
        assert not User.objects.filter(pk__in=[manager.pk, plain_user.pk], is_active=True).exists()
        assert audit("user.deactivated").count() == 2

    def test_staff_cannot_deactivate_themselves(self, as_staff, staff):
        assert as_staff.post(f"/backoffice/accounts/user/{staff.pk}/deactivate/").status_code == 403
        as_staff.post(
            "/backoffice/accounts/user/",
            {"action": "deactivate_users", "_selected_action": [staff.pk]},
        )
        staff.refresh_from_db()
        assert staff.is_active

    def test_a_deactivated_organization_signs_its_users_out(self, as_staff, manager, northwind):
        person = Client()
        person.force_login(manager)
        as_staff.post(
            f"/backoffice/accounts/organization/{northwind.pk}/change/",
            {
                "name": northwind.name,
                "billing_email": northwind.billing_email,
                "users-TOTAL_FORMS": "0",
                "users-INITIAL_FORMS": "0",
                "_save": "Save",
            },
        )
        northwind.refresh_from_db()
        assert not northwind.is_active
        assert person.get("/")["Location"].startswith("/login/")
        assert audit("organization.deactivated", organization=northwind).count() == 1


@pytest.mark.django_db
class TestPermissions:
    def test_staff_give_the_permission_to_the_user_level(self, as_staff, plain_user, invoice):
        user_level = SecurityLevel.objects.get(name="User")
        view = PortalPermission.objects.get(code=PortalPermission.VIEW_FINANCIALS)
        response = as_staff.post(
            f"/backoffice/accounts/securitylevel/{user_level.pk}/change/",
            {"name": "User", "description": "", "permissions": [view.pk]},
        )
        assert response.status_code == 302
        event = audit("security_level.permissions_changed").get()
        assert event.details["added"] == [PortalPermission.VIEW_FINANCIALS]
        person = Client()
        person.force_login(plain_user)
        assert person.get(f"/invoices/{invoice.pk}/").status_code == 200

    def test_changing_a_users_level_is_audited(self, as_staff, plain_user, northwind):
        manager_level = SecurityLevel.objects.get(name="Manager")
        as_staff.post(
            f"/backoffice/accounts/user/{plain_user.pk}/change/",
            {
                "email": plain_user.email,
                "organization": northwind.pk,
                "security_level": manager_level.pk,
                "is_active": "on",
                "date_joined_0": "2026-01-01",
                "date_joined_1": "00:00:00",
                "_save": "Save",
            },
        )
        event = audit("user.permissions_changed", object_id=str(plain_user.pk)).get()
        assert event.details["changes"]["security_level"] == ["User", "Manager"]

    def test_a_system_level_cannot_be_deleted(self, as_staff):
        level = SecurityLevel.objects.get(name="Manager")
        response = as_staff.post(
            f"/backoffice/accounts/securitylevel/{level.pk}/delete/", {"post": "yes"}
        )
        assert response.status_code == 403
        assert SecurityLevel.objects.filter(pk=level.pk).exists()


@pytest.mark.django_db
class TestStaffMfaReset:
    def test_staff_reset_a_colleagues_mfa(self, as_staff, staff):
        from tests.factories import staff_user

        colleague = staff_user(email="colleague@harborpoint.example")
        confirmed_device(colleague)
        person = Client()
        person.force_login(colleague)
        as_staff.post(
            "/backoffice/accounts/user/",
            {"action": "reset_mfa", "_selected_action": [colleague.pk, staff.pk]},
        )
        assert not TOTPDevice.objects.filter(user=colleague).exists()
        assert TOTPDevice.objects.filter(user=staff).exists()  # not one's own
        assert audit("auth.mfa_reset", object_id=str(colleague.pk)).count() == 1
        # Signed out; the password alone does not set up a new phone (the emailed link does).
        assert person.get("/backoffice/")["Location"].startswith("/backoffice/login/")
        refused = person.post(
            "/backoffice/login/", {"username": colleague.email, "password": PASSWORD}
        )
        assert "invitation email" in refused.text
        assert person.get("/backoffice/")["Location"].startswith("/backoffice/login/")


@pytest.mark.django_db
def test_staff_group_permission_changes_are_audited(as_staff):
    from django.contrib.auth.models import Permission

    refund = Permission.objects.get(codename="change_payment")
    response = as_staff.post(
        "/backoffice/auth/group/add/", {"name": "Billing clerks", "permissions": [refund.pk]}
    )
    assert response.status_code == 302
    event = audit("group.permissions_changed").get()
    assert event.details["added"] == ["change_payment"]
    assert audit("group.created").count() == 1
