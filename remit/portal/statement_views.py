"""Statement of account and aging for the user's organization, on screen (with a small
server-rendered bar chart: no script, the CSP stays strict) and as a PDF."""

from __future__ import annotations

import datetime

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from remit.billing.access import invoices_for
from remit.billing.statement import statement
from remit.payments.access import payments_for
from remit.portal.invoice_pages import statement_item_rows


class StatementForm(forms.Form):
    start = forms.DateField(label="From", required=False, widget=forms.DateInput({"type": "date"}))
    as_of = forms.DateField(label="As of", required=False, widget=forms.DateInput({"type": "date"}))

    def clean(self):
        cleaned = super().clean()
        start, as_of = cleaned.get("start"), cleaned.get("as_of")
        if start and as_of and start > as_of:
            self.add_error("start", "The start of the period must be on or before its end.")
        return cleaned


def _statement_for(request):
    today = timezone.localdate()
    form = StatementForm(request.GET or None)
    cleaned = form.cleaned_data if form.is_bound and form.is_valid() else {}
    as_of = cleaned.get("as_of") or today
    start = cleaned.get("start") or as_of - datetime.timedelta(days=30)
    data = statement(
        invoices_for(request.user), payments_for(request.user), start=start, as_of=as_of
    )
    return form, data


@require_GET
@login_required
def statement_page(request):
    form, data = _statement_for(request)
    item_rows = statement_item_rows(data["items"])
    return render(
        request,
        "portal/statement.html",
        {"nav": "reports", "form": form, "item_rows": item_rows, **data},
    )


@require_GET
@login_required
def statement_pdf(request):
    from remit.billing.statement_pdf import statement_pdf as render_pdf

    _, data = _statement_for(request)
    pdf = render_pdf(request.user.organization, data, provider=request.provider)
    response = HttpResponse(pdf, content_type="application/pdf")
    name = f"statement-{data['as_of'].isoformat()}.pdf"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
