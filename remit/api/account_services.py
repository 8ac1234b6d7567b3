"""Organizations and portal users written through the API, within what the key manages.

An API key manages the organizations it created and those provider staff granted it
(`ApiKey.organizations`). It may update only those, and create, link, update or move only users
who are in them and stay in them: a sync key cannot reach accounts of an organization it never
created, however it names them (external id, or an email address to link). A refusal is a 403
problem document (`organization-not-managed`) and an audit entry; nothing is written.

Moving a user from one organization to another signs them out everywhere (their sessions belonged
to the old organization's access) and is audited as `user.moved` with the key's name."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction

from remit.accounts.emails import normalise_email
from remit.accounts.models import Organization, SecurityLevel, User
from remit.accounts.services import end_user_sessions
from remit.api.problems import ApiProblem
from remit.api.schemas import OrganizationIn, UserIn
from remit.api.services import Caller, Upserted, _apply, _audit, _organization, _unknown
from remit.audit.models import AuditEvent

NOT_MANAGED = "organization-not-managed"
GRANT_HINT = (
    "Provider staff can grant the organization to this key in the back office "
    "(Integration API → API keys)."
)


class NotManaged(ApiProblem):
    """Refused: the write would reach an organization the key does not manage. Raised inside the
    transaction (which rolls back), audited after it."""

    def __init__(self, detail: str, *, action: str, obj, organization: Organization) -> None:
        super().__init__(403, f"{detail} {GRANT_HINT}", slug=NOT_MANAGED)
        self.action, self.obj, self.organization = action, obj, organization

    def audit(self, caller: Caller) -> None:
        _audit(
            self.action,
            caller,
            self.obj,
            organization=self.organization,
            outcome=AuditEvent.Outcome.REFUSED,
            summary=f"Refused: {caller.api_key.name} does not manage {self.organization.name}",
            reason=NOT_MANAGED,
        )


def _require_managed(caller: Caller, organization: Organization, *, action: str, obj, detail: str):
    if not caller.api_key.manages(organization.pk):
        raise NotManaged(
            detail,
            action=action,
            obj=obj,
            organization=organization,
        )


def _audited_refusals(write):
    """Run `write` (one transaction); a NotManaged refusal is audited once it has rolled back."""

    def wrapper(*args, caller: Caller, **kwargs):
        try:
            return write(*args, caller=caller, **kwargs)
        except NotManaged as refusal:
            refusal.audit(caller)
            raise

    wrapper.__name__, wrapper.__doc__ = write.__name__, write.__doc__
    return wrapper


# --- Organizations -------------------------------------------------------------------------------


@_audited_refusals
def organization_upsert(external_id: str, data: OrganizationIn, *, caller: Caller) -> Upserted:
    """Create the organization (and grant it to the key), or update it if the key manages it."""
    wanted: dict[str, Any] = {"name": data.name}
    if data.billing_email is not None:
        wanted["billing_email"] = data.billing_email
    if data.is_active is not None:
        wanted["is_active"] = data.is_active
    for _ in range(2):
        try:
            with transaction.atomic():
                organization = (
                    Organization.objects.select_for_update().filter(external_id=external_id).first()
                )
                if organization is None:
                    organization = Organization.objects.create(external_id=external_id, **wanted)
                    caller.api_key.organizations.add(organization)
                    _audit(
                        "organization.created",
                        caller,
                        organization,
                        organization=organization,
                        summary=f"Organization {organization.name} ({external_id}) created",
                    )
                    return Upserted(organization, True, {})
                _require_managed(
                    caller,
                    organization,
                    action="organization.updated",
                    obj=organization,
                    detail=f"Organization {external_id} is not managed by this API key.",
                )
                changes = _apply(organization, wanted)
                if changes:
                    organization.save()
                    _audit(
                        "organization.updated",
                        caller,
                        organization,
                        organization=organization,
                        summary=f"Organization {organization.name} ({external_id}) updated: "
                        + ", ".join(changes),
                        changes=changes,
                    )
                return Upserted(organization, False, changes)
        except IntegrityError:
            continue  # created by a concurrent request a moment ago: update it instead
    raise ApiProblem(409, "The organization changed while it was being saved; retry.")


# --- Users ---------------------------------------------------------------------------------------


@_audited_refusals
def user_upsert(external_id: str, data: UserIn, *, caller: Caller) -> Upserted:
    organization = _organization(data.organization)
    level = None
    if data.security_level is not None:
        level = SecurityLevel.objects.filter(name=data.security_level).first()
        if level is None:
            raise _unknown("security_level", f"No security level is named {data.security_level!r}.")
    for _ in range(2):
        try:
            with transaction.atomic():
                return _user_upsert(external_id, data, organization, level, caller)
        except IntegrityError:
            continue  # a concurrent request wrote the same user a moment ago: look again
    raise ApiProblem(409, "Another user has this email address.", slug="conflict")


def _user_upsert(external_id, data: UserIn, organization, level, caller) -> Upserted:
    user = User.objects.select_for_update().filter(external_id=external_id).first()
    email = normalise_email(data.email)
    other = User.objects.filter(email=email).exclude(pk=getattr(user, "pk", None)).first()
    linked = False
    if other is not None:
        if user is not None or other.external_id or other.is_staff:
            raise ApiProblem(
                409, f"Another user has the email address {data.email}.", slug="conflict"
            )
        # A portal user made in the back office before the PSA knew them: link, don't duplicate —
        # but only within the organizations this key manages.
        user, linked = User.objects.select_for_update().get(pk=other.pk), True
    if user is not None and user.is_staff:
        raise ApiProblem(
            409, "That user is provider staff and cannot be managed here.", slug="conflict"
        )
    # Where the user is now, and where the request puts them: both must be the key's.
    if user is not None:
        _require_managed(
            caller,
            user.organization,
            action="user.linked" if linked else "user.updated",
            obj=user,
            detail=(
                f"A portal user with the email address {email}" if linked else f"User {external_id}"
            )
            + " is in an organization this API key does not manage.",
        )
    _require_managed(
        caller,
        organization,
        action="user.created" if user is None else "user.updated",
        obj=user if user is not None else organization,
        detail=f"Organization {data.organization} is not managed by this API key.",
    )

    wanted: dict[str, Any] = {"email": email, "organization": organization}
    if data.first_name is not None:
        wanted["first_name"] = data.first_name
    if data.last_name is not None:
        wanted["last_name"] = data.last_name
    if level is not None:
        wanted["security_level"] = level
    if data.is_active is not None:
        wanted["is_active"] = data.is_active

    if user is None:
        wanted.setdefault("security_level", SecurityLevel.objects.get(name=SecurityLevel.USER))
        user = User.objects.create_user(password=None, external_id=external_id, **wanted)
        _audit(
            "user.created",
            caller,
            user,
            organization=organization,
            summary=f"Portal user {user.email} ({external_id}) created in {organization.name}",
            security_level=user.security_level.name,
        )
        return Upserted(user, True, {})

    if linked:
        wanted["external_id"] = external_id
    moved_from = user.organization if user.organization_id != organization.pk else None
    changes = _apply(user, wanted)
    for field in ("organization", "security_level"):
        if field in changes:
            changes[field] = [str(value) if value else None for value in changes[field]]
    if changes:
        user.save()
        _audit(
            "user.updated",
            caller,
            user,
            organization=organization,
            summary=f"Portal user {user.email} ({external_id}) updated: " + ", ".join(changes),
            changes=changes,
        )
    if moved_from is not None:
        _moved(user, moved_from, organization, caller)
    return Upserted(user, False, changes)


def _moved(user: User, before: Organization, after: Organization, caller: Caller) -> None:
    # Their sessions were opened with the old organization's access: they sign in again.
    ended = end_user_sessions(user)
    _audit(
        "user.moved",
        caller,
        user,
        organization=after,
        summary=f"Portal user {user.email} moved from {before.name} to {after.name} by "
        f"{caller.api_key.name}; signed out everywhere",
        from_organization=before.external_id,
        to_organization=after.external_id,
        sessions_ended=ended,
    )
