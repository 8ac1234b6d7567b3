"""Client two-step sign-in: turned on from the account page (optional), required by the provider
for people who see invoices; the code (or a recovery code, each once) after the password; wrong
codes throttled; every step audited."""

import datetime
import re

import pytest
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from remit.audit.models import AuditEvent
from tests.factories import PASSWORD

SETUP = "/account/two-step/set-up/"
CODE = "/login/code/"


def audit(action: str, **filters):
    return AuditEvent.objects.filter(action=action, **filters)


def code_of(device: TOTPDevice) -> str:
    device.refresh_from_db()
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


def wrong_code(device: TOTPDevice) -> str:
    return f"{(int(code_of(device)) + 500_000) % 1_000_000:06d}"


def sign_in(client, user, next_url=""):
    data = {"username": user.email, "password": PASSWORD}
    if next_url:
        data["next"] = next_url
    return client.post("/login/", data)


def turn_on(client, user) -> list[str]:
    """Signed in, from the account page: scan, confirm with a code; returns the recovery codes."""
    sign_in(client, user)
    client.get(SETUP)
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    done = client.post(SETUP, {"code": code_of(device)})
    assert done.status_code == 302
    page = client.get(done["Location"])
    return re.findall(r"<code>([a-z0-9]{5}-[a-z0-9]{5})</code>", page.text)


@pytest.fixture
def frozen(time_machine):
    """Frozen time: TOTP codes stay put, and the throttle's waits pass only when shifted."""
    time_machine.move_to(timezone.now(), tick=False)
    return time_machine


def later(frozen, seconds=31):
    frozen.shift(datetime.timedelta(seconds=seconds))


@pytest.mark.django_db
class TestTurningItOn:
    def test_a_client_turns_on_totp_from_the_account_page(self, client, manager, frozen):
        sign_in(client, manager)
        account = client.get("/account/")
        assert account.status_code == 200
        assert "Turn on two-step sign-in" in account.text
        page = client.get(SETUP)
        assert 'src="data:image/png;base64,' in page.text
        assert 'class="mfa-secret"' in page.text
        # Reloading shows the same key (the app may have scanned it already).
        device = TOTPDevice.objects.get(user=manager, confirmed=False)
        assert client.get(SETUP).text.count(page.text.split('class="mfa-secret"')[1][:60]) == 1
        assert TOTPDevice.objects.filter(user=manager).count() == 1

        refused = client.post(SETUP, {"code": wrong_code(device)})
        assert "That code did not match" in refused.text
        later(frozen, 5)
        done = client.post(SETUP, {"code": code_of(device)})
        codes_page = client.get(done["Location"])
        codes = re.findall(r"<code>([a-z0-9]{5}-[a-z0-9]{5})</code>", codes_page.text)
        assert len(codes) == 10
        assert len(set(codes)) == 10
        assert "this is the only time they are shown" in codes_page.text
        # Shown once; stored only as keyed hashes.
        assert client.get("/account/two-step/recovery-codes/")["Location"] == "/account/"
        stored = set(StaticToken.objects.values_list("token", flat=True))
        assert not stored & {c for code in codes for c in (code, code.replace("-", ""))}
        device.refresh_from_db()
        assert device.confirmed
        assert "Recovery codes left: <strong>10</strong>" in client.get("/account/").text
        assert audit("auth.mfa_setup", actor=manager, outcome="success").count() == 1
        assert audit("auth.mfa_setup", actor=manager, outcome="failure").count() == 1

    def test_it_is_optional(self, client, manager, invoice):
        sign_in(client, manager)
        assert client.get("/reports/invoices/").status_code == 200

    def test_a_key_seen_in_another_session_is_not_the_one_confirmed(self, client, manager):
        from django.test import Client

        other = Client()
        other.force_login(manager)
        other.get(SETUP)
        seen = TOTPDevice.objects.get(user=manager)
        sign_in(client, manager)
        client.get(SETUP)
        mine = TOTPDevice.objects.get(user=manager, confirmed=False)
        assert mine.pk != seen.pk
        assert mine.bin_key != seen.bin_key


