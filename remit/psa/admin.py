"""Back office: Connect Autotask (one connection, edited in place; the secret is write-only and
encrypted at rest), Test connection, Sync now with its progress, and the sync history."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from remit.audit.models import AuditEvent
from remit.audit.services import record_event
from remit.core.encryption import SecretUnreadable
from remit.psa.base import PsaError
from remit.psa.invite import InviteContactsForm, invite_contacts, waiting_contacts
from remit.psa.models import COMPANY_TYPES, InviteRule, PsaConnection, SyncRun
from remit.psa.sync import connector_for, queue_sync

ENTITY_LABELS = [("companies", "Companies"), ("contacts", "Contacts"), ("invoices", "Invoices")]


class ConnectionForm(forms.ModelForm):
    secret = forms.CharField(
        label="Secret",
        required=False,
        max_length=200,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )
    zone_lookup_url = forms.URLField(
        label="Zone lookup URL",
        assume_scheme="https",
        widget=forms.URLInput(attrs={"class": "vURLField", "spellcheck": "false"}),
        initial="https://webservices.autotask.net/atservicesrest",
        help_text="Where the API user's zone is asked (ZoneInformation). Leave as is for Autotask.",
    )
    company_types = forms.TypedMultipleChoiceField(
        label="Company types to sync",
        choices=COMPANY_TYPES,
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        help_text="Only companies of these Autotask types become organizations.",
    )

    class Meta:
        model = PsaConnection
        fields = [
            "username",
            "secret",
            "integration_code",
            "zone_lookup_url",
            "company_types",
            "invite_rule",
            "sync_interval_minutes",
        ]
        widgets = {"invite_rule": forms.RadioSelect}
        labels = {"invite_rule": "Invite portal users"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.initial["secret"] = ""
        self.fields["username"].required = True
        self.fields["integration_code"].required = True
        self.fields["username"].help_text = "The Autotask API user (API User (system) license)."
        self.fields["secret"].help_text = (
            "Saved (encrypted). Leave empty to keep it."
            if self.instance.has_secret
            else "The API user's secret. Saved encrypted, never shown again."
        )
        self.fields["invite_rule"].choices = InviteRule.choices

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("secret") and not self.instance.has_secret:
            self.add_error("secret", "Enter the API user's secret.")
        return cleaned

    def save(self, commit=True):
        connection = super().save(commit=False)
        if self.cleaned_data.get("secret"):
            connection.secret = self.cleaned_data["secret"]
            connection.zone_url = ""  # another user may live in another zone
        if commit:
            connection.save()
        return connection


@admin.register(PsaConnection)
class PsaConnectionAdmin(admin.ModelAdmin):
    form = ConnectionForm
    change_form_template = "psa/connection_change_form.html"
    fieldsets = [
        (
            "Credentials",
            {
                "fields": ["username", "secret", "integration_code", "zone_lookup_url"],
                "description": "Remit finds the user's zone by itself (ZoneInformation).",
            },
        ),
        ("What is synced", {"fields": ["company_types", "invite_rule", "sync_interval_minutes"]}),
    ]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def _connection(self) -> PsaConnection:
        connection, _ = PsaConnection.objects.get_or_create(
            kind=PsaConnection.Kind.AUTOTASK, defaults={"company_types": [1]}
        )
        return connection

    def get_object(self, request, object_id, from_field=None):
        return self._connection()

    def changelist_view(self, request, extra_context=None):
        connection = self._connection()
        return HttpResponseRedirect(reverse("admin:psa_psaconnection_change", args=[connection.pk]))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        connection = self._connection()
        extra_context = {
            **(extra_context or {}),
            "title": "Connect Autotask",
            "connection": connection,
            "recent_runs": connection.runs.all()[:5],
            "waiting": waiting_contacts().count(),
            "can_act": connection.is_configured and self.has_change_permission(request, connection),
            "show_save_and_continue": False,
        }
        return super().change_view(request, str(connection.pk), form_url, extra_context)

    def response_change(self, request, obj):
        if "_save" in request.POST:
            self.message_user(request, "The Autotask connection was saved.", messages.SUCCESS)
            return HttpResponseRedirect(request.path)
        return super().response_change(request, obj)

    def save_model(self, request, obj, form, change):
        obj.portal_url = request.build_absolute_uri("/")
        super().save_model(request, obj, form, change)
        changed = [name for name in form.changed_data if name != "secret"]
        if form.cleaned_data.get("secret"):
            changed.append("secret")
        if changed:
            record_event(
                "psa.connection_changed",
                request=request,
                obj=obj,
                summary="Autotask connection changed: " + ", ".join(changed),
                fields=changed,
            )

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("test/", view(require_POST(self.test_view)), name="psa_connection_test"),
            path("sync/", view(require_POST(self.sync_view)), name="psa_connection_sync"),
            path("invite/", view(self.invite_view), name="psa_connection_invite"),
            *super().get_urls(),
        ]

    def test_view(self, request):
        connection = self._connection()
        if not self.has_change_permission(request, connection):
            raise PermissionDenied
        connector = None
        try:
            connector = connector_for(connection)
            zone = connector.test_connection()
        except (PsaError, SecretUnreadable) as error:
            ok, message = False, f"Test connection failed: {getattr(error, 'message', error)}"
        else:
            ok, message = True, f"Connected to Autotask (zone {zone})."
            PsaConnection.objects.filter(pk=connection.pk).update(zone_url=zone)
        finally:
            if connector is not None:
                connector.close()
        record_event(
            "psa.test_connection",
            request=request,
            obj=connection,
            outcome=AuditEvent.Outcome.SUCCESS if ok else AuditEvent.Outcome.FAILURE,
            summary=message,
        )
        self.message_user(request, message, messages.SUCCESS if ok else messages.ERROR)
        return HttpResponseRedirect(reverse("admin:psa_psaconnection_change", args=[connection.pk]))

    def sync_view(self, request):
        connection = self._connection()
        if not self.has_change_permission(request, connection):
            raise PermissionDenied
        if not connection.is_configured:
            self.message_user(request, "Save the API user first.", messages.ERROR)
            return HttpResponseRedirect(
                reverse("admin:psa_psaconnection_change", args=[connection.pk])
            )
        run = queue_sync(connection, trigger="staff", requested_by=request.user.email)
        record_event(
            "psa.sync_requested", request=request, obj=run, summary=f"Sync #{run.pk} requested"
        )
        return HttpResponseRedirect(reverse("admin:psa_syncrun_change", args=[run.pk]))

    def invite_view(self, request):
        """Synced contacts wait, inactive, until staff pick whom to invite (and at which level)."""
        connection = self._connection()
        if not self.has_change_permission(request, connection):
            raise PermissionDenied
        form = InviteContactsForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            invited = invite_contacts(
                form.cleaned_data["users"], form.cleaned_data["security_level"], request=request
            )
            self.message_user(request, f"Invited {invited} contact(s).", messages.SUCCESS)
            return HttpResponseRedirect(reverse("admin:psa_connection_invite"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Invite Autotask contacts",
            "form": form,
        }
        return TemplateResponse(request, "psa/invite_contacts.html", context)


@admin.register(SyncRun)
class SyncRunAdmin(admin.ModelAdmin):
    list_display = ["__str__", "status", "trigger", "started_at", "finished_at", "summary"]
    list_filter = ["status", "trigger"]
    list_per_page = 50

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="Created / updated / skipped / failed")
    def summary(self, run: SyncRun) -> str:
        parts = []
        for key, label in ENTITY_LABELS:
            c = run.counts.get(key) or {}
            parts.append(
                f"{label}: {c.get('created', 0)}/{c.get('updated', 0)}/{c.get('skipped', 0)}/"
                f"{c.get('failed', 0)}"
            )
        return "; ".join(parts)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        run = SyncRun.objects.filter(pk=object_id).first()
        if run is None:
            raise Http404("No such sync.")
        rows = [
            {"label": label, **{k: (run.counts.get(key) or {}).get(k, 0) for k in _COLUMNS}}
            for key, label in ENTITY_LABELS
        ]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Autotask sync #{run.pk}",
            "run": run,
            "rows": rows,
            "failures": run.failures.all()[:500],
            "percent": int(100 * run.done / run.total) if run.total else 0,
        }
        if getattr(request, "htmx", False):
            return TemplateResponse(request, "psa/includes/run_status.html", context)
        return TemplateResponse(request, "psa/run_detail.html", context)


_COLUMNS = ("created", "updated", "skipped", "failed", "flagged")
