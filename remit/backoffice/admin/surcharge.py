"""Card surcharge settings: one row, edited in place, every change audited with old and new values.
The rules the settings feed are in remit/payments/surcharge.py; the form refuses what the card
networks do not allow (above 3% or the cost of acceptance, more than two decimals, turned on
before the 30-day notice is over)."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from localflavor.us.us_states import STATE_CHOICES

from remit.audit.services import record_event
from remit.payments.surcharge_models import MAX_PERCENT, NOTICE_DAYS, SurchargePolicy

AUDITED = [
    "enabled",
    "percent",
    "cost_of_acceptance",
    "acquirer_notified_on",
    "excluded_states",
    "state_caps",
    "echeck_discount_percent",
]
TWO_PLACES = "Use at most two decimals, for example 2.75."
STATES = {code for code, _ in STATE_CHOICES}
CAP_LINE = re.compile(r"^([A-Za-z]{2})\s*[:=]?\s*(\d+(?:\.\d+)?)\s*%?$")


def _percent_field(label: str, help_text: str = "", maximum: str = MAX_PERCENT) -> forms.Field:
    return forms.DecimalField(
        label=label,
        required=False,
        min_value=Decimal("0.01"),
        max_value=Decimal(maximum),
        decimal_places=2,
        max_digits=5,
        help_text=help_text,
        error_messages={
            "max_decimal_places": TWO_PLACES,
            "max_digits": TWO_PLACES,
            "max_value": "At most %(limit_value)s%%.",
            "min_value": "At least %(limit_value)s%%.",
        },
    )


class SurchargeForm(forms.ModelForm):
    percent = _percent_field(
        "Surcharge (%)", "Card networks allow at most 3.00%, and never more than your cost."
    )
    cost_of_acceptance = _percent_field(
        "Your cost of accepting credit cards (%)",
        "What your acquirer charges you for a credit card payment.",
        maximum="10.00",
    )
    echeck_discount_percent = _percent_field(
        "Discount for paying by eCheck (%)",
        "Optional. Offered to everyone who pays by eCheck, and shown to everyone.",
        maximum="10.00",
    )
    excluded_states = forms.MultipleChoiceField(
        label="States without a surcharge",
        choices=STATE_CHOICES,
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 8}),
        help_text="Prohibited by law: Connecticut, Massachusetts, Maine and Puerto Rico (verify "
        "with counsel). The organization's billing state and the card's billing state both count.",
    )
    state_caps = forms.CharField(
        label="States with a lower cap",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 20}),
        help_text="One per line: the state and its cap in percent, for example “CO 2.00”.",
    )

    class Meta:
        model = SurchargePolicy
        fields = AUDITED

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        caps = self.instance.state_caps or {}
        self.initial["state_caps"] = "\n".join(f"{s} {caps[s]}" for s in sorted(caps))

    def clean_state_caps(self) -> dict[str, str]:
        caps, bad = {}, []
        for line in (self.cleaned_data.get("state_caps") or "").splitlines():
            if not line.strip():
                continue
            match = CAP_LINE.match(line.strip())
            state = match.group(1).upper() if match else ""
            if not match or state not in STATES:
                bad.append(line.strip())
                continue
            cap = Decimal(match.group(2))
            if cap != cap.quantize(Decimal("0.01")):
                raise forms.ValidationError(f"{state}: {TWO_PLACES}")
            if not Decimal("0") <= cap <= Decimal(MAX_PERCENT):
                raise forms.ValidationError(f"{state}: a cap is between 0.00 and {MAX_PERCENT}%.")
            caps[state] = f"{cap:.2f}"
        if bad:
            raise forms.ValidationError(
                "Write each as a state's two letters and a percentage, for example “CO 2.00”: "
                + ", ".join(f"“{b}”" for b in bad)
            )
        return caps

    def clean(self):
        cleaned = super().clean()
        percent = cleaned.get("percent")
        cost = cleaned.get("cost_of_acceptance")
        notified = cleaned.get("acquirer_notified_on")
        today = timezone.localdate()
        if notified and notified > today:
            self.add_error("acquirer_notified_on", "This date is in the future.")
        if percent is not None and cost is not None and percent > cost:
            self.add_error(
                "percent", f"The surcharge may not be above your cost of acceptance ({cost}%)."
            )
        if cleaned.get("enabled"):
            if percent is None and "percent" not in self.errors:
                self.add_error("percent", "Enter the surcharge to turn it on.")
            if cost is None and "cost_of_acceptance" not in self.errors:
                self.add_error("cost_of_acceptance", "Enter your cost to turn the surcharge on.")
            if notified is None and "acquirer_notified_on" not in self.errors:
                self.add_error(
                    "acquirer_notified_on",
                    f"Enter when your acquirer was notified: surcharges start {NOTICE_DAYS} "
                    "days after.",
                )
            elif notified and notified <= today:
                start = notified + datetime.timedelta(days=NOTICE_DAYS)
                if today < start:
                    self.add_error(
                        "enabled",
                        f"Surcharges can be turned on from {start:%B} {start.day}, {start.year}: "
                        f"{NOTICE_DAYS} days after your acquirer was notified.",
                    )
        return cleaned


def _plain(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


@admin.register(SurchargePolicy)
class SurchargePolicyAdmin(admin.ModelAdmin):
    """One settings page: Payments → Card surcharge."""

    form = SurchargeForm
    fieldsets = [
        (
            "Card surcharge",
            {
                "fields": ["enabled", "percent", "cost_of_acceptance", "acquirer_notified_on"],
                "description": "A surcharge is added to credit card payments only — never to "
                "debit or prepaid cards, cards of unknown kind, or eChecks — shown to the client "
                "before they confirm and itemized on the receipt.",
            },
        ),
        ("Where it applies", {"fields": ["excluded_states", "state_caps"]}),
        ("eCheck", {"fields": ["echeck_discount_percent"]}),
    ]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_object(self, request, object_id, from_field=None):
        return SurchargePolicy.load()

    def changelist_view(self, request, extra_context=None):
        SurchargePolicy.load()
        return HttpResponseRedirect(reverse("admin:payments_surchargepolicy_change", args=[1]))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        SurchargePolicy.load()
        extra_context = {
            **(extra_context or {}),
            "title": "Card surcharge",
            "show_save_and_continue": False,
        }
        return super().change_view(request, "1", form_url, extra_context)

    def response_change(self, request, obj):
        if "_continue" not in request.POST and "_save" in request.POST:
            self.message_user(request, "The surcharge settings were saved.", messages.SUCCESS)
            return HttpResponseRedirect(request.path)
        return super().response_change(request, obj)

    def save_model(self, request, obj, form, change):
        before = SurchargePolicy.objects.filter(pk=obj.pk).first()
        super().save_model(request, obj, form, change)
        changed = [
            name
            for name in AUDITED
            if _plain(getattr(before, name, None)) != _plain(getattr(obj, name))
        ]
        if changed:
            record_event(
                "settings.surcharge_changed",
                request=request,
                summary="Card surcharge settings changed: " + ", ".join(changed),
                fields=changed,
                values={
                    name: [_plain(getattr(before, name, None)), _plain(getattr(obj, name))]
                    for name in changed
                },
            )

    def log_change(self, request, obj, message):
        return super().log_change(request, obj, message)  # audited in save_model, with old/new
