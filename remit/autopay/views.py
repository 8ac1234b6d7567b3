"""The client's autopay page (from Payment methods): enrol with a saved method (terms, then the
exact consent text to accept), see the next charge and past attempts, cancel in one click, turn
reminders off for oneself."""

from __future__ import annotations

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from remit.audit.services import client_ip
from remit.autopay import consent
from remit.autopay.access import attempts_for, enrolment_for
from remit.autopay.forms import EnrolForm
from remit.autopay.models import AttemptState, ReminderOptOut
from remit.autopay.services import EnrolmentRefused, cancel, consent_for, enrol
from remit.billing.access import invoices_for
from remit.billing.models import Invoice
from remit.core.money import ZERO
from remit.payments.access import payment_methods_for


def next_charge(enrolment, user) -> tuple[Invoice, datetime.date] | None:
    """The open invoice autopay charges next, and when."""
    today = timezone.localdate()
    charged = attempts_for(user).exclude(state=AttemptState.DUE).values("invoice_id")
    upcoming = []
    open_invoices = invoices_for(user).filter(state=Invoice.State.ISSUED, amount_due__gt=ZERO)
    for invoice in open_invoices.exclude(pk__in=charged).order_by("due_date", "id")[:200]:
        when = enrolment.charge_date(invoice)
        if when >= enrolment.starts_on:
            upcoming.append((max(when, today), invoice.pk, invoice))
    if not upcoming:
        return None
    when, _, invoice = min(upcoming)
    return invoice, when


@login_required
@require_http_methods(["GET", "POST"])
def autopay_page(request):
    provider = request.provider
    methods = list(payment_methods_for(request.user))  # 404 without the permission
    enrolment = enrolment_for(request.user)
    form = EnrolForm(request.POST or None, user=request.user, methods=methods, provider=provider)
    confirm_text = ""
    if request.method == "POST" and form.is_valid():
        if request.POST.get("agree") == consent.VERSION:
            try:
                enrol(
                    user=request.user,
                    method=form.terms.method,
                    trigger=form.cleaned_data["trigger"],
                    cap=form.cleaned_data["cap"],
                    ip_address=client_ip(request),
                    provider=provider,
                )
            except EnrolmentRefused as refused:
                for field, message in refused.errors.items():
                    form.add_error(None if field == "__all__" else field, message)
            else:
                messages.success(request, "Autopay is on. We emailed you what you agreed to.")
                return redirect(reverse("autopay"))
        else:  # step two: the exact text to agree to, for these terms
            confirm_text = consent_for(
                form.terms,
                organization=request.user.organization,
                provider=provider,
                starts=timezone.localdate(),
            )
    context = {
        "nav": "methods",
        "enrolment": enrolment,
        "form": form,
        "methods": methods,
        "confirm_text": confirm_text,
        "consent_version": consent.VERSION,
        "next": next_charge(enrolment, request.user) if enrolment else None,
        "attempts": attempts_for(request.user)[:20],
        "opted_out": ReminderOptOut.objects.filter(user=request.user).exists(),
        "offered": provider.autopay_enabled,
    }
    return render(request, "autopay/autopay.html", context)


@login_required
@require_POST
def autopay_cancel(request):
    enrolment = enrolment_for(request.user)
    if enrolment is None:
        messages.info(request, "Autopay is already off.")
        return redirect(reverse("autopay"))
    try:
        cancel(enrolment, user=request.user, ip_address=client_ip(request))
    except EnrolmentRefused as refused:
        messages.error(request, refused.errors["__all__"])
    else:
        messages.success(request, "Autopay is cancelled. No invoice will be charged automatically.")
    return redirect(reverse("autopay"))


@login_required
@require_POST
def reminders_preference(request):
    enrolment_for(request.user)  # the same access rule (404 without the permission)
    if request.POST.get("reminders") == "off":
        ReminderOptOut.objects.get_or_create(user=request.user)
        messages.success(
            request, "Payment reminders are off for you. Receipts and autopay notices still come."
        )
    else:
        ReminderOptOut.objects.filter(user=request.user).delete()
        messages.success(request, "Payment reminders are on for you.")
    return redirect(reverse("autopay"))
