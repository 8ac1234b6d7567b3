"""The audit log: read-only, searchable by actor, action, date range and organization."""

from __future__ import annotations

import json

from django.contrib import admin
from django.template.response import TemplateResponse
from django.utils import timezone

from remit.audit.models import AuditEvent
from remit.backoffice.admin.base import ReadOnlyAdmin
from remit.backoffice.filters import DateRangeFilter, TextFilter
from remit.core.logging import mask_numbers


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = [
        "at_display",
        "actor_label",
        "action",
        "outcome",
        "organization",
        "summary_display",
        "ip_address",
    ]
    list_display_links = ["at_display"]
    list_filter = [
        TextFilter.on("actor", "actor_label__icontains", "actor", "Email contains"),
        ("action", admin.AllValuesFieldListFilter),
        DateRangeFilter.on("at", "date"),
        ("organization", admin.RelatedOnlyFieldListFilter),
        "outcome",
    ]
    search_fields = ["actor_label", "action", "summary", "object_id", "ip_address"]
    search_help_text = "Actor, action, summary, object id or IP address."
    list_select_related = ["organization"]
    list_per_page = 100
    ordering = ["-at", "-id"]

    @admin.display(description="When", ordering="at")
    def at_display(self, event: AuditEvent) -> str:
        return timezone.localtime(event.at).strftime("%b %-d, %Y %H:%M:%S")

    @admin.display(description="Summary")
    def summary_display(self, event: AuditEvent) -> str:
        return mask_numbers(event.summary)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        event = self.get_object(request, object_id)
        if event is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        details = mask_numbers(json.dumps(event.details, indent=2, sort_keys=True, default=str))
        return TemplateResponse(
            request,
            "backoffice/audit_event.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "title": f"Audit entry: {event.action}",
                "event": event,
                "summary": mask_numbers(event.summary),
                "details": details if event.details else "",
                "object_url": _object_url(event),
            },
        )


def _object_url(event: AuditEvent) -> str:
    from django.urls import NoReverseMatch, reverse

    names = {
        "payment": "admin:payments_payment_change",
        "invoice": "admin:billing_invoice_change",
        "user": "admin:accounts_user_change",
        "organization": "admin:accounts_organization_change",
        "securitylevel": "admin:accounts_securitylevel_change",
        "paymentblock": "admin:payments_paymentblock_change",
    }
    name = names.get(event.object_type)
    if not (name and event.object_id):
        return ""
    try:
        return reverse(name, args=[event.object_id])
    except NoReverseMatch:
        return ""
