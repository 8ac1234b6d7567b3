"""The `autopay.enrolled` and `autopay.cancelled` webhooks, written in the enrolment's own
transaction (so one exists exactly when the change does) and sent, signed and retried, by the
worker like every other webhook. `data` is the enrolment as GET /api/organizations/{id}/autopay
shows it; `autopay.cancelled` adds `reason`: cancelled, replaced, method_removed or
user_deactivated."""

from __future__ import annotations

from remit.autopay.models import Enrolment
from remit.webhooks.models import EventType


class EndReason:
    CANCELLED = "cancelled"  # by the client (or staff) in one click
    REPLACED = "replaced"  # by a new enrolment of the organization
    METHOD_REMOVED = "method_removed"
    USER_DEACTIVATED = "user_deactivated"


def enrolled(enrolment: Enrolment) -> None:
    _send(EventType.AUTOPAY_ENROLLED, enrolment, {})


def cancelled(enrolment: Enrolment, reason: str) -> None:
    _send(EventType.AUTOPAY_CANCELLED, enrolment, {"reason": reason})


def _send(event: str, enrolment: Enrolment, extra: dict) -> None:
    from remit.autopay.api import EnrolmentOut, enrolment_data
    from remit.webhooks.services import deliveries_for_event

    def data() -> dict:
        return {**EnrolmentOut.model_validate(enrolment_data(enrolment)).model_dump(), **extra}

    deliveries_for_event(event, data)
