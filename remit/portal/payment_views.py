"""Make a Payment: the seed's window (a modal with htmx, a full page without JavaScript), and the
payer's saved methods. Money moves only in remit.payments.services."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.views.decorators.http import require_http_methods, require_POST

from remit.audit.services import client_ip
from remit.billing import page_queries
from remit.core.money import format_money
from remit.payments import authorization, limits
from remit.payments.access import get_payment_method_for, payment_methods_for
from remit.payments.models import MethodKind, Payment
from remit.payments.services import (
    DECLINED_MESSAGE,
    IN_FLIGHT_MESSAGE,
    PaymentRefused,
    failure_message,
    invoice_payable_problem,
    pay_invoice,
    payment_method_remove,
    payment_unavailable_reason,
)
from remit.portal.invoice_pages import detail_urls
from remit.portal.payment_forms import NEW_BANK, NEW_CARD
from remit.portal.payment_window import (
    confirm_question,
    first_forms,
    fresh_form,
    hosted_fields,
    initial_method,
    new_method_details,
    offered_methods,
    payment_choice,
    posted_forms,
    price,
    render_window,
    save_asked,
    show_outcome,
)

_hosted_fields = hosted_fields  # the names remit.portal.page_check knows


def _is_replay(request, invoice) -> bool:
    try:
        key = uuid.UUID(request.POST.get("attempt_key", ""))
    except ValueError:
        return False
    return Payment.objects.filter(payer=request.user, invoice=invoice, attempt_key=key).exists()


@login_required
@require_http_methods(["GET", "POST"])
def make_payment(request, pk: int):
    invoice = page_queries.invoice_for(request.user, pk)  # access.get_invoice_for, built once
    provider = request.provider
    blocked = payment_unavailable_reason(provider) or invoice_payable_problem(invoice)
    if blocked is None and invoice.payment_pending:  # annotated by invoice_for
        blocked = IN_FLIGHT_MESSAGE
    confirmed = request.method == "POST" and request.POST.get("confirmed") == "yes"
    if blocked is None and not confirmed:
        # Told when the window opens, not after. A confirmed post skips the read: phase one
        # checks the blocks under the lock, and its refusal is answered with this same notice.
        blocked = _pause_message(request, provider)
    # The same window posted again: pay_invoice returns its first outcome. Asked only when it
    # changes what the view does (something would stop a first post; the amount due moved): a
    # first post is never a replay, and pay_invoice looks the key up under the invoice's lock.
    replay = request.method == "POST" and (
        blocked is not None or request.POST.get("amount") != str(invoice.amount_due)
    )
    replay = replay and _is_replay(request, invoice)
    if replay:
        blocked = None
    methods, form_kwargs = offered_methods(request)
    context = {
        "invoice": invoice,
        "methods": methods,
        "blocked": blocked,
        "nav": "reports",
        "hosted": hosted_fields(provider),
    }

    if request.method == "GET" or blocked:
        return _first_window(request, context, methods, form_kwargs)

    context.update(posted_forms(request, form_kwargs))
    form, chosen = context["form"], context["show"]
    if chosen.startswith("saved:") and chosen.removeprefix("saved:") not in form.methods:
        raise Http404("No such payment method.")  # someone else's, or removed
    if not form.is_valid():
        return _render(request, context)
    if not replay and form.cleaned_data["amount"] != invoice.amount_due:
        context["error"] = (
            f"The amount due is now {format_money(invoice.amount_due)}. Review it and confirm again."
        )
        context["form"] = fresh_form(form, form_kwargs, amount=invoice.amount_due)
        return _render(request, context)
    method_form, token, problem = new_method_details(context)
    if problem:
        if problem is not True:
            context["error"] = problem
        return _render(request, context)
    if form.cleaned_data.get("confirmed") != "yes":
        # Everything is valid: now (and only now) ask. Back ("edit") returns to the form as typed.
        if not request.POST.get("edit"):
            context["confirming"] = True
            context["adjustment"] = price(request, form, method_form, token, invoice.amount_due)
            context["confirm_question"] = confirm_question(
                form,
                provider,
                invoice.amount_due,
                request.POST.get("method_label", ""),
                context["adjustment"],
            )
        return _render(request, context)

    choice = payment_choice(request, form, method_form, token)
    try:
        payment = pay_invoice(
            user=request.user,
            invoice=invoice,
            attempt_key=form.cleaned_data["attempt_key"],
            choice=choice,
            save_method=save_asked(method_form),
            ip_address=client_ip(request),
            provider=provider,
        )
    except PaymentRefused as refused:
        if refused.code == limits.BLOCKED and (paused := _pause_message(request, provider)):
            context["blocked"] = paused  # as when the window opens on a pause
            return _first_window(request, context, methods, form_kwargs)
        context["error"] = refused.message
        if refused.code == "attempt_key_reused":
            context["form"] = fresh_form(form, form_kwargs)
        return _render(request, context)
    finally:
        del choice  # the card or account details go no further

    invoice = _invoice_after(payment, invoice)
    context.update(payment=payment, invoice=invoice)
    if show_outcome(context, payment):
        response = _render(request, context, template="portal/payment_done.html")
        response["HX-Trigger"] = "payment-processed"
        return response
    # Declined or failed: nothing was charged; pick another method and try again with a new key.
    context["error"] = decline_message(payment)
    context["contact_provider"] = True
    context["form"] = fresh_form(form, form_kwargs)
    return _render(request, context)


def _first_window(request, context, methods, form_kwargs):
    """The window as it opens (or, posted while something stops payment, with why)."""
    blocked, invoice, provider = context["blocked"], context["invoice"], request.provider
    if request.method == "POST":
        context["error"] = blocked
    adding = request.GET.get("add")
    first = initial_method(methods, adding, provider)
    if request.htmx and first in (NEW_CARD, NEW_BANK) and not blocked:
        # The gateway's fields need the whole page (its script, its CSP): go there.
        response = HttpResponse(status=204)
        kind = "card" if first == NEW_CARD else "bank"
        response["HX-Redirect"] = f"{request.path}?add={kind}"
        return response
    context.update(first_forms(request, form_kwargs, first, invoice.amount_due))
    return _render(request, context)


def _invoice_after(payment: Payment, invoice):
    """The invoice as the payment left it: the copy phase three read under its lock and updated,
    or, for a replayed window, read afresh."""
    after = payment.invoice if Payment.invoice.is_cached(payment) else None
    if after is None or after.pk != invoice.pk:
        invoice.refresh_from_db()
        return invoice
    after.payment_pending = invoice.payment_pending  # invoice_for's annotation, as before
    # amount_due is a generated column: _transition set the copy's as the database computes it.
    return after


def decline_message(payment: Payment) -> str:
    """The seed's decline sentence, preceded by which kind of method was declined."""
    text = failure_message(payment)
    if text != DECLINED_MESSAGE:
        return text
    if payment.method_kind == MethodKind.ECHECK:
        kind = f"The bank account payment ({payment.method_label}) could not be processed."
    else:
        kind = f"The card payment ({payment.method_label}) was declined."
    return f"{kind} {text}"


