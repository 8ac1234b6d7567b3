"""Sign in by email, sign out, password reset by email, lockout after repeated failures, CSRF."""

import datetime
import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from remit.audit.models import AuditEvent
from tests.factories import PASSWORD
from tests.outbox.conftest import smtp_back_up
from tests.payments.conftest import run_worker

LOGIN = reverse("login")


@pytest.mark.django_db
class TestSignIn:
    def test_sign_in_by_email_any_case(self, client, manager):
        response = client.post(
            LOGIN, {"username": "Manager@Northwind.Example", "password": PASSWORD}
        )
        assert response.status_code == 302
        assert response["Location"] == reverse("home")
        assert "Recent Invoices" in client.get(reverse("home")).text

    def test_wrong_password_keeps_email_and_says_so(self, client, manager):
        response = client.post(LOGIN, {"username": manager.email, "password": "nope"})
        assert response.status_code == 200
        assert "do not match an account" in response.text
        assert f'value="{manager.email}"' in response.text
        assert 'value="nope"' not in response.text

    def test_staff_use_the_back_office(self, client, staff):
        response = client.post(LOGIN, {"username": staff.email, "password": PASSWORD})
        assert response.status_code == 200
        assert "sign in to the back office" in response.text

    def test_inactive_organization_cannot_sign_in(self, client, manager):
        manager.organization.is_active = False
        manager.organization.save()
        response = client.post(LOGIN, {"username": manager.email, "password": PASSWORD})
        assert response.status_code == 200
        assert "_auth_user_id" not in client.session

    def test_sign_out(self, as_manager):
        response = as_manager.post(reverse("logout"))
        assert response.status_code == 302
        assert as_manager.get(reverse("home")).status_code == 302

    def test_passwords_are_hashed_with_argon2(self, manager):
        assert manager.password.startswith("argon2")

    def test_production_hasher_is_argon2(self):
        from remit import settings as production

        assert production.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")


@pytest.mark.django_db
class TestLockout:
    def test_locked_out_after_five_failures_even_with_the_right_password(self, client, manager):
        for _ in range(5):
            client.post(LOGIN, {"username": manager.email, "password": "wrong"})
        response = client.post(LOGIN, {"username": manager.email, "password": PASSWORD})
        assert response.status_code == 429
        assert "Too many sign-in attempts" in response.text
        assert "_auth_user_id" not in client.session

    def test_lockout_state_is_shared_through_the_database(self, manager):
        """Failures seen by one process are counted by every other (another client here)."""
        for _ in range(5):
            Client().post(LOGIN, {"username": manager.email, "password": "wrong"})
        response = Client().post(LOGIN, {"username": manager.email, "password": PASSWORD})
        assert response.status_code == 429
        from axes.models import AccessAttempt

        assert AccessAttempt.objects.filter(username=manager.email).exists()

    def test_fewer_failures_still_sign_in(self, client, manager):
        for _ in range(4):
            client.post(LOGIN, {"username": manager.email, "password": "wrong"})
        response = client.post(LOGIN, {"username": manager.email, "password": PASSWORD})
        assert response.status_code == 302


@pytest.mark.django_db
class TestPasswordReset:
    def test_reset_by_email(self, client, manager):
        response = client.post(reverse("password_reset"), {"email": manager.email})
        assert response.status_code == 302
        assert mail.outbox == []  # the background worker sends it, through the outbox
        run_worker()
        assert len(mail.outbox) == 1
        message = mail.outbox[0]
        assert message.to == [manager.email]
        assert "Harbor Point IT" in message.subject
        link = re.search(r"http://testserver(/password-reset/\S+/)", message.body).group(1)
        form = client.get(link, follow=True)
        assert "Choose a new password" in form.text
        new_password = "a much better passphrase 2026"
        done = client.post(
            form.redirect_chain[-1][0] if form.redirect_chain else link,
            {"new_password1": new_password, "new_password2": new_password},
        )
        assert done.status_code == 302
        signed_in = Client().post(LOGIN, {"username": manager.email, "password": new_password})
        assert signed_in.status_code == 302

    def test_unknown_email_looks_the_same_and_sends_nothing(self, client, manager):
        response = client.post(reverse("password_reset"), {"email": "nobody@nowhere.example"})
        assert response.status_code == 302
        run_worker()
        assert mail.outbox == []

    def test_a_mail_server_that_is_down_neither_fails_the_page_nor_loses_the_email(
        self, client, manager, smtp_down, time_machine
    ):
        from remit.outbox.models import OutgoingEmail

        time_machine.move_to(timezone.now(), tick=True)
        response = client.post(reverse("password_reset"), {"email": manager.email})
        assert response.status_code == 302
        run_worker()  # the first attempt meets a closed port
        email = OutgoingEmail.objects.get(kind="password_reset")
        assert (email.status, email.attempts) == ("pending", 1)

        smtp_back_up(smtp_down)
        time_machine.shift(datetime.timedelta(minutes=3))
        run_worker()
        (message,) = mail.outbox
        assert message.to == [manager.email]
        assert "/password-reset/" in message.body


@pytest.mark.django_db
def test_sign_in_refuses_a_post_without_csrf_token(manager):
    client = Client(enforce_csrf_checks=True)
    response = client.post(LOGIN, {"username": manager.email, "password": PASSWORD})
    assert response.status_code == 403


@pytest.mark.django_db
def test_audit_records_sign_in(client, manager):
    client.post(LOGIN, {"username": manager.email, "password": PASSWORD})
    Client().post(LOGIN, {"username": manager.email, "password": "wrong"})
    actions = list(AuditEvent.objects.values_list("action", "outcome", "actor_label"))
    assert ("auth.sign_in", "success", manager.email) in actions
    assert ("auth.sign_in", "failure", manager.email) in actions
