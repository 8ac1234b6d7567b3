"""Webhooks in the back office: endpoints (add, change, deactivate, delete) and every delivery with
its status, attempts and the receiver's last answer; "Resend" sends an event again."""

import json

from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html

from remit.audit.services import client_ip, record_event
from remit.webhooks.models import EventType, WebhookDelivery, WebhookEndpoint
from remit.webhooks.services import delivery_resend, failed_not_resent


class NeedsAttentionFilter(admin.SimpleListFilter):
    """Failed and not sent again since: what the back office's badge counts."""

    title = "attention"
    parameter_name = "attention"

    def lookups(self, request, model_admin):
        return [("failed", "Failed, not sent again")]

    def queryset(self, request, queryset):
        if self.value() == "failed":
            return queryset.filter(pk__in=failed_not_resent().values("pk"))
        return queryset


class WebhookEndpointForm(forms.ModelForm):
    url = forms.URLField(label="URL", max_length=500, assume_scheme="https")
    events = forms.MultipleChoiceField(
        choices=EventType.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="None ticked: every event.",
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["url", "description", "events", "is_active"]


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = WebhookEndpointForm
    list_display = ["url", "description", "event_list", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["url", "description"]
    readonly_fields = ["secret", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["url", "description", "events", "is_active"]}),
        (
            "Signing",
            {
                "fields": ["secret"],
                "description": "Requests carry Webhook-Signature: t=<unix time>,v1=<hex "
                'HMAC-SHA256 of "<t>.<body>" with this secret>. See docs/api.md.',
            },
        ),
        ("Dates", {"fields": ["created_at", "updated_at"]}),
    ]

    @admin.display(description="Events")
    def event_list(self, endpoint: WebhookEndpoint) -> str:
        return ", ".join(endpoint.events) or "all"

    def get_fieldsets(self, request, obj=None):
        if obj is None:  # the secret is made on save and shown from then on
            return [(None, {"fields": ["url", "description", "events", "is_active"]})]
        return self.fieldsets

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        record_event(
            "webhook_endpoint.updated" if change else "webhook_endpoint.created",
            actor=request.user,
            request=request,
            obj=obj,
            summary=f"Webhook endpoint {obj.url} {'updated' if change else 'created'}",
            changed=form.changed_data,
        )

    def delete_model(self, request, obj):
        record_event(
            "webhook_endpoint.deleted",
            actor=request.user,
            request=request,
            obj=obj,
            summary=f"Webhook endpoint {obj.url} deleted",
        )
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for endpoint in queryset:
            self.delete_model(request, endpoint)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "event_type",
        "endpoint",
        "status",
        "attempts",
        "last_status_code",
        "next_attempt_at",
        "delivered_at",
    ]
    list_filter = [NeedsAttentionFilter, "status", "event_type", "endpoint"]
    search_fields = ["=event_id", "payment__order_id", "endpoint__url"]
    list_select_related = ["endpoint"]
    date_hierarchy = "created_at"
    actions = ["resend"]
    fields = [
        "endpoint",
        "event_id",
        "event_type",
        "payment",
        "status",
        "attempts",
        "next_attempt_at",
        "last_attempt_at",
        "last_status_code",
        "last_error",
        "last_response",
        "delivered_at",
        "resent_from",
        "created_at",
        "pretty_body",
    ]
    readonly_fields = fields

    @admin.display(description="Body")
    def pretty_body(self, delivery: WebhookDelivery) -> str:
        try:
            text = json.dumps(json.loads(delivery.body), indent=2, ensure_ascii=False)
        except ValueError:
            text = delivery.body
        return format_html("<pre>{}</pre>", text)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        # The list (and its Resend action) needs it; a delivery itself is never edited.
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description="Resend selected deliveries", permissions=["change"])
    def resend(self, request, queryset):
        count = 0
        for delivery in queryset.select_related("endpoint"):
            delivery_resend(delivery, acting_user=request.user, ip_address=client_ip(request))
            count += 1
        self.message_user(
            request, f"{count} delivery(ies) queued to be sent again.", messages.SUCCESS
        )
