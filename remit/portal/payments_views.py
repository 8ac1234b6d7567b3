"""The organization's Payments page (newest first, with status and receipts) and a payment's
receipt as a PDF. Through the access helpers: another organization's payment is a 404."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from remit.payments.access import get_payment_for, payments_for
from remit.payments.models import PaymentAllocation
from remit.payments.receipt_pdf import receipt_pdf

PAYMENTS_PER_PAGE = 50


@require_GET
@login_required
def payment_list(request):
    payments = (
        payments_for(request.user)
        .select_related("payer")
        .prefetch_related(
            Prefetch(
                "allocations",
                queryset=PaymentAllocation.objects.select_related("invoice").order_by("invoice_id"),
            )
        )
        .order_by("-created_at", "-id")
    )
    page = Paginator(payments, PAYMENTS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "portal/payment_list.html", {"nav": "payments", "page": page})


@require_GET
@login_required
def payment_receipt_pdf(request, public_id):
    payment = get_payment_for(request.user, public_id)
    pdf = receipt_pdf(payment, provider=request.provider)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="receipt-{payment.order_id}.pdf"'
    return response
