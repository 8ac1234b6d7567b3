"""Staff set up two-step sign-in from an invitation link (single use, expiring, stored hashed,
audited), never with their password alone."""

import datetime
import hashlib
import io
import re

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from remit.accounts.models import User
from remit.backoffice.invitations import invitation_url, issue_staff_invitation
from remit.backoffice.models import StaffInvitation
from tests.backoffice.conftest import audit, current_code
from tests.factories import PASSWORD, staff_user
from tests.payments.conftest import run_worker

SETUP = "/backoffice/invitation/set-up/"


def link_path(token: str) -> str:
    return invitation_url(token, base_url="")


def open_link(client, token: str):
    response = client.get(link_path(token))
    assert response.status_code == 302, response.content
    assert response["Location"] == SETUP
    return client.get(SETUP)


def setup_device(user) -> TOTPDevice:
    return TOTPDevice.objects.get(user=user, confirmed=False)


def finish(client, user, password=PASSWORD):
    code = current_code(setup_device(user))
    return client.post(SETUP, {"password": password, "code": code})


@pytest.mark.django_db
class TestPasswordAlone:
    def test_a_password_alone_does_not_enrol_a_second_factor(self, client, staff):
        """Whoever learns a new colleague's password first must not own their second factor."""
        response = client.post(
            "/backoffice/login/", {"username": staff.email, "password": PASSWORD}
        )
        # Whatever they try next, no authenticator app gets set up for this account.
        page = client.get("/backoffice/mfa/setup/")
        device = TOTPDevice.objects.filter(user=staff).first()
        if device is not None:
            client.post("/backoffice/mfa/setup/", {"code": current_code(device)})
        assert not TOTPDevice.objects.filter(user=staff, confirmed=True).exists()
        assert "mfa-secret" not in page.text
        assert client.get("/backoffice/")["Location"].startswith("/backoffice/login/")
        # They are told what to do instead.
        assert response.status_code == 200
        assert "Open the set-up link in your invitation email" in response.text
        assert audit("auth.sign_in", actor=staff, outcome="refused").count() == 1

    def test_a_session_without_a_device_cannot_enrol_either(self, client, staff):
        client.force_login(staff)
        page = client.get("/backoffice/mfa/setup/")
        assert page.status_code == 200
        assert "invitation email" in page.text
        assert "mfa-secret" not in page.text
        assert not TOTPDevice.objects.filter(user=staff).exists()
        refused = client.post("/backoffice/mfa/setup/", {"code": "123456"})
        assert refused.status_code == 403
        assert not TOTPDevice.objects.filter(user=staff).exists()
        assert audit("auth.mfa_setup", actor=staff, outcome="refused").count() == 1


