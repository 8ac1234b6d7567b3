"""The aging report: every organization with something open, its buckets (Current, 1–30, 31–60,
61–90, 90+ days past due, as of a date) and its total, sortable, on screen and as CSV. The buckets
are the client statement's (remit.billing.statement), summed in one grouped query. An organization
with invoices in several currencies gets one row a currency: amounts are never added across them."""

from __future__ import annotations

import csv
import datetime

from django import forms
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Sum, Value
from django.db.models.functions import Coalesce
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone

from remit.accounts.models import Organization
from remit.backoffice.figures import MONEY, InvoiceLinks, may_see_invoices
from remit.billing.models import Invoice
from remit.billing.selectors import open_invoices
from remit.billing.statement import BUCKETS, bucket_sums
from remit.core.money import ZERO

ROWS_PER_PAGE = 100
COLUMNS = [("organization", "Organization"), *BUCKETS, ("total", "Total")]
SORTS = {"organization", *(key for key, _ in BUCKETS), "total"}
DEFAULT_SORT = "-total"


class AgingForm(forms.Form):
    as_of = forms.DateField(label="As of", required=False, widget=forms.DateInput({"type": "date"}))


def aging_rows(as_of: datetime.date, sort: str = DEFAULT_SORT) -> list[dict]:
    """One row per organization and currency with anything open: its buckets and total. Two
    queries: the sums, grouped in the order of the `invoice_open_aging` index (so PostgreSQL reads
    the index alone and never sorts), then the organizations' names; sorted here."""
    rows = list(
        open_invoices(Invoice.objects.all())
        .values("currency", "organization_id")
        .annotate(
            **bucket_sums(as_of),
            total=Coalesce(Sum("amount_due"), Value(ZERO), output_field=MONEY),
        )
        .order_by()
    )
    names = dict(
        Organization.objects.filter(pk__in={row["organization_id"] for row in rows}).values_list(
            "pk", "name"
        )
    )
    for row in rows:
        row["organization__name"] = names[row["organization_id"]]
    rows.sort(
        key=lambda row: (row["organization__name"].lower(), row["organization_id"], row["currency"])
    )
    key = sort.removeprefix("-")
    if key == "organization":
        if sort.startswith("-"):
            rows.reverse()
        return rows
    rows.sort(key=lambda row: row[key], reverse=sort.startswith("-"))  # stable: then by name
    return rows


def _options(request) -> tuple[AgingForm, datetime.date, str]:
    if not may_see_invoices(request.user):
        raise PermissionDenied
    form = AgingForm(request.GET or None, initial={"as_of": timezone.localdate()})
    as_of = (form.cleaned_data.get("as_of") if form.is_bound and form.is_valid() else None) or (
        timezone.localdate()
    )
    sort = request.GET.get("sort", DEFAULT_SORT)
    if sort.removeprefix("-") not in SORTS:
        sort = DEFAULT_SORT
    return form, as_of, sort


def _headers(request, sort: str) -> list[dict]:
    """Each column's header: a link sorting by it (largest first for amounts; again: reversed)."""
    params = request.GET.copy()
    params.pop("page", None)
    headers = []
    for key, label in COLUMNS:
        current = sort.removeprefix("-") == key
        descending = sort.startswith("-")
        if current:
            following = key if descending else f"-{key}"
        else:
            following = key if key == "organization" else f"-{key}"
        params["sort"] = following
        headers.append(
            {
                "key": key,
                "label": label,
                "url": f"?{params.urlencode()}",
                "aria_sort": ("descending" if descending else "ascending") if current else "",
                "numeric": key != "organization",
            }
        )
    return headers


def _with_links(row: dict, invoices_link: InvoiceLinks) -> dict:
    scope = {"organization__id__exact": row["organization_id"], "currency": row["currency"]}
    row["cells"] = [(row[key], invoices_link(age=key, **scope)) for key, _ in BUCKETS]
    row["total_url"] = invoices_link(age="open", **scope)
    return row


def aging_report(request, context: dict):
    form, as_of, sort = _options(request)
    page = Paginator(aging_rows(as_of, sort), ROWS_PER_PAGE).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    links = InvoiceLinks(as_of)
    return TemplateResponse(
        request,
        "backoffice/aging_report.html",
        {
            **context,
            "title": "Aging report",
            "form": form,
            "as_of": as_of,
            "headers": _headers(request, sort),
            "page": page,
            "rows": [_with_links(row, links) for row in page.object_list],
            "query": params.urlencode(),
        },
    )


def _text(value: str) -> str:
    """A spreadsheet would run a cell starting with = + - @ as a formula: keep it text."""
    return f"'{value}" if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def aging_csv(request, context: dict):
    _, as_of, sort = _options(request)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="aging-{as_of.isoformat()}.csv"'
    writer = csv.writer(response)
    writer.writerow(
        ["Organization", "Currency", *(label for _, label in BUCKETS), "Total", "As of"]
    )
    for row in aging_rows(as_of, sort):
        writer.writerow(
            [
                _text(row["organization__name"]),
                row["currency"],
                *(f"{row[key]:.2f}" for key, _ in BUCKETS),
                f"{row['total']:.2f}",
                as_of.isoformat(),
            ]
        )
    return response
