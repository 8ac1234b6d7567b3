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
