"""The client's pages: Home, Reports > Invoices, an invoice and its PDF."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET

from remit.billing import page_queries
from remit.billing.pdf import cached_invoice_pdf
from remit.core.formats import short_date
from remit.core.money import format_money
from remit.payments.services import invoice_payable_problem, payment_unavailable_reason
from remit.portal import keyset
from remit.portal.field_html import field_html, sort_header_html, widget_html
from remit.portal.forms import InvoiceFilterForm
from remit.portal.invoice_pages import (
    badge_html,
    detail_urls,
    invoice_rows,
    line_rows_html,
    totals_html,
)

INVOICES_PER_PAGE = keyset.PER_PAGE


@require_GET
@login_required
def home(request):
    if not request.user.is_client:
        return redirect("admin:index")  # provider staff work in the back office
    context = {"nav": "home"}
    if request.user.can_view_financials:
        today = timezone.localdate()
        recent, summary = page_queries.home_reads(request.user, today)  # one round trip
        context.update(
            recent_invoices=mark_safe(
                "\n".join(row.home_html() for row in invoice_rows(recent, today))
            ),
            summary=summary,
            can_pay=payment_unavailable_reason(request.provider) is None,
        )
    return render(request, "portal/home.html", context)


@require_GET
@login_required
def invoice_list(request):
    """Reports > Invoices: newest first, filter by date range, "Show paid", sort, 50 a page."""
    form = InvoiceFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_bound and form.is_valid() else {}
    ordering = (
        form.ordering()
        if form.is_bound
        else InvoiceFilterForm.SORTS[InvoiceFilterForm.DEFAULT_SORT]
    )
    reads = page_queries.ListReads(
        request.user,
        date_from=filters.get("date_from"),
        date_to=filters.get("date_to"),
        show_paid=bool(filters.get("show_paid")),
        number=filters.get("number", ""),
    )
    page = keyset.paginate(reads, ordering, request.GET)
    can_pay = payment_unavailable_reason(request.provider) is None
    sort = form.current_sort() if form.is_bound else InvoiceFilterForm.DEFAULT_SORT
    rows = invoice_rows(page.rows, timezone.localdate())
    return render(
        request,
        "portal/invoice_list.html",
        {
            "nav": "reports",
            "form": form,
            "fields": {name: field_html(form[name]) for name in FILTER_FIELDS},
            "sort_input": mark_safe(widget_html(form["sort"])),
            "page": page,
            "rows": mark_safe("\n".join(row.list_html(can_pay) for row in rows)),
            "sort_headers": mark_safe(
                "\n".join(
                    sort_header_html(request, label, key, sort, num)
                    for label, key, num in SORT_HEADERS
                )
            ),
            "can_pay": can_pay,
        },
    )


FILTER_FIELDS = ("number", "date_from", "date_to", "show_paid")
SORT_HEADERS = (
    ("Invoice Date", "date", False),
    ("Due Date", "due", False),
    ("Total", "total", True),
    ("Amount Due", "amount", True),
)


def _invoice_page(request, pk: int, payments: bool = True):
    """The user's invoice with its lines (and payments), read in one round trip, its organization
    the user's own, already loaded (the access helper only finds invoices of the user's
    organization), not a second query."""
    invoice, lines, paid = page_queries.invoice_page(request.user, pk, payments=payments)
    invoice.organization = request.user.organization
    return invoice, lines, paid


@require_GET
@login_required
def invoice_detail(request, pk: int):
    invoice, lines, payments = _invoice_page(request, pk)
    provider = request.provider
    unavailable = payment_unavailable_reason(provider)
    can_pay = not (unavailable or invoice_payable_problem(invoice) or invoice.payment_pending)
    return render(
        request,
        "portal/invoice_detail.html",
        {
            "nav": "reports",
            "invoice": invoice,
            "status_badge": badge_html(invoice.status_on(timezone.localdate())),
            "dates": (short_date(invoice.invoice_date), short_date(invoice.due_date)),
            "urls": detail_urls(invoice.pk),
            "line_rows": line_rows_html(lines, invoice.currency),
            "totals": totals_html(invoice),
            "amount_due": format_money(invoice.amount_due, invoice.currency),
            "payments": payments,
            "can_pay": can_pay,
            "payment_note": unavailable if invoice_payable_problem(invoice) is None else None,
        },
    )


@require_GET
@login_required
def invoice_pdf(request, pk: int):
    invoice, lines, _ = _invoice_page(request, pk, payments=False)
    pdf = cached_invoice_pdf(
        invoice, provider=request.provider, today=timezone.localdate(), lines=lines
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="invoice-{invoice.number}.pdf"'
    return response
