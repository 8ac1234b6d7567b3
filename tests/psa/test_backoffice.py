"""Back office: connect Autotask (secret write-only, encrypted at rest), test the connection,
Sync now and read the run's progress and history."""

import re

import pytest
from django.urls import reverse

from remit.audit.models import AuditEvent
from remit.psa.models import PsaConnection, SyncRun
from remit.psa.sync import run_sync
from tests.factories import sign_in_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, staff):
    sign_in_staff(client, staff)
    return client


def connect(staff_client, sandbox, **overrides):
    page = staff_client.get(reverse("admin:psa_psaconnection_changelist"), follow=True)
    assert page.status_code == 200
    data = {
        "username": sandbox.username,
        "secret": sandbox.secret,
        "integration_code": sandbox.integration_code,
        "zone_lookup_url": sandbox.zone_lookup_url,
        "company_types": ["1"],
        "invite_rule": "none",
        "sync_interval_minutes": "60",
        "_save": "Save",
        **overrides,
    }
    return staff_client.post(page.request["PATH_INFO"], data, follow=True)


def test_staff_connect_autotask_and_the_secret_is_encrypted_and_never_shown(staff_client, sandbox):
    answer = connect(staff_client, sandbox)
    assert "The Autotask connection was saved." in answer.content.decode()
    connection = PsaConnection.objects.get()
    assert connection.secret == sandbox.secret
    assert sandbox.secret not in connection.secret_encrypted  # encrypted at rest
    assert sandbox.secret not in answer.content.decode()  # write-only
    assert "Saved (encrypted). Leave empty to keep it." in answer.content.decode()
    connect(staff_client, sandbox, secret="", username=sandbox.username)  # empty keeps it
    assert PsaConnection.objects.get().secret == sandbox.secret
    assert AuditEvent.objects.filter(action="psa.connection_changed").exists()


def test_a_missing_secret_is_asked_for_next_to_the_field(staff_client, sandbox):
    answer = connect(staff_client, sandbox, secret="")
    assert "Enter the API user&#x27;s secret." in answer.content.decode()
    assert not PsaConnection.objects.get().has_secret


def test_test_connection_names_the_zone_or_what_failed(staff_client, sandbox):
    connect(staff_client, sandbox)
    answer = staff_client.post(reverse("admin:psa_connection_test"), follow=True)
    assert f"Connected to Autotask (zone {sandbox.url}/webservices1/atservicesrest)" in (
        answer.content.decode()
    )
    connect(staff_client, sandbox, secret="mistyped-secret")
    answer = staff_client.post(reverse("admin:psa_connection_test"), follow=True)
    text = answer.content.decode()
    assert "Test connection failed" in text
    assert "refused the credentials" in text
    assert "mistyped-secret" not in text


def test_sync_now_shows_progress_then_the_counts_and_failures(staff_client, provider):
    from remit.testing.autotask_sandbox import AutotaskSandboxProcess

    with AutotaskSandboxProcess(companies=12, invoices=30, anomalies=True) as sandbox:
        connect(staff_client, sandbox)
        answer = staff_client.post(reverse("admin:psa_connection_sync"), follow=True)
        text = answer.content.decode()
        run = SyncRun.objects.get()
        assert "Waiting for the background worker" in text
        assert 'hx-trigger="every 1s"' in text
        assert run.trigger == "staff"
        # Clicking again while it waits does not queue a second sync.
        staff_client.post(reverse("admin:psa_connection_sync"))
        assert SyncRun.objects.count() == 1
        run_sync(run.pk)  # what the worker does
    fragment = staff_client.get(
        reverse("admin:psa_syncrun_change", args=[run.pk]), HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "Finished with failures" in fragment
    assert "hx-trigger" not in fragment  # done: it stops polling
    assert "The company has no name." in fragment
    assert re.search(r"<code>1003</code>", fragment)
    history = staff_client.get(reverse("admin:psa_syncrun_changelist")).content.decode()
    assert f"Sync #{run.pk}" in history


def test_staff_choose_which_synced_contacts_to_invite_and_at_which_level(
    staff_client, sandbox, sync
):
    from remit.accounts.models import SecurityLevel, User
    from remit.outbox.models import EmailKind, OutgoingEmail

    sync()
    page = staff_client.get(reverse("admin:psa_connection_invite")).content.decode()
    waiting = User.objects.filter(external_id__startswith="autotask:contact:")
    assert waiting.count() == 12
    for user in waiting:
        assert user.email in page
    # Nothing chosen: said next to the field, nothing written.
    answer = staff_client.post(reverse("admin:psa_connection_invite"), {"security_level": "1"})
    assert "Choose at least one contact." in answer.content.decode()
    assert not OutgoingEmail.objects.exists()

    chosen = list(waiting.order_by("pk")[:2])
    manager = SecurityLevel.objects.get(name=SecurityLevel.MANAGER)
    answer = staff_client.post(
        reverse("admin:psa_connection_invite"),
        {"users": [u.pk for u in chosen], "security_level": manager.pk},
        follow=True,
    )
    assert "Invited 2 contact(s)." in answer.content.decode()
    for user in chosen:
        user.refresh_from_db()
        assert user.is_active
        assert user.security_level == manager
    invited = OutgoingEmail.objects.filter(kind=EmailKind.INVITATION)
    assert set(invited.values_list("user_id", flat=True)) == {u.pk for u in chosen}
    assert chosen[0].email not in answer.content.decode()  # no longer waiting
    assert (
        User.objects.filter(external_id__startswith="autotask:contact:", is_active=False).count()
        == 10
    )
