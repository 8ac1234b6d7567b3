"""The Autotask sync against the sandbox: creates, then writes nothing, updates, voids, flags,
resumes after a 429, and writes nothing at all when Autotask fails."""

from decimal import Decimal

import pytest

from remit.accounts.models import Organization, User
from remit.audit.models import AuditEvent
from remit.billing.models import Invoice, InvoiceLine
from remit.outbox.models import EmailKind, OutgoingEmail
from remit.psa.models import InviteRule, PsaLink, SyncFailure, SyncRun

pytestmark = pytest.mark.django_db

ALL = {"op": "gte", "field": "id", "value": 0}


def book(sandbox, entity):
    import httpx

    zone = f"{sandbox.url}/webservices1/atservicesrest/v1.0"
    headers = {
        "ApiIntegrationCode": sandbox.integration_code,
        "UserName": sandbox.username,
        "Secret": sandbox.secret,
    }
    answer = httpx.post(f"{zone}/{entity}/query", json={"filter": [ALL]}, headers=headers)
    return answer.json()["items"]


def test_the_first_sync_creates_organizations_inactive_users_and_invoices(sandbox, sync):
    run = sync()
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert run.counts["companies"]["created"] == 6
    assert run.counts["contacts"]["created"] == 12
    assert run.counts["invoices"]["created"] == 24
    assert Organization.objects.filter(external_id__startswith="autotask:").count() == 6
    users = User.objects.filter(external_id__startswith="autotask:contact:")
    assert users.count() == 12
    assert not users.filter(is_active=True).exists()  # nobody is emailed unasked
    assert not OutgoingEmail.objects.exists()
    for remote in book(sandbox, "Invoices"):
        invoice = Invoice.objects.get(number=remote["invoiceNumber"])
        assert invoice.total == Decimal(str(remote["invoiceTotal"]))
        assert invoice.tax == Decimal(str(remote["totalTaxValue"]))
        assert invoice.organization.external_id == f"autotask:{remote['companyID']}"
        assert invoice.due_date >= invoice.invoice_date
    assert InvoiceLine.objects.count() == len(book(sandbox, "BillingItems"))
    assert run.finished_at is not None


def test_a_second_sync_without_changes_writes_nothing(sandbox, sync):
    sync()
    audit_before = AuditEvent.objects.count()
    stamps = dict(Invoice.objects.values_list("pk", "updated_at"))
    run = sync()
    assert run.status == SyncRun.Status.SUCCEEDED
    for entity in ("companies", "contacts", "invoices"):
        assert run.counts[entity]["created"] == 0
        assert run.counts[entity]["updated"] == 0
    assert run.counts["invoices"]["skipped"] == 24
    assert dict(Invoice.objects.values_list("pk", "updated_at")) == stamps
    assert AuditEvent.objects.count() == audit_before + 1  # only the run's own psa.sync_finished


def test_a_changed_invoice_is_updated(sandbox, sync):
    sync()
    line = next(i for i in book(sandbox, "BillingItems") if i["invoiceID"] == 200003)
    invoice = next(i for i in book(sandbox, "Invoices") if i["id"] == 200003)
    rate = Decimal(str(line["rate"]))
    extended = Decimal(str(line["extendedPrice"]))
    new_extended = extended + rate  # one more of the item
    sandbox.update(
        "BillingItems", line["id"], quantity=line["quantity"] + 1, extendedPrice=float(new_extended)
    )
    new_total = Decimal(str(invoice["invoiceTotal"])) + rate
    sandbox.update("Invoices", 200003, invoiceTotal=float(new_total))
    run = sync()
    assert run.counts["invoices"]["updated"] == 1
    assert run.counts["invoices"]["skipped"] == 23
    assert Invoice.objects.get(number=invoice["invoiceNumber"]).total == new_total


def test_a_voided_invoice_is_voided(sandbox, sync):
    sync()
    sandbox.update("Invoices", 200004, isVoided=True, voidedDate="2026-11-30T00:00:00Z")
    run = sync()
    assert run.counts["invoices"]["updated"] == 1
    number = next(i for i in book(sandbox, "Invoices") if i["id"] == 200004)["invoiceNumber"]
    assert Invoice.objects.get(number=number).state == Invoice.State.VOID


def test_an_invoice_with_payments_is_flagged_not_overwritten(sandbox, sync):
    sync()
    remote = next(i for i in book(sandbox, "Invoices") if i["id"] == 200006)
    invoice = Invoice.objects.get(number=remote["invoiceNumber"])
    Invoice.objects.filter(pk=invoice.pk).update(amount_paid=invoice.total)  # paid in Remit
    sandbox.update("Invoices", 200006, isVoided=True)
    run = sync()
    assert run.status == SyncRun.Status.SUCCEEDED  # flagged, not failed
    assert run.counts["invoices"]["flagged"] == 1
    flag = SyncFailure.objects.get(run=run, external_id="200006")
    assert flag.flagged
    assert "has payments in Remit" in flag.reason
    invoice.refresh_from_db()
    assert invoice.state == Invoice.State.ISSUED
    assert invoice.amount_paid == invoice.total


