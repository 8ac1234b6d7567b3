"""Every stored user email in the one normal form (remit.accounts.emails.normalise_email), so that
sign-in, the lockout and every look-up can match exactly.

User.save already lower-cased and stripped, and a unique index on lower(email) forbade case twins,
but rows written past save() (bulk loads, raw updates) or differing only by spaces or Unicode
compatibility forms could remain. Two rows that normalise alike are one identity held twice:
neither is merged (payments and the audit log point at both). The account to keep is the one
already in normal form, else the one signed in last, else the oldest; each other one is
deactivated, renamed `duplicate-<id>.<address>` (visible in the back office for staff to resolve),
and audited."""

import datetime
import unicodedata

from django.db import migrations
from django.utils import timezone


def _normal(value: str) -> str:
    # A frozen copy of remit.accounts.emails.normalise_email, as migrations must not change later.
    return unicodedata.normalize("NFKC", value).strip().lower()


def normalise(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    AuditEvent = apps.get_model("audit", "AuditEvent")
    groups: dict[str, list] = {}
    for user in User.objects.only("pk", "email", "last_login", "organization_id").order_by("pk"):
        groups.setdefault(_normal(user.email), []).append(user)
    renames = []  # (user, new email, kept?)
    for normal, users in groups.items():
        if len(users) == 1:
            if users[0].email != normal:
                renames.append((users[0], normal, True))
            continue

        def rank(user, normal=normal):
            never = datetime.datetime.min.replace(tzinfo=datetime.UTC)
            return (user.email != normal, -(user.last_login or never).timestamp(), user.pk)

        keep, *others = sorted(users, key=rank)
        for other in others:
            renames.append((other, f"duplicate-{other.pk}.{normal}", False))
        if keep.email != normal:
            renames.append((keep, normal, True))
    # The duplicates move out of the way first: the unique index on lower(email) holds throughout.
    renames.sort(key=lambda item: item[2])
    now = timezone.now()
    for user, email, kept in renames:
        before = user.email
        fields = {"email": email} if kept else {"email": email, "is_active": False}
        User.objects.filter(pk=user.pk).update(**fields)
        AuditEvent.objects.create(
            at=now,
            actor_label="system",
            action="user.email_normalised" if kept else "user.deactivated",
            organization_id=user.organization_id,
            object_type="user",
            object_id=str(user.pk),
            summary=(
                f"Email {before!r} stored as {email}"
                if kept
                else f"Deactivated {before!r}: another account has the same email ({_normal(before)})"
            )[:300],
            details={"before": before, "after": email, "migration": "accounts.0003"},
        )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_system_security_levels"),
        ("audit", "0001_initial"),
    ]

    operations = [migrations.RunPython(normalise, migrations.RunPython.noop)]
