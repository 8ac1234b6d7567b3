"""The enrolment form: one of the user's saved methods, a charge date the provider allows, an
optional cap. Its errors come from services.check_terms, next to their fields."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import forms

from remit.autopay.services import EnrolmentRefused, allowed_triggers, check_terms


class EnrolForm(forms.Form):
    payment_method = forms.ChoiceField(label="Charge", widget=forms.RadioSelect)
    trigger = forms.ChoiceField(label="When to charge each invoice", widget=forms.RadioSelect)
    cap = forms.CharField(
        label="Cap per invoice (optional)",
        required=False,
        max_length=20,
        help_text="An invoice above this amount is not charged; you are told instead.",
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )

    def __init__(self, *args, user, methods, provider, **kwargs):
        super().__init__(*args, **kwargs)
        self.user, self.provider = user, provider
        self.methods = {str(m.pk): m for m in methods}
        self.fields["payment_method"].choices = [
            (str(m.pk), f"{m.label} ({m.detail})" if m.detail else m.label) for m in methods
        ]
        self.fields["trigger"].choices = allowed_triggers(provider)
        if methods and not self.is_bound:
            self.initial.setdefault("payment_method", str(methods[0].pk))
        if self.fields["trigger"].choices and not self.is_bound:
            self.initial.setdefault("trigger", self.fields["trigger"].choices[0][0])

    def clean_cap(self):
        raw = (self.cleaned_data.get("cap") or "").strip().replace(",", "").removeprefix("$")
        if not raw:
            return None
        try:
            value = Decimal(raw)
        except InvalidOperation:
            raise forms.ValidationError("Enter an amount, e.g. 2500.00.") from None
        if not value.is_finite():
            raise forms.ValidationError("Enter an amount, e.g. 2500.00.")
        return value

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        method = self.methods.get(cleaned.get("payment_method", ""))
        try:
            self.terms = check_terms(
                self.user, method, cleaned.get("trigger", ""), cleaned.get("cap"), self.provider
            )
        except EnrolmentRefused as refused:
            for field, message in refused.errors.items():
                self.add_error(None if field == "__all__" else field, message)
        return cleaned
