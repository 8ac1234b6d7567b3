"""The sync history over the integration API (scope `syncs:read`): GET /api/syncs and
GET /api/syncs/{id}. The same document is the `data` of the `sync.finished` webhook."""

from __future__ import annotations

import datetime

from ninja import Query, Schema
from pydantic import Field

from remit.api.api import AUTH_ERRORS, _caller, api
from remit.api.auth import ApiKeyAuth
from remit.api.models import Scope
from remit.api.problems import ApiProblem
from remit.api.schemas import Problem
from remit.psa.models import SyncRun


class SyncCounts(Schema):
    created: int
    updated: int
    skipped: int
    failed: int
    flagged: int


class SyncFailureOut(Schema):
    entity: str = Field(description="company, contact or invoice")
    autotask_id: str
    reason: str
    flagged: bool = Field(description="Left as it is for staff to review (not an error).")


class SyncRunOut(Schema):
    id: int
    status: str = Field(description="queued, running, succeeded, partial (some failed), failed")
    trigger: str = Field(description="schedule or staff")
    queued_at: datetime.datetime
    started_at: datetime.datetime | None
    finished_at: datetime.datetime | None
    error: str = Field(description="Why a failed run failed; nothing was written then.")
    counts: dict[str, SyncCounts] = Field(description="companies, contacts, invoices")
    failures: list[SyncFailureOut]


class SyncRunPage(Schema):
    items: list[SyncRunOut]


def sync_run_data(run: SyncRun) -> dict:
    zero = dict.fromkeys(("created", "updated", "skipped", "failed", "flagged"), 0)
    return {
        "id": run.pk,
        "status": run.status,
        "trigger": run.trigger,
        "queued_at": run.queued_at,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "error": run.error,
        "counts": {
            entity: {**zero, **(run.counts.get(entity) or {})}
            for entity in ("companies", "contacts", "invoices")
        },
        "failures": [
            {
                "entity": failure.entity,
                "autotask_id": failure.external_id,
                "reason": failure.reason,
                "flagged": failure.flagged,
            }
            for failure in run.failures.all()[:1000]
        ],
    }


@api.get(
    "/syncs",
    response={200: SyncRunPage, **AUTH_ERRORS},
    auth=ApiKeyAuth(Scope.SYNCS_READ),
    tags=["PSA sync"],
    summary="List the latest PSA sync runs",
)
def sync_list(request, limit: int = Query(20, ge=1, le=100)):
    """Scope `syncs:read`. The latest sync runs first, each with its counts and failures."""
    _caller(request, "limit")
    runs = SyncRun.objects.prefetch_related("failures").order_by("-queued_at", "-id")[:limit]
    return {"items": [sync_run_data(run) for run in runs]}


@api.get(
    "/syncs/{run_id}",
    response={200: SyncRunOut, 404: Problem, **AUTH_ERRORS},
    auth=ApiKeyAuth(Scope.SYNCS_READ),
    tags=["PSA sync"],
    summary="Get a PSA sync run",
)
def sync_get(request, run_id: int):
    """Scope `syncs:read`."""
    _caller(request)
    run = SyncRun.objects.filter(pk=run_id).first()
    if run is None:
        raise ApiProblem(404, f"No sync run has the id {run_id}.")
    return sync_run_data(run)
