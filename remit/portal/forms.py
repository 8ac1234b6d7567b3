from django import forms


class InvoiceFilterForm(forms.Form):
    """Reports > Invoices filters. All optional; bad values get a message next to the field."""

    SORTS = {
        "-date": ("-invoice_date", "-id"),
        "date": ("invoice_date", "id"),
        "-due": ("-due_date", "-id"),
        "due": ("due_date", "id"),
        "-total": ("-total", "-id"),
        "total": ("total", "id"),
        "-amount": ("-amount_due", "-id"),
        "amount": ("amount_due", "id"),
    }
    DEFAULT_SORT = "-date"

    date_from = forms.DateField(
        label="Invoice date from", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label="to", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    number = forms.CharField(label="Invoice number", required=False, max_length=40)
    show_paid = forms.BooleanField(
        label="Show paid", required=False, help_text="Paid and void invoices too."
    )
    sort = forms.ChoiceField(
        choices=[(key, key) for key in SORTS], required=False, widget=forms.HiddenInput
    )

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", "The end date must be on or after the start date.")
        return cleaned

    def ordering(self) -> tuple[str, ...]:
        sort = (self.cleaned_data.get("sort") if self.is_valid() else None) or self.DEFAULT_SORT
        return self.SORTS[sort]

    def current_sort(self) -> str:
        return (self.cleaned_data.get("sort") if self.is_valid() else None) or self.DEFAULT_SORT
