"""Staff sign in apart from clients, with a TOTP code every time; the first time, they set up an
authenticator app before anything else."""

import re

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.backoffice.conftest import audit, confirmed_device, current_code
from tests.factories import PASSWORD

LOGIN = "/backoffice/login/"


def sign_in(client, email, password=PASSWORD, next_url=""):
    data = {"username": email, "password": password}
    if next_url:
        data["next"] = next_url
    return client.post(LOGIN, data)


@pytest.mark.django_db
class TestFirstSignIn:
    """The first time, from the invitation link (tests/backoffice/test_staff_invitations.py has
    the link's own rules); the password alone is refused."""

    def test_staff_set_up_mfa_from_the_link_before_anything_else(self, client, staff):
        from remit.backoffice.invitations import invitation_url, issue_staff_invitation

        refused = sign_in(client, staff.email, next_url="/backoffice/payments/payment/")
        assert refused.status_code == 200
        assert "invitation email" in refused.text
        assert client.get("/backoffice/")["Location"].startswith(LOGIN)

        link = invitation_url(issue_staff_invitation(staff), base_url="")
        assert client.get(link)["Location"] == "/backoffice/invitation/set-up/"
        page = client.get("/backoffice/invitation/set-up/")
        assert page.status_code == 200
        html = page.text
        assert 'src="data:image/png;base64,' in html
        device = TOTPDevice.objects.get(user=staff)
        assert not device.confirmed
        secret = re.search(r'class="mfa-secret"[^>]*>([A-Z2-7 ]+)<', html).group(1)
        from base64 import b32decode

        assert b32decode(secret.replace(" ", "")) == device.bin_key
        # Reloading shows the same key (the app may have scanned it already).
        assert secret in client.get("/backoffice/invitation/set-up/").text

        done = client.post(
            "/backoffice/invitation/set-up/", {"password": PASSWORD, "code": current_code(device)}
        )
        assert done.status_code == 302
        device.refresh_from_db()
        assert device.confirmed
        assert client.get("/backoffice/payments/payment/").status_code == 200
        assert audit("auth.mfa_setup", actor=staff, outcome="success").count() == 1
        assert audit("auth.sign_in", actor=staff, outcome="success").exists()

    def test_a_malformed_code_is_refused_next_to_the_field(self, client, staff):
        from remit.backoffice.invitations import invitation_url, issue_staff_invitation

        client.get(invitation_url(issue_staff_invitation(staff), base_url=""))
        response = client.post(
            "/backoffice/invitation/set-up/", {"password": PASSWORD, "code": "12ab"}
        )
        assert "Enter the six digits" in response.text


@pytest.mark.django_db
class TestLaterSignIns:
    def test_staff_enter_a_code_after_the_password(self, client, staff):
        device = confirmed_device(staff)
        response = sign_in(client, staff.email)
        assert response["Location"] == "/backoffice/mfa/verify/"
        assert client.get("/backoffice/")["Location"].startswith("/backoffice/mfa/verify/")
        page = client.get("/backoffice/mfa/verify/")
        assert page.status_code == 200
        assert "mfa-secret" not in page.text  # the key is never shown again
        done = client.post("/backoffice/mfa/verify/", {"code": current_code(device)})
        assert done["Location"] == "/backoffice/"
        assert client.get("/backoffice/").status_code == 200
        assert audit("auth.mfa_verify", actor=staff, outcome="success").count() == 1

    def test_a_used_code_cannot_be_replayed(self, client, staff):
        device = confirmed_device(staff)
        code = current_code(device)
        sign_in(client, staff.email)
        client.post("/backoffice/mfa/verify/", {"code": code})
        client.post("/backoffice/logout/")
        sign_in(client, staff.email)
        response = client.post("/backoffice/mfa/verify/", {"code": code})
        assert response.status_code == 200
        assert audit("auth.mfa_verify", actor=staff, outcome="failure").count() == 1

    def test_wrong_codes_are_audited_and_then_throttled(self, client, staff):
        device = confirmed_device(staff)
        sign_in(client, staff.email)
        wrong = f"{(int(current_code(device)) + 500_000) % 1_000_000:06d}"
        client.post("/backoffice/mfa/verify/", {"code": wrong})
        response = client.post("/backoffice/mfa/verify/", {"code": current_code(device)})
        # After a failure django-otp makes the next try wait (1 s, 2 s, 4 s, ...).
        assert "Too many wrong codes" in response.text
        assert audit("auth.mfa_verify", actor=staff, outcome="failure").count() == 1
        assert audit("auth.mfa_verify", actor=staff, outcome="refused").count() == 1
        assert client.get("/backoffice/")["Location"].startswith("/backoffice/mfa/verify/")

    def test_staff_may_sign_out_half_way(self, client, staff):
        confirmed_device(staff)
        sign_in(client, staff.email)
        client.post("/backoffice/logout/")
        assert client.get("/backoffice/")["Location"].startswith("/backoffice/login/")

    def test_next_must_stay_on_this_site(self, client, staff):
        device = confirmed_device(staff)
        sign_in(client, staff.email, next_url="https://evil.example/")
        done = client.post(
            "/backoffice/mfa/verify/",
            {"code": current_code(device), "next": "https://evil.example/"},
        )
        assert done["Location"] == "/backoffice/"


@pytest.mark.django_db
class TestSeparateSignIns:
    def test_clients_cannot_sign_in_to_the_back_office(self, client, manager):
        response = sign_in(client, manager.email)
        assert response.status_code == 200
        assert "This sign-in is for provider staff" in response.text
        # Still anonymous on the back office's side.
        assert client.get("/backoffice/")["Location"].startswith(LOGIN)

    def test_staff_cannot_sign_in_to_the_client_portal(self, client, staff):
        response = client.post("/login/", {"username": staff.email, "password": PASSWORD})
        assert response.status_code == 200
        assert "Provider staff sign in to the back office" in response.text

    def test_a_wrong_password_is_audited(self, client, staff):
        response = sign_in(client, staff.email, password="wrong password!!")
        assert response.status_code == 200
        assert audit("auth.sign_in", actor_label=staff.email, outcome="failure").count() == 1

    def test_the_totp_helper_matches_the_device(self, staff):
        # The browser tests compute codes this way.
        device = confirmed_device(staff)
        assert totp(device.bin_key) == int(current_code(device))


@pytest.mark.django_db
def test_staff_are_locked_out_after_five_wrong_passwords(client, staff):
    confirmed_device(staff)
    for _ in range(5):
        sign_in(client, staff.email, password="not the password!")
    response = sign_in(client, staff.email)
    assert response.status_code == 429
    assert client.get("/backoffice/")["Location"].startswith(LOGIN)