@pytest.mark.django_db
class TestSigningInWithIt:
    def test_password_then_the_code(self, client, manager, invoice, frozen):
        turn_on(client, manager)
        client.post("/logout/")
        later(frozen)
        response = sign_in(client, manager, next_url="/reports/invoices/")
        assert response["Location"] == "/reports/invoices/"
        # No financial data before the code.
        blocked = client.get("/reports/invoices/")
        assert blocked["Location"] == "/login/code/?next=%2Freports%2Finvoices%2F"
        assert client.get(f"/invoices/{invoice.pk}/pdf/")["Location"].startswith(CODE)
        assert client.get("/account/")["Location"].startswith(CODE)
        page = client.get(blocked["Location"])
        assert "Enter your code" in page.text
        device = TOTPDevice.objects.get(user=manager)
        done = client.post(CODE, {"code": code_of(device), "next": "/reports/invoices/"})
        assert done["Location"] == "/reports/invoices/"
        assert client.get("/reports/invoices/").status_code == 200
        assert audit("auth.mfa_verify", actor=manager, outcome="success").count() == 1

    def test_each_recovery_code_works_once(self, client, manager, invoice, frozen):
        codes = turn_on(client, manager)
        client.post("/logout/")
        sign_in(client, manager)
        done = client.post(CODE, {"code": codes[0].upper().replace("-", " ")})
        assert done["Location"] == "/"
        invoices = client.get("/reports/invoices/")
        assert invoices.status_code == 200
        assert "You used a recovery code; 9 left" in invoices.text
        assert audit("auth.mfa_verify", actor=manager, details__method="recovery").count() == 1

        client.post("/logout/")
        sign_in(client, manager)
        again = client.post(CODE, {"code": codes[0]})
        assert again.status_code == 200
        assert "That code did not match" in again.text
        assert client.get("/reports/invoices/")["Location"].startswith(CODE)
        later(frozen, 5)  # past the wait the failure caused
        assert client.post(CODE, {"code": codes[1]})["Location"] == "/"
        assert StaticToken.objects.filter(device__user=manager).count() == 8

    def test_wrong_codes_lock_out_and_are_audited(self, client, manager, frozen):
        turn_on(client, manager)
        client.post("/logout/")
        later(frozen)
        sign_in(client, manager)
        device = TOTPDevice.objects.get(user=manager)
        first = client.post(CODE, {"code": wrong_code(device)})
        assert "That code did not match" in first.text
        # Locked: even the right code, or a recovery code, is refused until the wait is over.
        right = client.post(CODE, {"code": code_of(device)})
        assert "Too many wrong codes" in right.text
        assert client.get("/reports/invoices/")["Location"].startswith(CODE)
        later(frozen, 2)
        client.post(CODE, {"code": "wrong-codes"})
        later(frozen, 2)
        client.post(CODE, {"code": wrong_code(device)})
        # Signing in again does not reset the count: it is kept on the device.
        client.post("/logout/")
        sign_in(client, manager)
        later(frozen, 3)
        assert "Too many wrong codes" in client.post(CODE, {"code": code_of(device)}).text
        assert audit("auth.mfa_verify", actor=manager, outcome="failure").count() == 3
        assert audit("auth.mfa_verify", actor=manager, outcome="refused").count() == 2
        later(frozen, 30)
        assert client.post(CODE, {"code": code_of(device)})["Location"] == "/"

    def test_a_malformed_code_is_refused_next_to_the_field(self, client, manager):
        turn_on(client, manager)
        client.post("/logout/")
        sign_in(client, manager)
        response = client.post(CODE, {"code": "12ab"})
        assert "Enter the six digits your app shows, or a recovery code" in response.text
        assert 'value="12ab"' in response.text


