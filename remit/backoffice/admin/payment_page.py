"""Payment page checks (remit check-payment-page): what the payment page loaded at each check, and
the set staff approved. A person approves a new set; nothing else changes here."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.html import format_html, format_html_join

from remit.core.models import PaymentPageSnapshot
from remit.portal.page_check import approve_snapshot, differences


@admin.register(PaymentPageSnapshot)
class PaymentPageSnapshotAdmin(admin.ModelAdmin):
    list_display = ["checked_at", "short_digest", "approved_at", "approved_by", "changes"]
    readonly_fields = ["checked_at", "digest", "approved_at", "approved_by", "scripts", "headers"]
    fields = readonly_fields
    actions = ["approve"]
    show_facets = admin.ShowFacets.NEVER

    @admin.display(description="set")
    def short_digest(self, obj) -> str:
        return obj.digest[:12]

    @admin.display(description="changes from the approved set")
    def changes(self, obj) -> str:
        if obj.approved_at:
            return "approved"
        approved = PaymentPageSnapshot.objects.filter(approved_at__isnull=False).first()
        lines = (
            differences(approved.inventory, obj.inventory) if approved else ["nothing approved yet"]
        )
        return "; ".join(lines)

    @admin.display(description="scripts")
    def scripts(self, obj):
        return format_html(
            "<ul>{}</ul>",
            format_html_join(
                "",
                "<li><code>{}</code> {}</li>",
                ((s.get("src") or "inline", s.get("sha384", "")) for s in obj.inventory["scripts"]),
            ),
        )

    @admin.display(description="security headers")
    def headers(self, obj):
        return format_html(
            "<ul>{}</ul>",
            format_html_join("", "<li><code>{}: {}</code></li>", obj.inventory["headers"].items()),
        )

    @admin.action(description="Approve the selected set (the change is ours)")
    def approve(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one set to approve.", messages.ERROR)
            return
        snapshot = queryset.get()
        approve_snapshot(snapshot, user=request.user, request=request)
        self.message_user(request, f"Set {snapshot.digest[:12]} approved.", messages.SUCCESS)

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
