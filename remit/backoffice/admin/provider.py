"""Provider settings: one row, edited in place. The gateway URL and security key are write-only."""

from __future__ import annotations

import zoneinfo

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from remit.audit.models import AuditEvent
from remit.audit.services import record_event
from remit.backoffice.services import SECRET_SETTINGS, gateway_connection_check, mask_secret
from remit.core.models import Provider

# Autopay, reminders and the emails' colour (docs/autopay.md).
AUTOPAY_SETTINGS = [
    "brand_color",
    "autopay_enabled",
    "autopay_on_due_date",
    "autopay_days_after_invoice",
    "autopay_staff_may_enrol",
    "reminders_enabled",
    "reminder_days_before",
    "reminder_on_due_date",
    "reminder_overdue_every",
    "reminder_overdue_times",
]
AUDITED_FIELDS = [
    "name",
    "country",
    "internal_currency",
    "time_zone",
    "payment_options",
    "partial_payments_allowed",
    "partial_minimum_amount",
    "partial_minimum_percent",
    "require_mfa_for_financials",
    "support_email",
    "support_phone",
    "gateway_url",
    "gateway_security_key",
    "gateway_tokenization_key",
    *AUTOPAY_SETTINGS,
]


# Online payment needs US and USD (the seed); the others are the ones a provider of this portal
# is likely to be in. Codes are ISO 3166-1 alpha-2 and ISO 4217.
COUNTRY_CHOICES = [
    ("US", "United States"),
    ("CA", "Canada"),
    ("GB", "United Kingdom"),
    ("IE", "Ireland"),
    ("AU", "Australia"),
    ("NZ", "New Zealand"),
    ("DE", "Germany"),
    ("FR", "France"),
    ("NL", "Netherlands"),
    ("MX", "Mexico"),
]
CURRENCY_CHOICES = [
    ("USD", "USD · US dollar"),
    ("CAD", "CAD · Canadian dollar"),
    ("GBP", "GBP · Pound sterling"),
    ("EUR", "EUR · Euro"),
    ("AUD", "AUD · Australian dollar"),
    ("NZD", "NZD · New Zealand dollar"),
    ("MXN", "MXN · Mexican peso"),
]


def time_zone_choices() -> list[tuple[str, str]]:
    """Every IANA zone the server knows (the model validates against the same set)."""
    return [(name, name.replace("_", " ")) for name in sorted(zoneinfo.available_timezones())]


class WriteOnlyInput(forms.TextInput):
    """Never renders a value: what was typed or saved is not sent back to the browser."""

    def format_value(self, value):
        return None


