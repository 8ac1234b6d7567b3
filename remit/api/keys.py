"""Writes and look-ups of API keys.

A key reads `rmt_<8 characters>_<43 characters>`. The first 12 characters (`rmt_` and the 8) are
stored as the prefix, to find the key and to tell keys apart in lists; the whole key is stored only
as its SHA-256 hash. 256 random bits need no slow hash: nobody can guess them, only steal them."""

from __future__ import annotations

import datetime
import hashlib
import hmac
import secrets
import string

from django.db import IntegrityError, transaction
from django.utils import timezone

from remit.api.models import ApiKey, Scope
from remit.audit.services import record_event

KEY_START = "rmt_"
PREFIX_LENGTH = len(KEY_START) + 8
_PREFIX_ALPHABET = string.ascii_letters + string.digits
# last_used_at is written at most this often per key, not on every request.
LAST_USED_RESOLUTION = datetime.timedelta(seconds=60)


class ApiKeyError(ValueError):
    pass


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def clean_scopes(scopes) -> list[str]:
    known = set(Scope.values)
    unknown = [scope for scope in scopes if scope not in known]
    if unknown:
        raise ApiKeyError(
            f"Unknown scope(s): {', '.join(unknown)}. Known: {', '.join(Scope.values)}."
        )
    return [scope for scope in Scope.values if scope in set(scopes)]


def api_key_create(*, name: str, scopes, created_by=None) -> tuple[ApiKey, str]:
    """A new key and its full text, which is never stored and cannot be shown again."""
    name = name.strip()
    if not name:
        raise ApiKeyError("An API key needs a name.")
    scopes = clean_scopes(scopes)
    if ApiKey.objects.filter(name=name, revoked_at__isnull=True).exists():
        raise ApiKeyError(f"A live API key is already named {name!r}.")
    for _ in range(5):
        prefix = KEY_START + "".join(secrets.choice(_PREFIX_ALPHABET) for _ in range(8))
        key = f"{prefix}_{secrets.token_urlsafe(32)}"
        try:
            with transaction.atomic():
                api_key = ApiKey.objects.create(
                    name=name,
                    prefix=prefix,
                    secret_hash=hash_key(key),
                    scopes=scopes,
                    created_by=created_by,
                )
                record_event(
                    "api_key.created",
                    actor=created_by,
                    actor_label=created_by.email if created_by else "system",
                    obj=api_key,
                    summary=f"API key {api_key} created with scopes {', '.join(scopes) or 'none'}",
                    scopes=scopes,
                )
        except IntegrityError:
            if ApiKey.objects.filter(name=name, revoked_at__isnull=True).exists():
                raise ApiKeyError(f"A live API key is already named {name!r}.") from None
            continue  # the random prefix was taken: draw again
        return api_key, key
    raise ApiKeyError("Could not draw a free key prefix.")  # pragma: no cover


def api_key_revoke(api_key: ApiKey, *, acting_user=None) -> bool:
    """Revoke at once; the next request with the key gets 401. False if it already was."""
    with transaction.atomic():
        changed = ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        if changed:
            record_event(
                "api_key.revoked",
                actor=acting_user,
                actor_label=acting_user.email if acting_user else "system",
                obj=api_key,
                summary=f"API key {api_key} revoked",
            )
    api_key.refresh_from_db(fields=["revoked_at"])
    return bool(changed)


def api_key_set_scopes(api_key: ApiKey, scopes, *, acting_user=None) -> None:
    scopes = clean_scopes(scopes)
    before = ApiKey.objects.values_list("scopes", flat=True).get(pk=api_key.pk)
    if before == scopes:
        return
    with transaction.atomic():
        ApiKey.objects.filter(pk=api_key.pk).update(scopes=scopes)
        record_event(
            "api_key.scopes_changed",
            actor=acting_user,
            actor_label=acting_user.email if acting_user else "system",
            obj=api_key,
            summary=f"API key {api_key}: scopes {', '.join(scopes) or 'none'}",
            before=before,
            after=scopes,
        )
    api_key.scopes = scopes


def api_key_set_organizations(api_key: ApiKey, organizations, *, acting_user=None) -> None:
    """Grant the key exactly these organizations (staff, in the back office), audited. Granting
    lets the integration update the organization and manage its users, so it is logged by name."""
    wanted = {organization.pk: organization for organization in organizations}
    with transaction.atomic():
        ApiKey.objects.select_for_update().filter(pk=api_key.pk).first()  # one change at a time
        current = {o.pk: o for o in api_key.organizations.all()}
        granted = [wanted[pk] for pk in sorted(wanted.keys() - current.keys())]
        withdrawn = [current[pk] for pk in sorted(current.keys() - wanted.keys())]
        if not (granted or withdrawn):
            return
        api_key.organizations.add(*granted)
        api_key.organizations.remove(*withdrawn)
        parts = [
            f"{label} {', '.join(o.name for o in orgs)}"
            for label, orgs in (("granted", granted), ("withdrew", withdrawn))
            if orgs
        ]
        record_event(
            "api_key.organizations_changed",
            actor=acting_user,
            actor_label=acting_user.email if acting_user else "system",
            obj=api_key,
            summary=f"API key {api_key}: " + "; ".join(parts),
            granted=[o.external_id or o.name for o in granted],
            withdrawn=[o.external_id or o.name for o in withdrawn],
        )


def api_key_authenticate(key: str) -> ApiKey | None:
    """The live key this text is, or None."""
    if not key.startswith(KEY_START) or len(key) > 200:
        return None
    api_key = ApiKey.objects.filter(prefix=key[:PREFIX_LENGTH]).first()
    if api_key is None or not hmac.compare_digest(api_key.secret_hash, hash_key(key)):
        return None
    if api_key.revoked_at is not None:
        return None
    now = timezone.now()
    if api_key.last_used_at is None or now - api_key.last_used_at >= LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now
    return api_key
