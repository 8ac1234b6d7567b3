"""Writes of accounts and security levels."""

from remit.accounts.models import PortalPermission, SecurityLevel


def ensure_system_security_levels() -> dict[str, SecurityLevel]:
    """The permission and the system levels the first migrations create (User, and Manager holding
    "View invoices and financial data"), created again if missing, e.g. after a flush. Never takes a
    permission away from a level."""
    view, _ = PortalPermission.objects.get_or_create(
        code=PortalPermission.VIEW_FINANCIALS,
        defaults={
            "name": "View invoices and financial data",
            "description": "See the organization's invoices and financial reports, and pay invoices.",
        },
    )
    user, _ = SecurityLevel.objects.get_or_create(
        name=SecurityLevel.USER,
        defaults={
            "is_system": True,
            "description": "Works with the portal; sees no invoices by default.",
        },
    )
    manager, created = SecurityLevel.objects.get_or_create(
        name=SecurityLevel.MANAGER,
        defaults={
            "is_system": True,
            "description": "Sees invoices and financial data and pays invoices.",
        },
    )
    if created:
        manager.permissions.add(view)
    return {SecurityLevel.USER: user, SecurityLevel.MANAGER: manager}


def end_user_sessions(user) -> int:
    """Delete every stored session of `user`, so a deactivated person is signed out everywhere at
    once. (RemitBackend also refuses an inactive user on each request; this removes the sessions
    themselves.) Returns how many were deleted. Only database-backed sessions are searched; with
    other engines the backend check alone signs the user out on their next request."""
    from django.conf import settings
    from django.contrib.sessions.models import Session
    from django.utils import timezone

    if settings.SESSION_ENGINE not in (
        "django.contrib.sessions.backends.db",
        "django.contrib.sessions.backends.cached_db",
        "remit.core.sessions",  # cached_db, its cache calls guarded
    ):
        return 0
    from importlib import import_module

    store = import_module(settings.SESSION_ENGINE).SessionStore
    user_id = str(user.pk)
    doomed = []
    # Sessions live at most SESSION_COOKIE_AGE (eight hours): only the unexpired ones are read.
    live = Session.objects.filter(expire_date__gt=timezone.now()).iterator(chunk_size=500)
    for session in live:
        if str(session.get_decoded().get("_auth_user_id")) == user_id:
            doomed.append(session.session_key)
    for key in doomed:
        store(session_key=key).delete()  # clears the cache too, for cached_db
    return len(doomed)