def _pause_message(request, provider) -> str | None:
    """A card-testing pause on this payer, their organization or their address: when it lifts
    and whom to ask, shown as soon as the window opens."""
    block = limits.active_block(request.user, client_ip(request))
    if block is None:
        return None
    until = timezone.localtime(block.expires_at)
    contact = " or ".join(x for x in (provider.support_email, provider.support_phone) if x)
    who = f"{provider.name} ({contact})" if contact else provider.name
    return (
        "For your security, online payment is paused after several unsuccessful attempts, "
        f"until {date_format(until, 'M j, Y, g:i A T')}. To pay sooner, contact {who}."
    )


def _render(request, context, template="portal/make_payment.html"):
    invoice = context["invoice"]
    provider = request.provider
    context.setdefault("authorization_text", _authorization_preview(context, provider, invoice))
    context.setdefault("urls", detail_urls(invoice.pk))
    context["fragment"] = bool(request.htmx)
    return render_window(request, template, context)


def _authorization_preview(context, provider, invoice) -> str:
    form = context.get("form")
    method = None
    if form is not None and form.is_bound and form.is_valid():
        method = form.saved_method
    elif form is not None and not form.is_bound:
        chosen = form.initial.get("method", "")
        method = form.methods.get(chosen.removeprefix("saved:")) if chosen else None
    if method is not None and method.kind != MethodKind.ECHECK:
        method = None  # a card says nothing about a bank account
    return authorization.authorization_text(
        provider=provider.name,
        account=method.account_type if method else "",
        last4=method.last4 if method else "",
        amount=invoice.total - invoice.amount_paid,
        invoice=invoice.number,
    )


@login_required
def payment_methods(request):
    """The payer's own saved methods; colleagues never see them."""
    methods = payment_methods_for(request.user)
    return render(request, "portal/payment_methods.html", {"methods": methods, "nav": "methods"})


@login_required
@require_POST
def payment_method_delete(request, pk: int):
    method = get_payment_method_for(request.user, pk)
    try:
        payment_method_remove(method, user=request.user, ip_address=client_ip(request))
    except PaymentRefused as refused:
        messages.error(request, refused.message)
    else:
        messages.success(request, f"{method.label} was removed, from the gateway's vault too.")
    return redirect(reverse("payment_methods"))