@pytest.mark.django_db
class TestProviderRequirement:
    @pytest.fixture
    def required(self, provider):
        provider.require_mfa_for_financials = True
        provider.save()
        return provider

    def test_people_who_see_invoices_set_it_up_first(self, client, manager, invoice, required):
        response = sign_in(client, manager, next_url="/reports/invoices/")
        blocked = client.get(response["Location"])
        assert blocked["Location"] == f"{SETUP}?next=%2Freports%2Finvoices%2F"
        assert client.get("/")["Location"] == SETUP
        assert client.get(f"/invoices/{invoice.pk}/")["Location"].startswith(SETUP)
        page = client.get(blocked["Location"])
        assert "requires two-step sign-in for people who see invoices" in page.text
        device = TOTPDevice.objects.get(user=manager)
        done = client.post(SETUP, {"code": code_of(device), "next": "/reports/invoices/"})
        codes = client.get(done["Location"])
        assert 'href="/reports/invoices/"' in codes.text
        assert client.get("/reports/invoices/").status_code == 200
        # Required: it cannot be turned off.
        account = client.get("/account/")
        assert "so it stays on" in account.text
        client.post("/account/two-step/turn-off/", {"code": code_of(device)})
        assert TOTPDevice.objects.filter(user=manager, confirmed=True).exists()

    def test_people_without_the_permission_are_not_asked(self, client, plain_user, required):
        sign_in(client, plain_user)
        assert client.get("/").status_code == 200

    def test_staff_turn_the_requirement_on_in_settings(self, client, staff, provider):
        from tests.backoffice.test_provider_settings import URL, settings_form
        from tests.factories import sign_in_staff

        sign_in_staff(client, staff)
        assert "Require two-step sign-in for users who see invoices" in client.get(URL).text
        response = client.post(URL, settings_form(require_mfa_for_financials="on"))
        assert response.status_code == 302
        provider.refresh_from_db()
        assert provider.require_mfa_for_financials
        event = audit("settings.changed").get()
        assert event.details["values"]["require_mfa_for_financials"] == [False, True]


@pytest.mark.django_db
class TestManagingIt:
    def test_turning_it_off_needs_a_code(self, client, manager, frozen):
        turn_on(client, manager)
        device = TOTPDevice.objects.get(user=manager)
        later(frozen)
        refused = client.post("/account/two-step/turn-off/", {"code": wrong_code(device)})
        assert refused.status_code == 400
        assert "That code did not match" in refused.text
        assert TOTPDevice.objects.filter(user=manager).exists()
        later(frozen)
        done = client.post("/account/two-step/turn-off/", {"code": code_of(device)})
        assert done["Location"] == "/account/"
        assert not TOTPDevice.objects.filter(user=manager).exists()
        assert not StaticToken.objects.filter(device__user=manager).exists()
        assert audit("auth.mfa_disable", actor=manager, outcome="success").count() == 1
        assert audit("auth.mfa_disable", actor=manager, outcome="failure").count() == 1
        client.post("/logout/")
        sign_in(client, manager)
        assert client.get("/").status_code == 200  # the password alone again

    def test_new_recovery_codes_replace_the_old(self, client, manager):
        old = turn_on(client, manager)
        response = client.post("/account/two-step/recovery-codes/")
        new = re.findall(
            r"<code>([a-z0-9]{5}-[a-z0-9]{5})</code>", client.get(response["Location"]).text
        )
        assert len(new) == 10
        assert not set(old) & set(new)
        assert audit("auth.mfa_recovery_codes_replaced", actor=manager).count() == 1
        client.post("/logout/")
        sign_in(client, manager)
        assert "did not match" in client.post(CODE, {"code": old[0]}).text

    def test_staff_reset_a_clients_two_step_sign_in(self, client, manager, staff):
        from tests.factories import sign_in_staff

        turn_on(client, manager)
        sign_in_staff(client, staff)
        client.post(
            "/backoffice/accounts/user/",
            {"action": "reset_mfa", "_selected_action": [manager.pk]},
        )
        assert not TOTPDevice.objects.filter(user=manager).exists()
        assert not StaticToken.objects.filter(device__user=manager).exists()
        assert audit("auth.mfa_reset", object_id=str(manager.pk)).count() == 1


@pytest.mark.django_db
def test_the_make_a_payment_dialog_sends_htmx_to_the_code_step(client, manager, invoice):
    turn_on(client, manager)
    client.post("/logout/")
    sign_in(client, manager)
    response = client.get(f"/invoices/{invoice.pk}/pay/", headers={"HX-Request": "true"})
    assert response.status_code == 204
    assert response["HX-Redirect"].startswith(CODE)


@pytest.mark.django_db
def test_client_users_cannot_open_staff_invitation_links(client, manager, staff):
    from remit.backoffice.invitations import invitation_url, issue_staff_invitation

    token = issue_staff_invitation(staff)
    client.force_login(manager)
    assert client.get(invitation_url(token, base_url="")).status_code == 404
    assert client.get("/backoffice/invitation/set-up/").status_code == 404
