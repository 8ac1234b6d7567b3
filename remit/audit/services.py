"""`record_event` is the one way to write the audit log."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.http import HttpRequest

from remit.audit.models import AuditEvent


def client_ip(request: HttpRequest | None) -> str | None:
    """The client's address as the configured proxy chain reports it (django-axes' ipware)."""
    if request is None:
        return None
    from axes.helpers import get_client_ip_address

    return get_client_ip_address(request) or None


def record_event(
    action: str,
    *,
    actor=None,
    actor_label: str = "",
    request: HttpRequest | None = None,
    outcome: str = AuditEvent.Outcome.SUCCESS,
    obj: models.Model | None = None,
    organization=None,
    summary: str = "",
    ip_address: str | None = None,
    batch=None,
    **details: Any,
) -> AuditEvent:
    """`batch` (remit/core/batch.py): written with the caller's other writes (the entry's id is
    then not known)."""
    if actor is None and request is not None and getattr(request, "user", None) is not None:
        actor = request.user if request.user.is_authenticated else None
    if not actor_label:
        actor_label = actor.email if actor is not None else "system"
    # The object's organization by id: no query to fetch a row only its key is needed of.
    organization_id = getattr(organization, "pk", organization)  # a row or its id
    if organization_id is None and obj is not None:
        organization_id = getattr(obj, "organization_id", None)
    event = AuditEvent(
        actor=actor,
        actor_label=actor_label,
        ip_address=client_ip(request) or ip_address,
        action=action,
        outcome=outcome,
        organization_id=organization_id,
        object_type=obj._meta.model_name if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        summary=summary[:300],
        details=details,
    )
    if batch is not None:
        return batch.insert(event)
    event.save(force_insert=True)
    return event
