"""The permission codes of each security level in Django's cache: every signed-in request asks
whether its user may see invoices, and levels change rarely (the back office's Security levels).

Dropped when a level's permissions change (the many-to-many's signals, either side), when a level
is saved or deleted, or when a permission is; the drop happens at once and again after the commit,
so a request that read the old set just before the commit cannot keep it cached past that. The
entry also expires after TIMEOUT seconds."""

from __future__ import annotations

from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save

from remit.core import shared_cache

TIMEOUT = 600


def _key(level_id: int) -> str:
    return f"security-level:{level_id}:permissions"


def codes_of(level_id: int) -> frozenset[str]:
    key = _key(level_id)
    codes = shared_cache.get(key)
    if codes is None:
        from remit.accounts.models import PortalPermission

        rows = PortalPermission.objects.filter(security_levels=level_id)
        codes = frozenset(rows.values_list("code", flat=True))
        shared_cache.set(key, codes, TIMEOUT)
    return codes


def forget(level_ids) -> None:
    keys = [_key(level_id) for level_id in level_ids]
    if keys:
        shared_cache.delete_many(keys)


def _later_too(level_ids) -> None:
    level_ids = list(level_ids)
    forget(level_ids)
    transaction.on_commit(lambda: forget(level_ids))


def _level_changed(sender, instance, **kwargs) -> None:
    _later_too([instance.pk])


def _every_level(sender, **kwargs) -> None:
    from remit.accounts.models import SecurityLevel

    _later_too(SecurityLevel.objects.values_list("pk", flat=True))


def _membership_changed(sender, instance, action, reverse, pk_set, **kwargs) -> None:
    if not action.startswith("post_"):
        return
    from remit.accounts.models import SecurityLevel

    if not reverse:  # level.permissions.add/remove/clear/set
        _later_too([instance.pk])
    elif pk_set:  # permission.security_levels.add/remove
        _later_too(pk_set)
    else:  # permission.security_levels.clear(): which levels it was on is gone; drop them all
        _later_too(SecurityLevel.objects.values_list("pk", flat=True))


def connect() -> None:
    from remit.accounts.models import PortalPermission, SecurityLevel

    through = SecurityLevel.permissions.through
    m2m_changed.connect(_membership_changed, sender=through, dispatch_uid="level_permissions")
    for name, signal in (("save", post_save), ("delete", post_delete)):
        signal.connect(_level_changed, sender=SecurityLevel, dispatch_uid=f"level_{name}")
        signal.connect(_every_level, sender=PortalPermission, dispatch_uid=f"permission_{name}")
