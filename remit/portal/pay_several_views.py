"""Pay selected / Pay all due: one payment of several invoices of the user's organization, through
one gateway sale (remit.payments.services.several). The single-invoice Make a Payment window
(payment_views.py) stays as it is; this page reuses its forms, hosted fields and confirmation."""

from __future__ import annotations

from decimal import Decimal

from django.contrib.auth.decorators import login_required
from django.views.decorators.http import require_http_methods

from remit.audit.services import client_ip
from remit.billing.access import invoices_for
from remit.billing.selectors import open_invoices
from remit.core.money import ZERO, format_money, to_money
from remit.payments import authorization
from remit.payments.access import payment_methods_for
from remit.payments.models import MethodKind, PaymentState
from remit.payments.services import (
    UNKNOWN_MESSAGE,
    PaymentRefused,
    failure_message,
    payment_unavailable_reason,
)
from remit.payments.services.several import (
    LineRefused,
    oldest_due_first,
    pay_invoices,
    provider_allows_partial,
)
from remit.portal.payment_forms import NEW_BANK, NEW_CARD, BankForm, CardForm, PayForm, saved_choice
from remit.portal.payment_views import (
    MISSING_DETAILS_MESSAGE,
    PROCESSING_MESSAGE,
    SUCCESS_STATES,
    _billing_initial,
    _hosted_fields,
    _initial_method,
    payment_page_csp,
)

MAX_INVOICES = 200  # one payment; a page of them at most


def _selected(request, source):
    """The invoices asked for, the user's only (another organization's are not found)."""
    invoices = invoices_for(request.user)
    if source.get("all") == "due":
        rows = open_invoices(invoices).filter(payment_pending=False)
        missing = False
    else:
        ids = {int(v) for v in source.getlist("invoice") if v.isdigit()}
        rows = invoices.filter(pk__in=ids)
        missing = len(ids) != rows.count() or len(ids) != len(source.getlist("invoice"))
    return list(rows.order_by("due_date", "pk")[:MAX_INVOICES]), missing


def _lines(invoices, source, partial: bool, posted: bool):
    lines = []
    for invoice in invoices:
        raw = source.get(f"amount-{invoice.pk}") if partial and posted else None
        lines.append({"invoice": invoice, "amount": raw if raw is not None else invoice.amount_due})
    total_typed = source.get("total", "").strip() if partial else ""
    if total_typed and not any(source.get(f"amount-{i.pk}") for i in invoices):
        try:  # a total for the lot, applied oldest due first
            split = oldest_due_first(invoices, to_money(Decimal(total_typed)))
            for line in lines:
                line["amount"] = split.get(line["invoice"].pk, ZERO)
        except (PaymentRefused, ArithmeticError, ValueError):
            pass
    return lines


def _total(lines) -> Decimal:
    try:
        return to_money(sum((Decimal(str(line["amount"])) for line in lines), ZERO))
    except (ArithmeticError, ValueError):
        return ZERO


