"""Autopay and reminders in the back office: the enrolments (method masked, trigger, cap, consent),
staff enrolment on a client's behalf (with the written consent as a note, optionally locked), the
upcoming autopay charges of the next 14 days, the attempts with their outcomes, the reminder log;
pause and resume per organization (audited, through remit.autopay.services)."""

from __future__ import annotations

import datetime

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path

from remit.audit.services import client_ip
from remit.autopay import services
from remit.autopay.charge import invoices_charged_between, provider_today
from remit.autopay.models import Attempt, Enrolment, Reminder
from remit.core.models import Provider
from remit.payments.models import PaymentMethod

UPCOMING_DAYS = 14


class StaffEnrolForm(forms.ModelForm):
    """On the client's behalf: one of the client user's saved methods, the terms, and where their
    written consent is."""

    trigger_choice = forms.ChoiceField(label="When to charge")
    cap_amount = forms.DecimalField(
        label="Cap per invoice", required=False, max_digits=12, decimal_places=2
    )

    class Meta:
        model = Enrolment
        fields = ["payment_method", "consent_note", "locked"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        provider = Provider.load()
        self.fields["trigger_choice"].choices = services.allowed_triggers(provider)
        self.fields["payment_method"].queryset = PaymentMethod.objects.active().select_related(
            "owner__organization"
        )
        self.fields["payment_method"].label_from_instance = lambda m: (
            f"{m.label} · {m.owner.email} ({m.owner.organization})"
        )
        self.fields["consent_note"].required = True

    def _post_clean(self):
        """No instance to validate: services.enrol makes the enrolment (in save_model)."""

    def clean(self):
        cleaned = super().clean()
        method = cleaned.get("payment_method")
        if method is None or self.errors:
            return cleaned
        provider = Provider.load()
        try:
            if not provider.autopay_staff_may_enrol:
                raise services.EnrolmentRefused(
                    {"__all__": "Staff enrolment is turned off in the provider settings."}
                )
            services.check_terms(
                method.owner, method, cleaned["trigger_choice"], cleaned.get("cap_amount"), provider
            )
        except services.EnrolmentRefused as refused:
            for field, message in refused.errors.items():
                field = {"trigger": "trigger_choice", "cap": "cap_amount"}.get(field, field)
                self.add_error(None if field == "__all__" else field, message)
        return cleaned


@admin.register(Enrolment)
class EnrolmentAdmin(admin.ModelAdmin):
    list_display = [
        "organization",
        "method",
        "trigger_label",
        "cap",
        "status",
        "locked",
        "consent_version",
        "consented_at",
        "enrolled_by",
    ]
    list_filter = ["locked", "trigger", ("ended_at", admin.EmptyFieldListFilter)]
    search_fields = ["organization__name", "user__email"]
    actions = ["pause_selected", "resume_selected"]
    readonly = [
        "organization",
        "user",
        "method",
        "trigger_label",
        "cap",
        "status",
        "locked",
        "consent_version",
        "consent_text",
        "consented_at",
        "consent_ip",
        "enrolled_by",
        "consent_note",
        "starts_on",
        "pause_reason",
        "end_reason",
        "ended_at",
    ]

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = StaffEnrolForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["payment_method", "trigger_choice", "cap_amount", "consent_note", "locked"]
        return self.readonly

    def get_readonly_fields(self, request, obj=None):
        return self.readonly if obj is not None else []

    def has_change_permission(self, request, obj=None) -> bool:
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change):
        method = form.cleaned_data["payment_method"]
        try:
            enrolment = services.enrol(
                user=method.owner,
                method=method,
                trigger=form.cleaned_data["trigger_choice"],
                cap=form.cleaned_data.get("cap_amount"),
                ip_address=client_ip(request),
                staff=request.user,
                consent_note=form.cleaned_data["consent_note"],
                locked=form.cleaned_data["locked"],
            )
        except services.EnrolmentRefused as refused:
            raise PermissionDenied(str(refused)) from None
        for field in Enrolment._meta.concrete_fields:  # the page's messages speak of it
            setattr(obj, field.attname, getattr(enrolment, field.attname))

    def log_addition(self, request, obj, message):  # audited by services.enrol
        return None

    @admin.display(description="Method")
    def method(self, enrolment: Enrolment) -> str:
        return enrolment.payment_method.label

    @admin.display(description="When")
    def trigger_label(self, enrolment: Enrolment) -> str:
        return enrolment.trigger_label.capitalize()

    @admin.display(description="Status")
    def status(self, enrolment: Enrolment) -> str:
        if enrolment.ended_at:
            return f"Ended: {enrolment.end_reason}"
        if enrolment.paused_at:
            return f"Paused: {enrolment.pause_reason}"
        return "Active"

    @admin.action(description="Pause autopay of the selected organizations", permissions=["change"])
    def pause_selected(self, request, queryset):
        for enrolment in queryset.filter(ended_at__isnull=True):
            services.pause(enrolment, reason=f"Paused by {request.user.email}", by=request.user)
        self.message_user(request, "Autopay paused.", messages.SUCCESS)

    @admin.action(
        description="Resume autopay of the selected organizations", permissions=["change"]
    )
    def resume_selected(self, request, queryset):
        for enrolment in queryset.filter(ended_at__isnull=True):
            services.resume(enrolment, by=request.user)
        self.message_user(request, "Autopay resumed.", messages.SUCCESS)

    def get_urls(self):
        return [
            path(
                "upcoming/",
                self.admin_site.admin_view(self.upcoming_view),
                name="autopay_enrolment_upcoming",
            ),
            *super().get_urls(),
        ]

    def upcoming_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "title": f"Autopay charges of the next {UPCOMING_DAYS} days",
            "charges": upcoming_charges(),
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "autopay/backoffice_upcoming.html", context)


