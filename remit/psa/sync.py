"""One PSA sync run: read everything, then write record by record, then record what happened.

Reading comes first and is complete (every page, with the client's retries) before anything is
written: an Autotask failure midway (wrong credentials, an unreachable zone, a 429 that does not
clear) fails the run with its reason and leaves Remit exactly as it was. Writing is one
transaction per record through the API's upsert services, so a record is written whole or not at
all, and a record that cannot be synced is reported with its Autotask id while the rest goes on.
Running it again is safe: unchanged records (by fingerprint) are not written at all."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from remit.api.keys import hash_key
from remit.api.models import ApiKey
from remit.api.services import Caller
from remit.audit.models import AuditEvent
from remit.audit.services import record_event
from remit.core.encryption import SecretUnreadable
from remit.psa.base import PsaConnector, PsaError
from remit.psa.models import PsaConnection, SyncFailure, SyncRun
from remit.psa.writers import CREATED, FAILED, FLAGGED, SKIPPED, UPDATED, Outcome, Writer

logger = logging.getLogger(__name__)

ENTITIES = ("companies", "contacts", "invoices")
BATCH = 100  # records per commit
SYNC_KEY_NAME = "Autotask sync"


def empty_counts() -> dict[str, dict[str, int]]:
    return {e: dict.fromkeys((CREATED, UPDATED, SKIPPED, FAILED, FLAGGED), 0) for e in ENTITIES}


def connector_for(connection: PsaConnection) -> PsaConnector:
    from remit.psa.autotask.connector import AutotaskConnector

    return AutotaskConnector.from_credentials(
        connection.username,
        connection.secret,
        connection.integration_code,
        zone_lookup_url=connection.zone_lookup_url,
    )


def sync_caller(connection: PsaConnection) -> Caller:
    """The sync writes as an API key of its own (its secret is never shown, so nobody can call
    the API with it); the audit log names it, and it manages the organizations it created."""
    if connection.api_key_id is None:
        with transaction.atomic():
            secret = f"psa_{secrets.token_urlsafe(24)}"
            key = ApiKey.objects.create(
                name=f"{SYNC_KEY_NAME} #{connection.pk}",
                prefix=f"psa{secrets.token_hex(5)}",
                secret_hash=hash_key(secret),
                scopes=[],
            )
            connection.api_key = key
            connection.save(update_fields=["api_key"])
    return Caller(api_key=connection.api_key)


def queue_sync(connection: PsaConnection, *, trigger: str, requested_by: str = "") -> SyncRun:
    """A queued run and its job, in one transaction; a run already queued or running is reused."""
    from remit.psa.tasks import run_psa_sync

    with transaction.atomic():
        PsaConnection.objects.select_for_update().get(pk=connection.pk)
        active = connection.runs.filter(status__in=[SyncRun.Status.QUEUED, SyncRun.Status.RUNNING])
        existing = active.first()
        if existing is not None:
            return existing
        run = SyncRun.objects.create(
            connection=connection, trigger=trigger, requested_by=requested_by, counts=empty_counts()
        )
        run_psa_sync.enqueue(run.pk)
    return run


class Progress:
    def __init__(self, run: SyncRun) -> None:
        self.run = run

    def phase(self, phase: str, total: int = 0) -> None:
        self.run.phase, self.run.done, self.run.total = phase, 0, total
        self.run.save(update_fields=["phase", "done", "total"])

    def step(self, done: int) -> None:
        SyncRun.objects.filter(pk=self.run.pk).update(done=done)


def run_sync(
    run_id: int, *, connector_factory: Callable[[PsaConnection], PsaConnector] = connector_for
) -> SyncRun:
    with transaction.atomic():
        run = SyncRun.objects.select_for_update().select_related("connection").get(pk=run_id)
        if run.status != SyncRun.Status.QUEUED:
            return run  # another worker has it, or it is done
        run.status, run.started_at = SyncRun.Status.RUNNING, timezone.now()
        run.counts = empty_counts()
        run.save(update_fields=["status", "started_at", "counts"])
    connection = run.connection
    progress = Progress(run)
    connector = None
    try:
        progress.phase("Connecting to Autotask")
        connector = connector_factory(connection)
        book = _read(connection, connector, progress)
        _write(run, connection, book, progress)
    except PsaError as error:
        run.error = error.message
        run.status = SyncRun.Status.FAILED
    except SecretUnreadable as error:
        run.error = str(error)
        run.status = SyncRun.Status.FAILED
    except Exception as error:  # a bug: the run must not stay "running" forever
        logger.exception("PSA sync %s failed", run.pk)
        run.error = f"The sync stopped on an unexpected error ({type(error).__name__})."
        run.status = SyncRun.Status.FAILED
    else:
        failed = any(run.counts[entity][FAILED] for entity in ENTITIES)
        run.status = SyncRun.Status.PARTIAL if failed else SyncRun.Status.SUCCEEDED
    finally:
        if connector is not None:
            run.requests = connector.requests
            zone = getattr(connector, "zone_url", "")
            if zone and zone != connection.zone_url:
                PsaConnection.objects.filter(pk=connection.pk).update(zone_url=zone)
            connector.close()
    _finish(run)
    return run


def _read(connection: PsaConnection, connector: PsaConnector, progress: Progress) -> dict:
    progress.phase("Reading companies")
    companies = connector.companies(connection.company_types or [1])
    company_ids = [company.external_id for company in companies]
    progress.phase("Reading contacts")
    contacts = connector.contacts(company_ids) if company_ids else []
    progress.phase("Reading invoices")
    invoices = connector.invoices(company_ids) if company_ids else []
    writer = Writer(connection, sync_caller(connection))
    wanted = [invoice.external_id for invoice in invoices if writer.needs_lines(invoice)]
    progress.phase("Reading billing items", len(wanted))
    lines = connector.invoice_lines(wanted) if wanted else {}
    for invoice in invoices:
        if invoice.external_id in lines:
            invoice.lines = lines[invoice.external_id]
    return {"companies": companies, "contacts": contacts, "invoices": invoices, "writer": writer}


def _write(run: SyncRun, connection: PsaConnection, book: dict, progress: Progress) -> None:
    writer: Writer = book["writer"]
    counts = run.counts

    def outcome(entity: str, external_id: str, write: Callable[..., str], *args, **kwargs) -> str:
        try:
            result = write(*args, **kwargs)
        except Outcome as other:
            result = other.kind
            SyncFailure.objects.create(
                run=run,
                entity=entity.removesuffix("s").replace("companie", "company"),
                external_id=external_id,
                reason=other.reason,
                flagged=other.kind == FLAGGED,
            )
        counts[entity][result] += 1
        return result

    synced_companies: dict[str, str] = {}

    def company(item) -> None:
        result = outcome("companies", item.external_id, writer.company, item)
        if result != FAILED and item.is_active:
            synced_companies[item.external_id] = item.currency

    _in_batches("Writing companies", book["companies"], company, progress)

    invite = _inviter(connection)
    contacts = [c for c in book["contacts"] if c.company_id in synced_companies]
    _in_batches(
        "Writing contacts",
        contacts,
        lambda item: outcome("contacts", item.external_id, writer.contact, item, invite=invite),
        progress,
    )

    invoices = [i for i in book["invoices"] if i.company_id in synced_companies]
    numbers: dict[str, str] = {}

    def invoice(item) -> None:
        first = numbers.setdefault(item.number, item.external_id)
        if first != item.external_id:
            outcome("invoices", item.external_id, _duplicate, item.number, first)
        else:
            currency = synced_companies[item.company_id]
            outcome("invoices", item.external_id, writer.invoice, item, currency=currency)

    _in_batches("Writing invoices", invoices, invoice, progress)


def _in_batches(phase: str, items: list, handle: Callable, progress: Progress) -> None:
    """Each record is its own savepoint (written whole or not at all, and a failing one does not
    stop the others); BATCH of them commit together, which keeps the database from flushing its
    log once per record. Progress is published after each commit."""
    progress.phase(phase, len(items))
    for start in range(0, len(items), BATCH):
        with transaction.atomic():
            for item in items[start : start + BATCH]:
                handle(item)
        progress.step(min(start + BATCH, len(items)))


def _duplicate(number: str, first: str) -> str:
    raise Outcome(
        FAILED, f"Duplicate invoice number {number}: Autotask invoice {first} has it too."
    )


def _inviter(connection: PsaConnection):
    from remit.outbox.models import EmailKind
    from remit.outbox.services import email_queue

    def invite(user) -> None:
        # In the user's transaction: the email is queued exactly when the user exists.
        email_queue(EmailKind.INVITATION, user=user, base_url=connection.portal_url or "/")
        record_event(
            "user.invited",
            actor_label=f"{SYNC_KEY_NAME} (provider rule: primary contacts)",
            obj=user,
            organization=user.organization,
            summary=f"Invitation sent to {user.email}, the primary contact in Autotask",
        )

    return invite


def _finish(run: SyncRun) -> None:
    with transaction.atomic():
        run.finished_at = timezone.now()
        run.phase = ""
        run.save(update_fields=["status", "finished_at", "phase", "counts", "error", "requests"])
        SyncRun.objects.filter(pk=run.pk).update(done=F("total"))
        totals = {entity: run.counts[entity] for entity in ENTITIES}
        record_event(
            "psa.sync_finished",
            actor_label=SYNC_KEY_NAME,
            obj=run,
            outcome=AuditEvent.Outcome.SUCCESS
            if run.status != SyncRun.Status.FAILED
            else AuditEvent.Outcome.FAILURE,
            summary=f"Autotask sync #{run.pk}: {run.get_status_display()}"
            + (f" ({run.error})" if run.error else ""),
            counts=totals,
        )
        _notify(run)


def _notify(run: SyncRun) -> None:
    """The sync.finished webhook (remit.psa.events), in the run's final transaction."""
    from remit.psa.events import sync_finished

    sync_finished(run)
