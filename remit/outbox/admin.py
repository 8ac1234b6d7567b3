"""Outgoing email in the back office: every email the worker sends, with its status, attempts, next
attempt and last error (never the message itself); "Send again" renders and sends it afresh."""

from django.contrib import admin, messages
from django.db.models import Exists, OuterRef

from remit.audit.services import client_ip
from remit.outbox.models import EmailStatus, OutgoingEmail
from remit.outbox.services import email_resend


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


def failed_not_resent():
    resent = OutgoingEmail.objects.filter(resent_from=OuterRef("pk"))
    return OutgoingEmail.objects.filter(status=EmailStatus.FAILED).filter(~Exists(resent))


@admin.register(OutgoingEmail)
class OutgoingEmailAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "kind",
        "recipient_list",
        "subject",
        "status",
        "attempts",
        "next_attempt_at",
        "last_error",
    ]
    list_filter = [NeedsAttentionFilter, "status", "kind"]
    search_fields = ["subject", "recipients", "payment__order_id", "user__email"]
    date_hierarchy = "created_at"
    actions = ["resend"]
    fields = [
        "kind",
        "status",
        "recipient_list",
        "subject",
        "payment",
        "user",
        "attempts",
        "last_attempt_at",
        "next_attempt_at",
        "last_error",
        "sent_at",
        "resent_from",
        "created_at",
    ]
    readonly_fields = fields

    @admin.display(description="To")
    def recipient_list(self, email: OutgoingEmail) -> str:
        return ", ".join(email.recipients) or "-"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        # The list (and its Send again action) needs it; an email itself is never edited.
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description="Send the selected emails again", permissions=["change"])
    def resend(self, request, queryset):
        count = 0
        for email in queryset.select_related("payment", "user"):
            email_resend(email, acting_user=request.user, ip_address=client_ip(request))
            count += 1
        self.message_user(request, f"{count} email(s) queued to be sent again.", messages.SUCCESS)