def upcoming_charges(days: int = UPCOMING_DAYS) -> list[dict]:
    """Each open invoice of an organization on autopay whose charge date falls in the next
    `days` days: invoice, organization, method, date, and whether the cap stops it."""
    provider = Provider.load()
    today = provider_today(provider)
    last = today + datetime.timedelta(days=days)
    rows = []
    for enrolment in Enrolment.objects.charging().select_related("organization", "payment_method"):
        invoices = invoices_charged_between(enrolment, today, last)
        for invoice in invoices.order_by("due_date")[:500]:
            rows.append(
                {
                    "invoice": invoice,
                    "enrolment": enrolment,
                    "date": enrolment.charge_date(invoice),
                    "above_cap": enrolment.cap is not None and invoice.amount_due > enrolment.cap,
                }
            )
    return sorted(rows, key=lambda r: (r["date"], r["invoice"].pk))


class ReadOnlyAdmin(admin.ModelAdmin):
    """A log: listed and searched, never added, changed or deleted by hand."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Attempt)
class AttemptAdmin(ReadOnlyAdmin):
    list_display = [
        "charge_date",
        "invoice",
        "organization",
        "state",
        "tries",
        "amount",
        "order_id",
        "reason",
    ]
    list_filter = ["state", "charge_date"]
    search_fields = ["invoice__number", "invoice__organization__name", "payment__order_id"]
    list_select_related = ["invoice__organization", "payment"]

    @admin.display(description="Organization")
    def organization(self, attempt: Attempt) -> str:
        return attempt.invoice.organization.name

    @admin.display(description="Order ID")
    def order_id(self, attempt: Attempt) -> str:
        return attempt.payment.order_id if attempt.payment else "-"


@admin.register(Reminder)
class ReminderAdmin(ReadOnlyAdmin):
    list_display = ["sent_on", "invoice", "organization", "slot", "kind", "email_status"]
    list_filter = ["kind", "sent_on"]
    search_fields = ["invoice__number", "invoice__organization__name"]
    list_select_related = ["invoice__organization", "email"]

    @admin.display(description="Organization")
    def organization(self, reminder: Reminder) -> str:
        return reminder.invoice.organization.name

    @admin.display(description="Email")
    def email_status(self, reminder: Reminder) -> str:
        if reminder.email is None:
            return "-"
        to = ", ".join(reminder.email.recipients)
        return f"{reminder.email.get_status_display()}{f' to {to}' if to else ''}"