class ProviderSettingsForm(forms.ModelForm):
    # Left empty, the partial-payment minimums are zero (no minimum beyond one cent).
    partial_minimum_amount = forms.DecimalField(
        label="Minimum partial payment per invoice",
        required=False,
        min_value=0,
        max_digits=12,
        decimal_places=2,
    )
    partial_minimum_percent = forms.IntegerField(
        label="Minimum share of each invoice (%)", required=False, min_value=0, max_value=100
    )
    # Left empty, the reminder numbers and the brand colour keep what is saved.
    reminder_days_before = forms.IntegerField(
        label="Days before the due date",
        required=False,
        min_value=0,
        max_value=60,
        help_text="0: no reminder before the due date.",
    )
    reminder_overdue_every = forms.IntegerField(
        label="Every N days overdue",
        required=False,
        min_value=0,
        max_value=90,
        help_text="0: no overdue reminders.",
    )
    reminder_overdue_times = forms.IntegerField(
        label="Overdue reminders at most", required=False, min_value=0, max_value=12
    )
    brand_color = forms.RegexField(
        label="Brand colour",
        required=False,
        regex=r"^#[0-9A-Fa-f]{6}$",
        error_messages={"invalid": "Use a hex colour, e.g. #1f4e79."},
        help_text="The colour of headings and buttons in emails to clients.",
    )
    gateway_url = forms.URLField(
        label="Gateway URL",
        required=False,
        assume_scheme="https",
        widget=WriteOnlyInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    gateway_security_key = forms.CharField(
        label="Security key",
        required=False,
        max_length=200,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )
    clear_gateway_url = forms.BooleanField(
        label="Remove the saved URL",
        required=False,
        help_text="The server's GATEWAY_URL setting is used instead.",
    )
    clear_gateway_security_key = forms.BooleanField(
        label="Remove the saved key",
        required=False,
        help_text="The server's GATEWAY_SECURITY_KEY setting is used instead.",
    )

    class Meta:
        model = Provider
        fields = [
            "name",
            "country",
            "internal_currency",
            "time_zone",
            "payment_options",
            "partial_payments_allowed",
            "partial_minimum_amount",
            "partial_minimum_percent",
            "require_mfa_for_financials",
            "support_email",
            "support_phone",
            "gateway_url",
            "gateway_security_key",
            "gateway_tokenization_key",
            *AUTOPAY_SETTINGS,
        ]
        widgets = {
            "payment_options": forms.RadioSelect,
            "gateway_tokenization_key": forms.TextInput(
                attrs={"autocomplete": "off", "spellcheck": "false"}
            ),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Choices, not free text: a typo here would switch online payment off (US and USD only).
        for name, choices in (
            ("country", COUNTRY_CHOICES),
            ("internal_currency", CURRENCY_CHOICES),
            ("time_zone", time_zone_choices()),
        ):
            if name in self.fields:
                current = getattr(self.instance, name, "") or ""
                if (
                    current
                    and current.upper() not in {c for c, _ in choices}
                    and current not in {c for c, _ in choices}
                ):
                    choices = [(current, current), *choices]  # an old value stays choosable
                self.fields[name].widget = forms.Select(choices=choices)
        # Never displayed back: the form starts empty and "empty" means "leave it as it is".
        for name in SECRET_SETTINGS:
            self.initial[name] = ""
            current = getattr(self.instance, name, "")
            self.fields[name].help_text = (
                f"Saved: {mask_secret(current)}. Leave empty to keep it."
                if current
                else "Not saved here. Leave empty to use the server's setting."
            )

    def clean_gateway_url(self) -> str:
        url = self.cleaned_data["gateway_url"]
        if url and not url.lower().startswith(("https://", "http://")):
            raise forms.ValidationError("Use an http:// or https:// address.")
        return url

    def clean_partial_minimum_amount(self):
        return self.cleaned_data.get("partial_minimum_amount") or 0

    def clean_partial_minimum_percent(self):
        return self.cleaned_data.get("partial_minimum_percent") or 0

    def _kept(self, name):
        value = self.cleaned_data.get(name)
        return getattr(self.instance, name) if value in (None, "") else value

    def clean_reminder_days_before(self):
        return self._kept("reminder_days_before")

    def clean_reminder_overdue_every(self):
        return self._kept("reminder_overdue_every")

    def clean_reminder_overdue_times(self):
        return self._kept("reminder_overdue_times")

    def clean_brand_color(self):
        return self._kept("brand_color")

    def clean(self):
        cleaned = super().clean()
        for name in SECRET_SETTINGS:
            typed = cleaned.get(name)
            if cleaned.get(f"clear_{name}"):
                if typed:
                    self.add_error(name, "Type a new value or remove the saved one, not both.")
                cleaned[name] = ""
            elif not typed:
                cleaned[name] = getattr(self.instance, name, "")
        if (
            cleaned.get("autopay_enabled")
            and not cleaned.get("autopay_on_due_date")
            and not (cleaned.get("autopay_days_after_invoice") or "").strip()
        ):
            self.add_error(
                "autopay_on_due_date",
                "Allow charging on the due date, or list days after the invoice date.",
            )
        public = (cleaned.get("gateway_tokenization_key") or "").strip()
        if public and public == (cleaned.get("gateway_security_key") or "").strip():
            # The public key is printed in every payment page: never the private one.
            self.add_error(
                "gateway_tokenization_key",
                "This is the private security key. Enter the gateway's public tokenization key.",
            )
            self.data = self.data.copy()
            self.data[self.add_prefix("gateway_tokenization_key")] = ""  # never shown back
        return cleaned

    @property
    def changed_settings(self) -> list[str]:
        """The settings this form changes (a secret counts as changed when a new value is typed
        or the saved one is removed)."""
        changed = [
            name
            for name in self.changed_data
            if name in AUDITED_FIELDS
            # an empty minimum (or reminder number, colour) posted is what is saved: no change
            and not (
                name.startswith(("partial_minimum", "reminder_", "brand_color"))
                and self.cleaned_data.get(name) == self.initial.get(name)
            )
        ]
        for name in SECRET_SETTINGS:
            if self.cleaned_data.get(f"clear_{name}") and name not in changed:
                changed.append(name)
        return changed


def _plain(value):
    from decimal import Decimal

    return str(value) if isinstance(value, Decimal) else value


class ProviderAdmin(admin.ModelAdmin):
    """Provider settings: one row, edited in place."""

    form = ProviderSettingsForm
    change_form_template = "backoffice/provider_change_form.html"
    fieldsets = [
        (None, {"fields": ["name", "country", "internal_currency", "time_zone"]}),
        (
            "Payments",
            {
                "fields": [
                    "payment_options",
                    "partial_payments_allowed",
                    "partial_minimum_amount",
                    "partial_minimum_percent",
                ],
                "description": "What clients may pay with in the Make a Payment window. Online "
                "payment is offered only by providers based in the US whose internal currency "
                "is USD. Partial payments (Pay selected / Pay all due) let clients pay part of "
                "an invoice, not under the minimum amount or share.",
            },
        ),
        (
            "Client sign-in",
            {
                "fields": ["require_mfa_for_financials"],
                "description": "Clients may always turn on two-step sign-in (an authenticator "
                "app) from their account page; this makes it required for those who see invoices.",
            },
        ),
        ("Contact shown to clients", {"fields": ["support_email", "support_phone", "brand_color"]}),
        (
            "Autopay",
            {
                "fields": [
                    "autopay_enabled",
                    "autopay_on_due_date",
                    "autopay_days_after_invoice",
                    "autopay_staff_may_enrol",
                ],
                "description": "Clients enrol on their Payment methods page with a saved method; "
                "each invoice is charged once, by the worker (docs/autopay.md).",
            },
        ),
        (
            "Payment reminders",
            {
                "fields": [
                    "reminders_enabled",
                    "reminder_days_before",
                    "reminder_on_due_date",
                    "reminder_overdue_every",
                    "reminder_overdue_times",
                ],
                "description": "Emails to each organization's billing contacts with a link "
                "to pay; invoices on autopay get the autopay notice instead.",
            },
        ),
    ]

    def get_fieldsets(self, request, obj=None):
        gateway = []
        for name in SECRET_SETTINGS:
            gateway.append(name)
            if obj is not None and getattr(obj, name):
                gateway.append(f"clear_{name}")  # only something saved can be removed
        return [
            *self.fieldsets,
            (
                "Payment gateway (NMI)",
                {
                    "fields": [*gateway, "gateway_tokenization_key"],
                    "description": "The URL and security key are write-only: saved values are "
                    "never shown again, only masked. The public tokenization key (Collect.js) is "
                    "shown: it can only create payment tokens and is part of every payment page.",
                },
            ),
        ]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_object(self, request, object_id, from_field=None):
        return Provider.load()

    def changelist_view(self, request, extra_context=None):
        Provider.load()
        return HttpResponseRedirect(reverse("admin:core_provider_change", args=[1]))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        provider = Provider.load()
        extra_context = {
            **(extra_context or {}),
            "title": "Provider settings",
            "gateway_masked": {
                "url": mask_secret(provider.gateway_url),
                "key": mask_secret(provider.gateway_security_key),
            },
            "can_test_connection": self.has_change_permission(request, provider),
            "show_save_and_continue": False,
        }
        return super().change_view(request, "1", form_url, extra_context)

    def response_change(self, request, obj):
        # One settings page: saving stays on it.
        if "_continue" not in request.POST and "_save" in request.POST:
            self.message_user(request, "The settings were saved.", messages.SUCCESS)
            return HttpResponseRedirect(request.path)
        return super().response_change(request, obj)

    def save_model(self, request, obj, form, change):
        before = Provider.objects.get(pk=obj.pk) if change else None
        super().save_model(request, obj, form, change)
        changed = form.changed_settings
        if not changed:
            return
        values = {
            # Decimals (the partial-payment minimum) as text: the audit log is JSON.
            name: [_plain(getattr(before, name, "")), _plain(getattr(obj, name))]
            for name in changed
            if name not in SECRET_SETTINGS
        }
        record_event(
            "settings.changed",
            request=request,
            summary="Provider settings changed: " + ", ".join(changed),
            fields=changed,
            values=values,
        )

    def log_change(self, request, obj, message):
        return super().log_change(request, obj, message)  # audited in save_model, with old/new

    def get_urls(self):
        return [
            path(
                "test-connection/",
                self.admin_site.admin_view(require_POST(self.test_connection_view)),
                name="core_provider_test_connection",
            ),
            *super().get_urls(),
        ]

    def test_connection_view(self, request):
        provider = Provider.load()
        if not self.has_change_permission(request, provider):
            raise PermissionDenied
        check = gateway_connection_check(provider)
        record_event(
            "settings.test_connection",
            request=request,
            outcome=AuditEvent.Outcome.SUCCESS if check.ok else AuditEvent.Outcome.FAILURE,
            summary=f"Gateway connection test: {check.message}",
            result=check.code,
        )
        self.message_user(request, check.message, messages.SUCCESS if check.ok else messages.ERROR)
        return HttpResponseRedirect(reverse("admin:core_provider_change", args=[1]))


admin.site.register(Provider, ProviderAdmin)
