"""Make a Payment: the seed's window (a modal with htmx, a full page without JavaScript), and the
payer's saved methods. Money moves only in remit.payments.services."""

from __future__ import annotations

import re
import uuid

from csp.constants import SELF
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.views.decorators.http import require_http_methods, require_POST

from remit.audit.services import client_ip
from remit.billing.access import get_invoice_for
from remit.core.money import format_money
from remit.gateway import gateway_origin, tokenization_key
from remit.payments import authorization, limits
from remit.payments.access import get_payment_method_for, payment_methods_for
from remit.payments.models import MethodKind, Payment, PaymentState
from remit.payments.services import (
    DECLINED_MESSAGE,
    IN_FLIGHT_MESSAGE,
    UNKNOWN_MESSAGE,
    PaymentRefused,
    failure_message,
    invoice_payable_problem,
    pay_invoice,
    payment_method_remove,
    payment_unavailable_reason,
)
from remit.portal.payment_forms import (
    BANK_HOSTED_FIELDS,
    CARD_HOSTED_FIELDS,
    NEW_BANK,
    NEW_CARD,
    BankForm,
    CardForm,
    PayForm,
    saved_choice,
)

SUCCESS_STATES = (PaymentState.APPROVED, PaymentState.PENDING, PaymentState.SETTLED)
MISSING_DETAILS_MESSAGE = (
    "Enter the card or bank details in the secure fields, then choose Process Payment again. "
    "Adding a new card or bank account needs JavaScript."
)
PROCESSING_MESSAGE = (
    "This payment is already being processed. Its result will show on the invoice in a moment; "
    "you will not be charged twice."
)


def _is_replay(request, invoice) -> bool:
    try:
        key = uuid.UUID(request.POST.get("attempt_key", ""))
    except ValueError:
        return False
    return Payment.objects.filter(payer=request.user, invoice=invoice, attempt_key=key).exists()


@login_required
@require_http_methods(["GET", "POST"])
def make_payment(request, pk: int):
    invoice = get_invoice_for(request.user, pk)
    provider = request.provider
    blocked = payment_unavailable_reason(provider) or invoice_payable_problem(invoice)
    if blocked is None and invoice.payment_pending:  # annotated by get_invoice_for
        blocked = IN_FLIGHT_MESSAGE
    if blocked is None:
        blocked = _pause_message(request, provider)  # told when the window opens, not after
    replay = request.method == "POST" and _is_replay(request, invoice)
    if replay:
        blocked = None  # the same window posted again: pay_invoice returns its first outcome
    methods = [
        m
        for m in payment_methods_for(request.user)
        if (m.kind == MethodKind.CARD and provider.offers_card)
        or (m.kind == MethodKind.ECHECK and provider.offers_echeck)
    ]
    form_kwargs = {
        "methods": methods,
        "offers_card": provider.offers_card,
        "offers_echeck": provider.offers_echeck,
    }
    context = {
        "invoice": invoice,
        "methods": methods,
        "blocked": blocked,
        "nav": "reports",
        "hosted": _hosted_fields(provider),
    }

    if request.method == "GET" or blocked:
        if request.method == "POST":
            context["error"] = blocked
        adding = request.GET.get("add")
        initial_method = _initial_method(methods, adding, provider)
        if request.htmx and initial_method in (NEW_CARD, NEW_BANK) and not blocked:
            # The gateway's fields need the whole page (its script, its CSP): go there.
            response = HttpResponse(status=204)
            kind = "card" if initial_method == NEW_CARD else "bank"
            response["HX-Redirect"] = f"{request.path}?add={kind}"
            return response
        context.update(
            form=PayForm(
                initial={
                    "attempt_key": PayForm.new_attempt_key(),
                    "method": initial_method,
                    "amount": invoice.amount_due,
                },
                **form_kwargs,
            ),
            card_form=CardForm(prefix="card", initial=_billing_initial(request.user)),
            bank_form=BankForm(prefix="bank", initial=_billing_initial(request.user)),
            show=initial_method,
        )
        return _render(request, context)

    form = PayForm(request.POST, **form_kwargs)
    card_form = CardForm(request.POST, prefix="card")
    bank_form = BankForm(request.POST, prefix="bank")
    chosen = request.POST.get("method", "")
    if chosen.startswith("saved:") and chosen.removeprefix("saved:") not in form.methods:
        raise Http404("No such payment method.")  # someone else's, or removed
    context.update(form=form, card_form=card_form, bank_form=bank_form, show=chosen)
    if not form.is_valid():
        return _render(request, context)
    if not replay and form.cleaned_data["amount"] != invoice.amount_due:
        context["error"] = (
            f"The amount due is now {format_money(invoice.amount_due)}. Review it and confirm again."
        )
        context["form"] = _fresh(form, form_kwargs, amount=invoice.amount_due)
        return _render(request, context)
    method_form = {NEW_CARD: card_form, NEW_BANK: bank_form}.get(form.cleaned_data["method"])
    if method_form is not None and not method_form.is_valid():
        return _render(request, context)
    token = form.cleaned_data.get("payment_token", "")
    if method_form is not None and not token:
        context["error"] = MISSING_DETAILS_MESSAGE
        return _render(request, context)
    if form.cleaned_data.get("confirmed") != "yes":
        # Everything is valid: now (and only now) ask. Back ("edit") returns to the form as typed.
        if not request.POST.get("edit"):
            context["confirming"] = True
            context["confirm_question"] = _confirm_question(
                form, provider, invoice, request.POST.get("method_label", "")
            )
        return _render(request, context)

    saved = form.saved_method
    choice = (
        saved_choice(saved)
        if saved
        else method_form.choice(token=token, email=request.user.email, reported=form.reported_card)
    )
    try:
        payment = pay_invoice(
            user=request.user,
            invoice=invoice,
            attempt_key=form.cleaned_data["attempt_key"],
            choice=choice,
            save_method=bool(method_form is not None and method_form.cleaned_data.get("save")),
            ip_address=client_ip(request),
            provider=provider,
        )
    except PaymentRefused as refused:
        context["error"] = refused.message
        if refused.code == "attempt_key_reused":
            context["form"] = _fresh(form, form_kwargs)
        return _render(request, context)
    finally:
        del choice  # the card or account details go no further

    invoice.refresh_from_db()
    context.update(payment=payment, invoice=invoice)
    if payment.state in (*SUCCESS_STATES, PaymentState.UNKNOWN, PaymentState.PROCESSING):
        if payment.state == PaymentState.UNKNOWN:
            context["pending_message"] = UNKNOWN_MESSAGE
        elif payment.state == PaymentState.PROCESSING:
            context["pending_message"] = PROCESSING_MESSAGE
        response = _render(request, context, template="portal/payment_done.html")
        response["HX-Trigger"] = "payment-processed"
        return response
    # Declined or failed: nothing was charged; pick another method and try again with a new key.
    context["error"] = decline_message(payment)
    context["contact_provider"] = True
    context["form"] = _fresh(form, form_kwargs)
    return _render(request, context)


