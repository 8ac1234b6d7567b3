"""The permission "View invoices and financial data" and the system levels User and Manager.

By default only Manager holds the permission; staff can give it to any level later."""

from django.db import migrations

VIEW_FINANCIALS = "view_invoices_and_financial_data"


def create(apps, schema_editor):
    PortalPermission = apps.get_model("accounts", "PortalPermission")
    SecurityLevel = apps.get_model("accounts", "SecurityLevel")
    view, _ = PortalPermission.objects.get_or_create(
        code=VIEW_FINANCIALS,
        defaults={
            "name": "View invoices and financial data",
            "description": "See the organization's invoices and financial reports, and pay invoices.",
        },
    )
    SecurityLevel.objects.get_or_create(
        name="User",
        defaults={"is_system": True, "description": "Works with the portal; sees no invoices by default."},
    )
    manager, _ = SecurityLevel.objects.get_or_create(
        name="Manager",
        defaults={"is_system": True, "description": "Sees invoices and financial data and pays invoices."},
    )
    manager.permissions.add(view)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