@pytest.mark.django_db
class TestTheLink:
    def test_a_colleague_sends_a_link_and_it_sets_up_mfa_once(self, client, staff, provider):
        from tests.backoffice.conftest import sign_in_verified

        newcomer = staff_user(email="newcomer@harborpoint.example", first_name="Robin")
        sign_in_verified(client, staff)
        client.post(
            "/backoffice/accounts/user/",
            {"action": "invite_staff_mfa", "_selected_action": [newcomer.pk]},
        )
        assert audit("staff.invited", actor=staff, object_id=str(newcomer.pk)).count() == 1
        assert not mail.outbox  # the background worker sends it
        run_worker()
        (message,) = mail.outbox
        assert message.to == ["newcomer@harborpoint.example"]
        assert "within 72 hours" in message.body
        token_path = re.search(r"http://testserver(/backoffice/invitation/\S+/)", message.body)[1]
        token = token_path.rstrip("/").rsplit("/", 1)[1]
        # Stored hashed: the token itself is nowhere in the database.
        invitation = StaffInvitation.objects.get(user=newcomer)
        assert invitation.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert not StaffInvitation.objects.filter(token_hash=token).exists()
        assert invitation.created_by == staff

        client.post("/backoffice/logout/")
        page = open_link(client, token)
        assert page.status_code == 200
        assert "newcomer@harborpoint.example" in page.text
        assert 'class="mfa-secret"' in page.text
        done = finish(client, newcomer)
        assert done.status_code == 302
        assert done["Location"] == "/backoffice/"
        assert client.get("/backoffice/").status_code == 200  # signed in and verified
        assert TOTPDevice.objects.get(user=newcomer).confirmed
        invitation.refresh_from_db()
        assert invitation.used_at is not None
        assert audit("auth.staff_invitation_issued", object_id=str(newcomer.pk)).count() == 1
        assert audit("auth.staff_invitation_used", actor=newcomer).count() == 1
        assert audit("auth.mfa_setup", actor=newcomer, outcome="success").count() == 1

        # Single use: the same link again is refused, even by the same person.
        client.post("/backoffice/logout/")
        again = client.get(token_path)
        assert again.status_code == 410
        assert "used already" in again.text
        assert audit("auth.staff_invitation_refused", actor=newcomer).count() == 1

    def test_an_expired_link_is_refused(self, client, staff, time_machine):
        time_machine.move_to(timezone.now(), tick=False)
        token = issue_staff_invitation(staff)
        time_machine.shift(datetime.timedelta(hours=72, seconds=1))
        response = client.get(link_path(token))
        assert response.status_code == 410
        assert "This link has expired" in response.text
        assert not TOTPDevice.objects.filter(user=staff).exists()
        assert audit("auth.staff_invitation_refused", actor=staff, outcome="refused").exists()

    def test_it_expires_while_the_page_is_open(self, client, staff, time_machine, settings):
        settings.STAFF_INVITATION_HOURS = 1
        time_machine.move_to(timezone.now(), tick=False)
        token = issue_staff_invitation(staff)
        open_link(client, token)
        time_machine.shift(datetime.timedelta(hours=1))
        response = finish(client, staff)
        assert response.status_code == 410
        assert not TOTPDevice.objects.filter(user=staff, confirmed=True).exists()

    def test_a_wrong_token_is_refused_and_audited(self, client, staff):
        token = issue_staff_invitation(staff)
        response = client.get(link_path(token[:-2] + ("AA" if token[-2:] != "AA" else "BB")))
        assert response.status_code == 404
        assert "This link is not valid" in response.text
        assert client.get(SETUP).status_code == 404  # nothing was put in the session
        assert audit("auth.staff_invitation_refused", actor_label="anonymous").count() == 2

    def test_a_newer_invitation_replaces_the_older(self, client, staff):
        old = issue_staff_invitation(staff)
        new = issue_staff_invitation(staff)
        assert client.get(link_path(old)).status_code == 410
        assert open_link(client, new).status_code == 200

    def test_the_link_also_needs_the_password(self, client, staff):
        token = issue_staff_invitation(staff)
        open_link(client, token)
        response = finish(client, staff, password="not the password!")
        assert response.status_code == 200
        assert "That is not your password" in response.text
        assert not TOTPDevice.objects.filter(user=staff, confirmed=True).exists()
        assert StaffInvitation.objects.get(user=staff).used_at is None
        assert audit("auth.sign_in", actor_label=staff.email, outcome="failure").count() == 1

    def test_a_wrong_code_keeps_the_link_and_is_audited(self, client, staff):
        token = issue_staff_invitation(staff)
        open_link(client, token)
        wrong = f"{(int(current_code(setup_device(staff))) + 1) % 1_000_000:06d}"
        response = client.post(SETUP, {"password": PASSWORD, "code": wrong})
        assert "That code did not match" in response.text
        assert StaffInvitation.objects.get(user=staff).used_at is None
        assert audit("auth.mfa_setup", actor=staff, outcome="failure").count() == 1

    def test_staff_with_mfa_already_cannot_use_a_link(self, client, staff):
        from tests.backoffice.conftest import confirmed_device

        token = issue_staff_invitation(staff)
        confirmed_device(staff)
        response = client.get(link_path(token))
        assert response.status_code == 410
        assert "already set up" in response.text

    def test_reset_mfa_sends_a_new_link(self, as_staff, provider):
        from tests.backoffice.conftest import confirmed_device

        colleague = staff_user(email="colleague@harborpoint.example")
        confirmed_device(colleague)
        as_staff.post(
            "/backoffice/accounts/user/",
            {"action": "reset_mfa", "_selected_action": [colleague.pk]},
        )
        assert not TOTPDevice.objects.filter(user=colleague).exists()
        run_worker()
        assert [m.to for m in mail.outbox] == [["colleague@harborpoint.example"]]
        assert "/backoffice/invitation/" in mail.outbox[0].body


@pytest.mark.django_db
class TestInviteStaffCommand:
    def test_the_first_staff_member_of_a_fresh_install(self, client, provider):
        out = io.StringIO()
        call_command(
            "invite_staff", "Admin@Example.com", "--base-url", "https://portal", stdout=out
        )
        admin = User.objects.get(email="admin@example.com")
        assert admin.is_superuser
        assert admin.is_staff
        assert not admin.has_usable_password()
        url = re.search(r"https://portal(/backoffice/invitation/\S+/)", out.getvalue())[1]
        client.get(url)
        page = client.get(SETUP)
        assert "Choose a password" in page.text
        code = current_code(setup_device(admin))
        mismatch = client.post(
            SETUP,
            {"new_password1": "a long new passphrase", "new_password2": "different", "code": code},
        )
        assert "The two passwords do not match" in mismatch.text
        done = client.post(
            SETUP,
            {
                "new_password1": "a long new passphrase",
                "new_password2": "a long new passphrase",
                "code": code,
            },
        )
        assert done["Location"] == "/backoffice/"
        admin.refresh_from_db()
        assert admin.check_password("a long new passphrase")
        assert client.get("/backoffice/").status_code == 200

    def test_it_refuses_clients_and_staff_already_set_up(self, manager, staff):
        from tests.backoffice.conftest import confirmed_device

        with pytest.raises(CommandError, match="client user"):
            call_command("invite_staff", manager.email, stdout=io.StringIO())
        confirmed_device(staff)
        with pytest.raises(CommandError, match="--reset"):
            call_command("invite_staff", staff.email, stdout=io.StringIO())
        out = io.StringIO()
        call_command("invite_staff", staff.email, "--reset", stdout=out)
        assert "/backoffice/invitation/" in out.getvalue()
        assert not TOTPDevice.objects.filter(user=staff).exists()
        assert audit("auth.mfa_reset", object_id=str(staff.pk)).count() == 1


@pytest.mark.django_db
def test_the_demo_prints_a_set_up_link(client, provider):
    from remit.core.management.commands.demo import STAFF, Command

    call_command("seed_demo", stdout=io.StringIO())
    link = Command._staff_setup_link(8000)
    assert link.startswith("http://127.0.0.1:8000/backoffice/invitation/")
    staff = User.objects.get(email=STAFF[0])
    client.get(link.removeprefix("http://127.0.0.1:8000"))
    client.get(SETUP)
    done = finish(client, staff, password="remit-demo-2026")
    assert done["Location"] == "/backoffice/"
    assert Command._staff_setup_link(8000) is None  # set up: the demo prints no link any more