@login_required
@require_http_methods(["GET", "POST"])
def pay_several(request):
    provider = request.provider
    source = request.POST if request.method == "POST" else request.GET
    invoices, missing = _selected(request, source)
    partial = provider_allows_partial(provider)
    lines = _lines(invoices, source, partial, request.method == "POST")
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
    blocked = payment_unavailable_reason(provider)
    if not invoices:
        blocked = blocked or "Select at least one invoice with an amount due."
    context = {
        "nav": "reports",
        "lines": lines,
        "total": _total(lines),
        "partial": partial,
        "methods": methods,
        "blocked": blocked,
        "hosted": _hosted_fields(provider),
        "all_due": source.get("all") == "due",
    }
    if request.method == "GET" or blocked:
        if request.method == "POST":
            context["error"] = blocked
        initial_method = _initial_method(methods, request.GET.get("add"), provider)
        context.update(
            form=PayForm(
                initial={
                    "attempt_key": PayForm.new_attempt_key(),
                    "method": initial_method,
                    "amount": context["total"],
                },
                **form_kwargs,
            ),
            card_form=CardForm(prefix="card", initial=_billing_initial(request.user)),
            bank_form=BankForm(prefix="bank", initial=_billing_initial(request.user)),
            show=initial_method,
        )
        return _render(request, context)

    data = request.POST.copy()
    data["amount"] = str(context["total"])  # the lines say what is paid; PayForm wants a figure
    form = PayForm(data, **form_kwargs)
    card_form = CardForm(request.POST, prefix="card")
    bank_form = BankForm(request.POST, prefix="bank")
    context.update(
        form=form, card_form=card_form, bank_form=bank_form, show=request.POST.get("method", "")
    )
    if missing:
        context["error"] = "One of the selected invoices was not found. Select them again."
        return _render(request, context)
    if not form.is_valid():
        return _render(request, context)
    method_form = {NEW_CARD: card_form, NEW_BANK: bank_form}.get(form.cleaned_data["method"])
    if method_form is not None and not method_form.is_valid():
        return _render(request, context)
    token = form.cleaned_data.get("payment_token", "")
    if method_form is not None and not token:
        context["error"] = MISSING_DETAILS_MESSAGE
        return _render(request, context)
    if form.cleaned_data.get("confirmed") != "yes":
        context["error"] = (
            f"Please confirm the payment of {format_money(context['total'])} to {provider.name}."
        )
        return _render(request, context)
    saved = form.saved_method
    choice = (
        saved_choice(saved)
        if saved
        else method_form.choice(token=token, email=request.user.email, reported=form.reported_card)
    )
    try:
        payment = pay_invoices(
            user=request.user,
            selection=[(line["invoice"].pk, line["amount"] if partial else None) for line in lines],
            attempt_key=form.cleaned_data["attempt_key"],
            choice=choice,
            save_method=bool(method_form is not None and method_form.cleaned_data.get("save")),
            ip_address=client_ip(request),
            provider=provider,
        )
    except PaymentRefused as refused:
        line_id = refused.invoice_id if isinstance(refused, LineRefused) else None
        for line in lines:
            if line["invoice"].pk == line_id:
                line["error"] = refused.message
        context["error"] = "Check the amounts below." if line_id else refused.message
        context["form"] = _fresh(form, form_kwargs)
        return _render(request, context)
    finally:
        del choice
    allocations = list(payment.allocations.select_related("invoice").order_by("invoice__due_date"))
    context.update(payment=payment, allocations=allocations)
    if payment.state in (*SUCCESS_STATES, PaymentState.UNKNOWN, PaymentState.PROCESSING):
        if payment.state == PaymentState.UNKNOWN:
            context["pending_message"] = UNKNOWN_MESSAGE
        elif payment.state == PaymentState.PROCESSING:
            context["pending_message"] = PROCESSING_MESSAGE
        return _render(request, context, template="portal/pay_several_done.html")
    context["error"] = failure_message(payment)
    context["form"] = _fresh(form, form_kwargs)
    return _render(request, context)


def _fresh(form: PayForm, form_kwargs) -> PayForm:
    data = form.data.copy()
    data["attempt_key"] = str(PayForm.new_attempt_key())
    data["confirmed"] = ""
    data["payment_token"] = ""
    fresh = PayForm(data, **form_kwargs)
    fresh.is_valid()
    return fresh


def _render(request, context, template="portal/pay_several.html"):
    from django.shortcuts import render

    provider = request.provider
    numbers = ", ".join(line["invoice"].number for line in context["lines"])
    context["authorization_text"] = authorization.authorization_text(
        provider=provider.name, account="", last4="", amount=context["total"], invoice=numbers
    )
    context["fragment"] = False
    response = render(request, template, context)
    if context.get("hosted"):
        response._csp_replace = payment_page_csp(context["hosted"]["origin"])
    return response
