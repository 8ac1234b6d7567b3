"""Autopay over the integration API (scope `payments:read`): GET
/api/organizations/{external_id}/autopay, for an organization the key manages (else 404, as the
statement). The enrolment document is also the `data` of the `autopay.*` webhooks
(remit/autopay/events.py). Masked: the method is its label; the consent's IP address and text stay
in the back office (docs/autopay.md)."""

from __future__ import annotations

import datetime
from typing import Any, Literal

from ninja import Schema
from pydantic import Field

from remit.api.api import AUTH_ERRORS, ExternalId, _caller, api
from remit.api.auth import ApiKeyAuth
from remit.api.models import Scope
from remit.api.schemas import MethodOut, Money, Problem
from remit.api.statements import organization_for_key
from remit.autopay.models import Enrolment

ENROLMENTS_LISTED = 50


class EnrolmentOut(Schema):
    """An organization's autopay enrolment: which saved method is charged, when, up to what cap,
    and the consent's version and time."""

    id: int
    organization_external_id: str | None
    state: Literal["active", "paused", "ended"]
    payment_method: MethodOut
    trigger: Literal["due_date", "after_invoice"] = Field(
        description="due_date: on the invoice's due date; after_invoice: `days_after` days after "
        "the invoice date."
    )
    days_after: int | None
    cap: Money | None = Field(description="The most charged per invoice; null for no cap.")
    locked: bool = Field(description="Set by provider staff: the client cannot change it.")
    enrolled_on_behalf: bool = Field(
        description="Provider staff enrolled the organization with its written consent."
    )
    consent_version: str
    consented_at: datetime.datetime
    starts_on: datetime.date
    paused_at: datetime.datetime | None
    pause_reason: str
    ended_at: datetime.datetime | None
    end_reason: str = Field(description='Why it ended, e.g. "Visa •••• 1111 was removed".')


class AutopayOut(Schema):
    organization_external_id: str
    active: EnrolmentOut | None = Field(description="The enrolment charging now, if any.")
    enrolments: list[EnrolmentOut] = Field(
        description=f"Every enrolment, newest first (at most {ENROLMENTS_LISTED})."
    )


def enrolments_represented(enrolments=None):
    """Enrolments with all `enrolment_data` reads, in one query."""
    enrolments = Enrolment.objects.all() if enrolments is None else enrolments
    return enrolments.select_related("organization", "payment_method")


def enrolment_data(enrolment: Enrolment) -> dict[str, Any]:
    method = enrolment.payment_method
    if enrolment.ended_at is not None:
        state = "ended"
    else:
        state = "paused" if enrolment.paused_at is not None else "active"
    return {
        "id": enrolment.pk,
        "organization_external_id": enrolment.organization.external_id,
        "state": state,
        "payment_method": {"kind": method.kind, "label": method.label},
        "trigger": enrolment.trigger,
        "days_after": enrolment.days_after,
        "cap": enrolment.cap,
        "locked": enrolment.locked,
        "enrolled_on_behalf": enrolment.enrolled_by_id not in (None, enrolment.user_id),
        "consent_version": enrolment.consent_version,
        "consented_at": enrolment.consented_at,
        "starts_on": enrolment.starts_on,
        "paused_at": enrolment.paused_at,
        "pause_reason": enrolment.pause_reason,
        "ended_at": enrolment.ended_at,
        "end_reason": enrolment.end_reason,
    }


@api.get(
    "/organizations/{external_id}/autopay",
    response={200: AutopayOut, 404: Problem, **AUTH_ERRORS},
    auth=ApiKeyAuth(Scope.PAYMENTS_READ),
    tags=["Organizations"],
    summary="Get an organization's autopay enrolments",
)
def organization_autopay(request, external_id: str = ExternalId):
    """Scope `payments:read`, for an organization the key manages (else 404). The active
    enrolment (or null) and the history, newest first."""
    caller = _caller(request)
    organization = organization_for_key(caller.api_key, external_id)
    enrolments = [
        enrolment_data(e)
        for e in enrolments_represented(Enrolment.objects.filter(organization=organization))[
            :ENROLMENTS_LISTED
        ]
    ]
    return {
        "organization_external_id": organization.external_id,
        "active": next((e for e in enrolments if e["state"] != "ended"), None),
        "enrolments": enrolments,
    }