METHOD_LABEL = re.compile(
    r"^(Visa|Mastercard|American Express|Discover|Diners Club|JCB|Card|Checking account|"
    r"Savings account) •••• \d{4}$"
)


def _confirm_question(form: PayForm, provider, invoice, posted_label: str) -> str:
    """The confirmation names the real method: the saved one's label, or the new card's brand
    and last four as the hosted fields' masked answer gave them (display only)."""
    saved = form.saved_method
    if saved is not None:
        label = saved.label
    elif METHOD_LABEL.match(posted_label):
        label = posted_label
    else:
        label = "a new card" if form.kind == MethodKind.CARD else "a new bank account"
    return f"Pay {format_money(invoice.amount_due)} to {provider.name} with {label}?"


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


def _fresh(form: PayForm, form_kwargs, amount=None) -> PayForm:
    """The same choices as the payer made, under a new attempt key."""
    data = form.data.copy()
    data["attempt_key"] = str(PayForm.new_attempt_key())
    if amount is not None:
        data["amount"] = str(amount)
    data["confirmed"] = ""
    data["payment_token"] = ""  # used up by the gateway, approved or declined
    fresh = PayForm(data, **form_kwargs)
    fresh.is_valid()
    return fresh


def _initial_method(methods, adding: str | None, provider) -> str:
    if adding == "card" and provider.offers_card:
        return NEW_CARD
    if adding == "bank" and provider.offers_echeck:
        return NEW_BANK
    if methods:
        return f"saved:{methods[0].pk}"  # the one used last, or saved most recently
    return NEW_CARD if provider.offers_card else NEW_BANK


def _billing_initial(user) -> dict:
    return {"first_name": user.first_name, "last_name": user.last_name, "country": "US"}


def _hosted_fields(provider) -> dict | None:
    """Where Collect.js comes from, or None when the gateway's public key is not set."""
    origin, key = gateway_origin(provider), tokenization_key(provider)
    if not (origin and key):
        return None
    return {
        "origin": origin,
        "key": key,
        "script": f"{origin}/token/Collect.js",
        "card_fields": CARD_HOSTED_FIELDS,
        "bank_fields": BANK_HOSTED_FIELDS,
    }


def payment_page_csp(origin: str) -> dict[str, list[str]]:
    """The payment window's Content-Security-Policy additions: the gateway's origin for its
    script, its field iframes, the token call and its stylesheet; nothing else."""
    return {
        "script-src": [SELF, origin],
        "frame-src": [origin],
        "connect-src": [SELF, origin],
        "style-src": [SELF, origin],
    }


def _render(request, context, template="portal/make_payment.html"):
    invoice = context["invoice"]
    provider = request.provider
    context.setdefault("authorization_text", _authorization_preview(context, provider, invoice))
    context["fragment"] = bool(request.htmx)
    context["echeck_chosen"] = _chosen_kind(context) == MethodKind.ECHECK
    response = render(request, template, context)
    if context.get("hosted"):
        response._csp_replace = payment_page_csp(context["hosted"]["origin"])
    return response


def _chosen_kind(context) -> str | None:
    """The kind of method the window shows as chosen (the eCheck authorization is only for
    eCheck), without JavaScript too."""
    show = context.get("show") or ""
    if show == NEW_BANK:
        return MethodKind.ECHECK
    if show == NEW_CARD:
        return MethodKind.CARD
    method = {f"saved:{m.pk}": m for m in context.get("methods", [])}.get(show)
    return method.kind if method else None


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
