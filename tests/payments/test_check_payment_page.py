"""`remit check-payment-page`: the payment page's scripts and security headers against the
approved set — a changed script and a changed header are detected, staff alerted, a person
approves the new set."""

import shutil

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.core.management import CommandError, call_command

from remit.audit.models import AuditEvent
from remit.core.models import PaymentPageSnapshot
from remit.core.templatetags.sri import integrity
from remit.portal.page_check import check_payment_page, page_inventory

pytestmark = pytest.mark.django_db


@pytest.fixture
def approved(gateway, staff):
    call_command("check_payment_page", "--approve", stdout=open("/dev/null", "w"))  # noqa: SIM115
    return PaymentPageSnapshot.objects.get(approved_at__isnull=False)


def test_the_inventory_lists_every_script_and_the_security_headers(gateway, sandbox_gateway):
    inventory = page_inventory()
    sources = [script["src"] for script in inventory["scripts"]]
    assert sources == [
        "/static/remit/vendor/htmx-2.0.11.min.js",
        "/static/remit/remit.js",
        f"{sandbox_gateway.url}/token/Collect.js",
        "/static/remit/payment-fields.js",
    ]
    ours = [s for s in inventory["scripts"] if s["src"].startswith("/static/")]
    assert all(s["integrity"] == s["sha384"] for s in ours)  # SRI matches what is served
    assert all(s["status"] == 200 for s in inventory["scripts"])
    assert f"frame-src {sandbox_gateway.url}" in inventory["headers"]["content-security-policy"]
    assert inventory["headers"]["x-frame-options"] == "DENY"


def test_unchanged(approved):
    assert check_payment_page().status == "unchanged"
    assert not AuditEvent.objects.filter(action="payment_page.changed").exists()


def test_a_changed_header_is_detected_and_staff_alerted(
    approved, settings, staff, django_capture_on_commit_callbacks
):
    settings.SECURE_REFERRER_POLICY = "unsafe-url"
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(CommandError, match="changed: staff were alerted"),
    ):
        call_command("check_payment_page", stdout=open("/dev/null", "w"))  # noqa: SIM115
    event = AuditEvent.objects.get(action="payment_page.changed")
    assert event.details["changes"] == ["header referrer-policy: 'same-origin' -> 'unsafe-url'"]
    assert [m.to for m in mail.outbox] == [[staff.email]]
    assert "referrer-policy" in mail.outbox[0].body
    # Checked again before anyone approves: still changed, not reported twice.
    with django_capture_on_commit_callbacks(execute=True):
        assert check_payment_page().status == "changed"
    assert AuditEvent.objects.filter(action="payment_page.changed").count() == 1
    assert len(mail.outbox) == 1


def test_a_changed_script_is_detected(approved, settings, tmp_path):
    static = tmp_path / "static"
    shutil.copytree(django_settings.BASE_DIR / "remit" / "static", static)
    script = static / "remit" / "payment-fields.js"
    script.write_text(script.read_text() + "\n// skimmer was here\n")
    settings.STATICFILES_DIRS = [static]
    integrity.cache_clear()
    try:
        result = check_payment_page()
    finally:
        integrity.cache_clear()
    assert result.status == "changed"
    assert result.differences == ["script changed: /static/remit/payment-fields.js"]
    assert AuditEvent.objects.filter(action="payment_page.changed").count() == 1


def test_staff_approve_the_new_set(approved, settings, staff):
    from remit.portal.page_check import approve_snapshot

    settings.SECURE_REFERRER_POLICY = "no-referrer"
    changed = check_payment_page().snapshot
    approve_snapshot(changed, user=staff)
    assert check_payment_page().status == "unchanged"
    assert AuditEvent.objects.filter(action="payment_page.approved", actor=staff).count() == 1


def test_the_check_page_needs_its_signature(client, gateway):
    assert client.get("/pay/page-check/not-the-signature/").status_code == 404


def test_staff_approve_in_the_back_office(approved, settings, client, staff):
    from tests.factories import sign_in_staff

    settings.SECURE_REFERRER_POLICY = "no-referrer"
    changed = check_payment_page().snapshot
    sign_in_staff(client, staff)
    listing = client.get("/backoffice/core/paymentpagesnapshot/")
    assert "header referrer-policy: &#x27;same-origin&#x27; -&gt; &#x27;no-referrer&#x27;" in (
        listing.text
    )
    response = client.post(
        "/backoffice/core/paymentpagesnapshot/",
        {"action": "approve", "_selected_action": [changed.pk]},
        follow=True,
    )
    assert f"Set {changed.digest[:12]} approved." in response.text
    assert check_payment_page().status == "unchanged"
    assert AuditEvent.objects.filter(action="payment_page.approved", actor=staff).count() == 1


@pytest.mark.django_db(transaction=True)
def test_over_http_from_the_public_address(live_server, gateway, sandbox_gateway, settings):
    settings.ALLOWED_HOSTS = ["localhost", "127.0.0.1", "testserver"]
    over_http = page_inventory(live_server.url)
    in_process = page_inventory()
    assert [s["src"] for s in over_http["scripts"]] == [s["src"] for s in in_process["scripts"]]
    assert [s["sha384"] for s in over_http["scripts"]] == [
        s["sha384"] for s in in_process["scripts"]
    ]
    assert over_http["headers"] == in_process["headers"]