def test_a_429_halfway_resumes_without_duplicates(sandbox, sync, waits):
    sandbox.set_fault("rate_limit", after=4, retry_after=1)
    run = sync()
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert waits == [1.0]
    assert Invoice.objects.count() == 24
    assert PsaLink.objects.filter(entity="invoice").count() == 24


@pytest.mark.parametrize("after", [0, 4])
def test_a_failure_that_persists_fails_the_run_and_writes_nothing(sandbox, sync, after):
    sandbox.set_fault("http_500", count=50, after=after)
    run = sync()
    assert run.status == SyncRun.Status.FAILED
    assert "Autotask answered 500" in run.error
    assert not Organization.objects.exists()
    assert not Invoice.objects.exists()


def test_wrong_credentials_fail_the_run_with_a_clear_reason(connection, sync):
    connection.secret = "not-the-secret"
    connection.save()
    run = sync()
    assert run.status == SyncRun.Status.FAILED
    assert "refused the credentials" in run.error
    assert "not-the-secret" not in run.error


def test_an_unreachable_zone_is_reported(sandbox, sync):
    sandbox.set_fault("bad_zone", on=True)
    run = sync()
    assert run.status == SyncRun.Status.FAILED
    assert "cannot reach 127.0.0.1" in run.error


def test_the_primary_contact_rule_invites_primary_contacts_only(connection, sync):
    connection.invite_rule = InviteRule.PRIMARY
    connection.save()
    sync()
    active = User.objects.filter(external_id__startswith="autotask:contact:", is_active=True)
    assert active.count() == 6
    invited = OutgoingEmail.objects.filter(kind=EmailKind.INVITATION)
    assert set(invited.values_list("user_id", flat=True)) == set(
        active.values_list("pk", flat=True)
    )
    sync()  # not again
    assert OutgoingEmail.objects.filter(kind=EmailKind.INVITATION).count() == 6


def test_bad_records_are_reported_with_their_autotask_id_and_the_rest_syncs(provider):
    from remit.psa.models import PsaConnection, SyncRun
    from remit.psa.sync import run_sync
    from remit.testing.autotask_sandbox import AutotaskSandboxProcess

    with AutotaskSandboxProcess(companies=12, invoices=30, anomalies=True) as sandbox:
        connection = PsaConnection(
            username=sandbox.username,
            integration_code=sandbox.integration_code,
            zone_lookup_url=sandbox.zone_lookup_url,
            company_types=[1],
        )
        connection.secret = sandbox.secret
        connection.save()
        run = run_sync(SyncRun.objects.create(connection=connection).pk)
    assert run.status == SyncRun.Status.PARTIAL
    reasons = {(f.entity, f.external_id): f.reason for f in run.failures.all()}
    assert reasons[("company", "1003")] == "The company has no name."
    assert "lines add up to" in reasons[("invoice", "200005")]
    assert "Duplicate invoice number" in reasons[("invoice", "200008")]
    assert "USD only" in reasons[("invoice", "200002")]
    assert run.counts["invoices"]["created"] > 0
    assert Invoice.objects.filter(state=Invoice.State.VOID).count() == 1  # 200011, voided there
    failed = {external_id for entity, external_id in reasons if entity == "invoice"}
    assert Invoice.objects.count() + len(failed) + 3 == 30  # 3 belong to the nameless company


def test_the_periodic_job_queues_one_sync_per_interval(connection):
    import datetime

    from django.utils import timezone

    from remit.core.periodic import periodic_jobs
    from remit.psa.schedule import queue_due_syncs

    assert periodic_jobs()["psa-sync"][0] == "remit.psa.tasks.sync_due_connections"
    now = timezone.now()
    (first,) = queue_due_syncs(now)
    assert first.status == SyncRun.Status.QUEUED
    assert queue_due_syncs(now) == []  # not due again
    assert SyncRun.objects.count() == 1
    SyncRun.objects.filter(pk=first.pk).update(status=SyncRun.Status.SUCCEEDED)
    assert queue_due_syncs(now + datetime.timedelta(minutes=30)) == []
    (second,) = queue_due_syncs(now + datetime.timedelta(minutes=61))
    assert second.pk != first.pk
    connection.sync_interval_minutes = 0
    connection.save()
    assert queue_due_syncs(now + datetime.timedelta(days=1)) == []


def test_a_secret_that_cannot_be_decrypted_fails_the_run_clearly(connection, sync, monkeypatch):
    from cryptography.fernet import Fernet

    monkeypatch.setenv("REMIT_ENCRYPTION_KEY", Fernet.generate_key().decode())  # another key
    run = sync()
    assert run.status == SyncRun.Status.FAILED
    assert "enter it again" in run.error
    assert not Organization.objects.exists()
