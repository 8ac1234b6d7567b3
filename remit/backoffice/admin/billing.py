"""Invoices: drafts with line items (totals computed, never typed), issue, void, CSV import."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.views.decorators.http import require_http_methods, require_POST

from remit.audit.services import client_ip, record_event
from remit.backoffice import imports
from remit.backoffice.admin.base import AuditedAdmin
from remit.backoffice.filters import AgingFilter, CurrencyFilter, DateRangeFilter
from remit.backoffice.models import InvoiceImport
from remit.backoffice.tasks import run_invoice_import
from remit.billing.models import Invoice, InvoiceLine
from remit.billing.selectors import with_payment_pending
from remit.billing.services import (
    InvoiceStateError,
    invoice_issue,
    invoice_recalculate,
    invoice_void,
)
from remit.core.money import ZERO, format_money, to_money

INVOICE_FIELDS = ["organization", "number", "invoice_date", "due_date", "terms", "tax", "memo"]
COMPUTED_FIELDS = [
    "state",
    "subtotal_display",
    "total_display",
    "amount_paid_display",
    "amount_due_display",
    "issued_at",
]


class InvoiceLineForm(forms.ModelForm):
    class Meta:
        model = InvoiceLine
        fields = ["description", "quantity", "unit_price"]
        # A tabular inline labels its columns in the table head only; each input needs its own name.
        widgets = {
            "description": forms.TextInput(attrs={"aria-label": "Description"}),
            "quantity": forms.NumberInput(attrs={"aria-label": "Quantity"}),
            "unit_price": forms.NumberInput(attrs={"aria-label": "Unit price"}),
        }

    def clean_quantity(self) -> Decimal:
        quantity = self.cleaned_data["quantity"]
        if quantity is not None and quantity <= 0:
            raise forms.ValidationError("More than 0.")
        return quantity

    def clean_unit_price(self) -> Decimal:
        price = self.cleaned_data["unit_price"]
        if price is not None and price < 0:
            raise forms.ValidationError("Not negative.")
        return price

    def clean(self):
        cleaned = super().clean()
        quantity, price = cleaned.get("quantity"), cleaned.get("unit_price")
        too_large = (
            quantity
            and price is not None
            and InvoiceLine.amount_for(quantity, price) > imports.LARGEST_AMOUNT
        )
        if too_large:
            raise forms.ValidationError("This line's amount is too large.")
        return cleaned


class InvoiceLineInline(admin.TabularInline):
    model = InvoiceLine
    form = InvoiceLineForm
    fields = ["description", "quantity", "unit_price", "amount_display"]
    readonly_fields = ["amount_display"]
    extra = 0
    verbose_name = "line"
    verbose_name_plural = "Lines"

    @admin.display(description="Amount")
    def amount_display(self, line: InvoiceLine) -> str:
        return format_money(line.amount) if line.pk else "computed on save"

    def get_extra(self, request, obj=None, **kwargs) -> int:
        return 2 if obj is None else (1 if obj.state == Invoice.State.DRAFT else 0)

    def _editable(self, obj) -> bool:
        return obj is None or obj.state == Invoice.State.DRAFT

    def has_add_permission(self, request, obj=None) -> bool:
        return self._editable(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None) -> bool:
        return self._editable(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self._editable(obj) and super().has_delete_permission(request, obj)


class InvoiceForm(forms.ModelForm):
    class Meta:
        model = Invoice
        fields = INVOICE_FIELDS

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "organization" in self.fields and self.instance.pk is None:
            field = self.fields["organization"]
            field.queryset = field.queryset.filter(is_active=True)

    def clean_tax(self) -> Decimal:
        tax = self.cleaned_data["tax"]
        if tax is not None and tax < 0:
            raise forms.ValidationError("Not negative.")
        return tax

    def clean(self):
        cleaned = super().clean()
        start, due = cleaned.get("invoice_date"), cleaned.get("due_date")
        if start and due and due < start:
            self.add_error("due_date", "The due date is before the invoice date.")
        return cleaned


class InvoiceVoidForm(forms.Form):
    reason = forms.CharField(
        label="Reason", max_length=200, widget=forms.TextInput(attrs={"size": 60})
    )


@admin.register(Invoice)
class InvoiceAdmin(AuditedAdmin):
    form = InvoiceForm
    inlines = [InvoiceLineInline]
    list_display = [
        "number",
        "organization",
        "status_display",
        "invoice_date",
        "due_date",
        "total_display",
        "amount_due_display",
    ]
    list_filter = [
        "state",
        ("organization", admin.RelatedOnlyFieldListFilter),
        DateRangeFilter.on("invoice_date", "invoice date"),
        AgingFilter,
        CurrencyFilter,
    ]
    search_fields = ["number", "organization__name", "organization__external_id"]
    list_select_related = ["organization"]
    list_per_page = 50
    change_form_template = "backoffice/invoice_change_form.html"
    change_list_template = "backoffice/invoice_change_list.html"
    actions = ["issue_drafts"]

    # -- display ----------------------------------------------------------------------------------

    @admin.display(description="Status")
    def status_display(self, invoice: Invoice) -> str:
        return invoice.status.label

    @admin.display(description="Total", ordering="total")
    def total_display(self, invoice: Invoice) -> str:
        return format_money(invoice.total, invoice.currency)

    @admin.display(description="Subtotal")
    def subtotal_display(self, invoice: Invoice) -> str:
        return format_money(invoice.subtotal, invoice.currency)

    @admin.display(description="Amount paid")
    def amount_paid_display(self, invoice: Invoice) -> str:
        return format_money(invoice.amount_paid, invoice.currency)

    @admin.display(description="Amount due", ordering="amount_due")
    def amount_due_display(self, invoice: Invoice) -> str:
        return format_money(invoice.total - invoice.amount_paid, invoice.currency)

    def get_queryset(self, request):
        return with_payment_pending(super().get_queryset(request))

    def get_fields(self, request, obj=None):
        if obj is None:
            return INVOICE_FIELDS
        return [*INVOICE_FIELDS, *COMPUTED_FIELDS, "voided_at", "void_reason"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        fixed = [*COMPUTED_FIELDS, "voided_at", "void_reason"]
        if obj.state != Invoice.State.DRAFT:
            return [*INVOICE_FIELDS, *fixed]
        return fixed

    def has_change_permission(self, request, obj=None) -> bool:
        # Issued and void invoices are shown read-only; only drafts are edited.
        if obj is not None and obj.state != Invoice.State.DRAFT:
            return False
        return super().has_change_permission(request, obj)

    def may_act(self, request) -> bool:
        """May issue and void invoices (the model's change permission)."""
        return super().has_change_permission(request)

    def has_delete_permission(self, request, obj=None) -> bool:
        # Only a draft is deleted; an issued invoice is voided.
        if obj is not None and obj.state != Invoice.State.DRAFT:
            return False
        return super().has_delete_permission(request, obj)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    # -- drafts: totals computed from the lines ----------------------------------------------------

    def save_model(self, request, obj, form, change):
        if not change:
            obj.state = Invoice.State.DRAFT
            obj.currency = request.provider.internal_currency
            # Placeholders that satisfy the totals constraint until the lines are saved.
            obj.subtotal = ZERO
            obj.tax = to_money(obj.tax or ZERO)
            obj.total = obj.tax
        else:
            obj.total = to_money(obj.subtotal + to_money(obj.tax))
        super().save_model(request, obj, form, change)

    def save_formset(self, request, form, formset, change):
        lines = formset.save(commit=False)
        for line in formset.deleted_objects:
            line.delete()
        for line in lines:
            line.amount = InvoiceLine.amount_for(line.quantity, line.unit_price)
            if not line.position:
                line.position = 10_000  # after the existing lines; renumbered below
            line.save()
        formset.save_m2m()

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        invoice_recalculate(form.instance)

    # -- issue and void ---------------------------------------------------------------------------

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path(
                "<int:invoice_id>/issue/",
                view(require_POST(self.issue_view)),
                name="billing_invoice_issue",
            ),
            path(
                "<int:invoice_id>/void/",
                view(require_http_methods(["GET", "POST"])(self.void_view)),
                name="billing_invoice_void",
            ),
            path("import/", view(self.import_view), name="billing_invoice_import"),
            path(
                "import/<int:import_id>/",
                view(self.import_detail_view),
                name="billing_invoice_import_detail",
            ),
            *super().get_urls(),
        ]

    def _invoice_for_change(self, request, invoice_id: int) -> Invoice:
        invoice = get_object_or_404(Invoice, pk=invoice_id)
        if not self.may_act(request):
            raise PermissionDenied
        return invoice

    def _back(self, invoice: Invoice) -> HttpResponseRedirect:
        return HttpResponseRedirect(reverse("admin:billing_invoice_change", args=[invoice.pk]))

    def issue_view(self, request, invoice_id: int):
        invoice = self._invoice_for_change(request, invoice_id)
        try:
            invoice_issue(invoice, acting_user=request.user, ip_address=client_ip(request))
        except InvoiceStateError as refused:
            self.message_user(request, refused.message, messages.ERROR)
        else:
            self.message_user(request, f"Invoice {invoice.number} is issued.", messages.SUCCESS)
        return self._back(invoice)

    @admin.action(description="Issue selected drafts")
    def issue_drafts(self, request, queryset):
        if not self.may_act(request):
            raise PermissionDenied
        issued, refused = 0, []
        for invoice in queryset.filter(state=Invoice.State.DRAFT):
            try:
                invoice_issue(invoice, acting_user=request.user, ip_address=client_ip(request))
                issued += 1
            except InvoiceStateError as problem:
                refused.append(f"{invoice.number}: {problem.message}")
        self.message_user(request, f"Issued {issued} invoice(s).", messages.SUCCESS)
        for line in refused:
            self.message_user(request, line, messages.WARNING)

    def void_view(self, request, invoice_id: int):
        invoice = self._invoice_for_change(request, invoice_id)
        form = InvoiceVoidForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                invoice_void(
                    invoice,
                    acting_user=request.user,
                    reason=form.cleaned_data["reason"],
                    ip_address=client_ip(request),
                )
            except InvoiceStateError as refused:
                self.message_user(request, refused.message, messages.ERROR)
            else:
                self.message_user(request, f"Invoice {invoice.number} is void.", messages.SUCCESS)
            return self._back(invoice)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Void invoice {invoice.number}?",
            "invoice": invoice,
            "form": form,
            "payments": invoice.payments.order_by("-created_at"),
        }
        return TemplateResponse(request, "backoffice/invoice_void.html", context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        invoice = self.get_object(request, object_id)
        extra = {**(extra_context or {})}
        if invoice is not None:
            extra["payments"] = invoice.payments.order_by("-created_at")
            extra["can_act"] = self.may_act(request)
        return super().change_view(request, object_id, form_url, extra)

    # -- CSV import -------------------------------------------------------------------------------

    def import_view(self, request):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = InvoiceImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            with transaction.atomic():
                job = InvoiceImport.objects.create(
                    created_by=request.user,
                    filename=upload.name[:255],
                    content=form.cleaned_data["text"],
                )
                record_event(
                    "invoice_import.started",
                    request=request,
                    summary=f"CSV import of {job.filename} started",
                    import_id=job.pk,
                )
                # The job row and the task row commit together: the worker finds both or neither.
                run_invoice_import.enqueue(job.pk)
            return HttpResponseRedirect(
                reverse("admin:billing_invoice_import_detail", args=[job.pk])
            )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Import invoices from CSV",
            "form": form,
            "columns": imports.COLUMNS,
            "recent": InvoiceImport.objects.select_related("created_by")[:10],
            "max_rows": imports.MAX_ROWS,
        }
        return TemplateResponse(request, "backoffice/invoice_import.html", context)

    def import_detail_view(self, request, import_id: int):
        if not self.has_view_permission(request):
            raise PermissionDenied
        job = InvoiceImport.objects.filter(pk=import_id).select_related("created_by").first()
        if job is None:
            raise Http404("No such import.")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"CSV import: {job.filename}",
            "job": job,
        }
        if getattr(request, "htmx", False):
            return TemplateResponse(request, "backoffice/includes/import_status.html", context)
        return TemplateResponse(request, "backoffice/invoice_import_detail.html", context)


class InvoiceImportForm(forms.Form):
    file = forms.FileField(
        label="CSV file", widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"})
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > imports.MAX_BYTES:
            raise forms.ValidationError("The file is larger than 5 MB.")
        try:
            self.cleaned_data["text"] = imports.decode_upload(upload.read())
        except imports.FileProblem as problem:
            raise forms.ValidationError(str(problem)) from None
        return upload
