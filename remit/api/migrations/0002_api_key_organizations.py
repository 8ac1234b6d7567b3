"""API keys manage organizations: those they created, and those staff grant them.

Existing keys are granted the organizations they created through the API, as the audit log records
(`organization.created` with `via: api` and the key's prefix), so a running sync keeps working.
Organizations made in the back office, or created by another key, are granted by staff on the key's
page."""

from django.db import migrations, models


def grant_created(apps, schema_editor):
    ApiKey = apps.get_model("api", "ApiKey")
    AuditEvent = apps.get_model("audit", "AuditEvent")
    Organization = apps.get_model("accounts", "Organization")
    keys = {key.prefix: key for key in ApiKey.objects.all()}
    if not keys:
        return
    existing = set(Organization.objects.values_list("pk", flat=True))
    created = AuditEvent.objects.filter(action="organization.created", outcome="success")
    for event in created.exclude(organization_id=None).iterator(chunk_size=500):
        details = event.details if isinstance(event.details, dict) else {}
        key = keys.get(details.get("api_key")) if details.get("via") == "api" else None
        if key is not None and event.organization_id in existing:
            key.organizations.add(event.organization_id)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("audit", "0001_initial"),
        ("api", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="apikey",
            name="organizations",
            field=models.ManyToManyField(
                blank=True,
                help_text="Organizations this key may update, and whose users it may create, "
                "link, update and move. An organization the key creates is added here.",
                related_name="api_keys",
                to="accounts.organization",
            ),
        ),
        migrations.RunPython(grant_created, migrations.RunPython.noop),
    ]
