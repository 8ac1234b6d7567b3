"""What every back-office model page shares: each change is written to the audit log."""

from __future__ import annotations

from django.contrib import admin

from remit.audit.services import record_event


def _plain(message) -> list:
    """The admin's change message (a list of dicts of labels) as plain JSON."""
    if not isinstance(message, list):
        return [str(message)] if message else []
    return [
        {
            kind: {
                k: [str(v) for v in vals] if isinstance(vals, list) else str(vals)
                for k, vals in body.items()
            }
        }
        for entry in message
        for kind, body in entry.items()
    ]


class AuditedAdmin(admin.ModelAdmin):
    """Writes `<model>.created`, `<model>.changed` and `<model>.deleted` audit events (which fields
    changed, never their values) next to Django's own admin log."""

    show_facets = admin.ShowFacets.NEVER

    def audit_name(self) -> str:
        return self.model._meta.model_name

    def audit_label(self, obj) -> str:
        """ "invoice NW-1001", "organization Northwind Traders" (once, however __str__ reads)."""
        name, label = str(self.model._meta.verbose_name), str(obj)
        return label if label.lower().startswith(name.lower()) else f"{name} {label}"

    def log_addition(self, request, obj, message):
        entry = super().log_addition(request, obj, message)
        record_event(
            f"{self.audit_name()}.created",
            request=request,
            obj=obj,
            summary=f"Created {self.audit_label(obj)}",
        )
        return entry

    def log_change(self, request, obj, message):
        entry = super().log_change(request, obj, message)
        changes = _plain(message)
        if changes:
            record_event(
                f"{self.audit_name()}.changed",
                request=request,
                obj=obj,
                summary=f"Changed {self.audit_label(obj)}",
                changes=changes,
            )
        return entry

    def log_deletions(self, request, queryset):
        entries = super().log_deletions(request, queryset)
        for obj in queryset:
            record_event(
                f"{self.audit_name()}.deleted",
                request=request,
                obj=obj,
                summary=f"Deleted {self.audit_label(obj)}",
            )
        return entries


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records staff look at but never edit here (payments, the audit log, blocks)."""

    show_facets = admin.ShowFacets.NEVER

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
