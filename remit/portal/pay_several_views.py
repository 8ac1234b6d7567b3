"""Pay selected / Pay all due: one payment of several invoices of the user's organization, through
one gateway sale (remit.payments.services.several). The single-invoice Make a Payment window
(payment_views.py) stays as it is; both are built from payment_window.py (the forms, the hosted
fields, the confirmation, the outcome) and portal/includes/payment_methods_choice.html.

With partial payments on, each line's amount may be edited; a total typed for the lot (and the
lines left as shown) is applied oldest due first, here on the server (remit/static/remit/
pay-several.js does the same live, as a convenience). Whatever the server fills in or changes is
shown for the payer to confirm before anything is charged."""

from __future__ import annotations

from decimal import Decimal

from django.contrib.auth.decorators import login_required
from django.views.decorators.http import require_http_methods

from remit.audit.services import client_ip
from remit.billing.access import invoices_for
from remit.billing.selectors import open_invoices
from remit.core.money import ZERO, format_money, to_money
from remit.payments import authorization
from remit.payments.services import PaymentRefused, failure_message, payment_unavailable_reason
from remit.payments.services.several import (
    LineRefused,
    oldest_due_first,
    parse_amount,
    pay_invoices,
    provider_allows_partial,
)
from remit.portal import payment_window as window

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


def _posted(source, name: str) -> str:
    return (source.get(name) or "").strip()


def _lines(invoices, source, partial: bool, posted: bool) -> tuple[list[dict], dict]:
    """Each invoice's line (the amount to pay: its balance unless partial payments are on and the
    payer changed it), and what the server did with a typed total: {"applied": True} when it
    filled the lines oldest due first, {"error": ...} when it refused it."""
    lines = [{"invoice": i, "amount": i.amount_due} for i in invoices]
    if not (partial and posted):
        return lines, {}
    for line in lines:
        pk = line["invoice"].pk
        raw = source.get(f"amount-{pk}")
        if raw is not None:
            line["amount"] = raw.strip()
        # A line a total did not reach (shown at zero, marked so): not paid, not refused.
        line["skip"] = source.get(f"skip-{pk}") == "1" and _is_zero(line["amount"])
    edited = any(
        _posted(source, f"amount-{i.pk}") != _posted(source, f"shown-{i.pk}") for i in invoices
    )
    typed = _posted(source, "total")
    if not typed or typed == _posted(source, "shown-total") or edited:
        return lines, {}  # no new total, or the lines say what to pay
    try:
        split = oldest_due_first(invoices, parse_amount(typed))
    except PaymentRefused as refused:
        if refused.code == "over_payment":
            balance = to_money(sum((i.amount_due for i in invoices), ZERO))
            message = f"That is more than the selected invoices' balance, {format_money(balance)}."
        else:
            message = refused.message
        return lines, {"error": message}
    for line in lines:
        line["amount"] = split.get(line["invoice"].pk, ZERO)
        line["skip"] = line["amount"] == ZERO  # the total did not reach it
    return lines, {"applied": True}


def _is_zero(raw) -> bool:
    try:
        return Decimal(str(raw)) == ZERO
    except ArithmeticError:
        return False


def _total(lines) -> Decimal:
    try:
        return to_money(
            sum((Decimal(str(line["amount"])) for line in lines if not line.get("skip")), ZERO)
        )
    except (ArithmeticError, ValueError):
        return ZERO


@login_required
@require_http_methods(["GET", "POST"])
def pay_several(request):
    provider = request.provider
    source = request.POST if request.method == "POST" else request.GET
    invoices, missing = _selected(request, source)
    partial = provider_allows_partial(provider)
    lines, typed_total = _lines(invoices, source, partial, request.method == "POST")
    methods, form_kwargs = window.offered_methods(request)
    blocked = payment_unavailable_reason(provider)
    if not invoices:
        blocked = blocked or "Select at least one invoice with an amount due."
    context = {
        "nav": "reports",
        "lines": lines,
        "total": _total(lines),
        "total_error": typed_total.get("error"),
        "partial": partial,
        "methods": methods,
        "blocked": blocked,
        "hosted": window.hosted_fields(provider),
        "all_due": source.get("all") == "due",
    }
    if request.method == "GET" or blocked:
        if request.method == "POST":
            context["error"] = blocked
        first = window.initial_method(methods, request.GET.get("add"), provider)
        context.update(window.first_forms(request, form_kwargs, first, context["total"]))
        return _render(request, context)

    data = request.POST.copy()
    data["amount"] = str(context["total"])  # the lines say what is paid; PayForm wants a figure
    context.update(window.posted_forms(request, form_kwargs, data))
    form = context["form"]
    if missing:
        context["error"] = "One of the selected invoices was not found. Select them again."
        return _render(request, context)
    if context["total_error"]:
        context["error"] = context["total_error"]
        return _render(request, context)
    if not form.is_valid():
        return _render(request, context)
    method_form, token, problem = window.new_method_details(context)
    if problem:
        if problem is not True:
            context["error"] = problem
        return _render(request, context)
    if form.cleaned_data.get("confirmed") != "yes" or typed_total.get("applied"):
        # Everything is valid: now ask, for the amounts as the server will charge them (a total
        # the server spread over the lines is shown first). Back ("edit") returns to the form.
        if typed_total.get("applied"):
            context["notice"] = (
                f"{format_money(context['total'])} is applied to the invoices due first. "
                "Review the amounts, then confirm."
            )
        if not request.POST.get("edit"):
            context["confirming"] = True
            context["adjustment"] = window.price(
                request, form, method_form, token, context["total"]
            )
            context["confirm_question"] = window.confirm_question(
                form,
                provider,
                context["total"],
                request.POST.get("method_label", ""),
                context["adjustment"],
            )
        return _render(request, context)
    choice = window.payment_choice(request, form, method_form, token)
    try:
        payment = pay_invoices(
            user=request.user,
            selection=[
                (line["invoice"].pk, line["amount"] if partial else None)
                for line in lines
                if not line.get("skip")
            ],
            attempt_key=form.cleaned_data["attempt_key"],
            choice=choice,
            save_method=window.save_asked(method_form),
            ip_address=client_ip(request),
            provider=provider,
        )
    except PaymentRefused as refused:
        line_id = refused.invoice_id if isinstance(refused, LineRefused) else None
        for line in lines:
            if line["invoice"].pk == line_id:
                line["error"] = refused.message
        context["error"] = "Check the amounts below." if line_id else refused.message
        context["form"] = window.fresh_form(form, form_kwargs)
        return _render(request, context)
    finally:
        del choice
    allocations = list(payment.allocations.select_related("invoice").order_by("invoice__due_date"))
    context.update(payment=payment, allocations=allocations)
    if window.show_outcome(context, payment):
        return _render(request, context, template="portal/pay_several_done.html")
    context["error"] = failure_message(payment)
    context["form"] = window.fresh_form(form, form_kwargs)
    return _render(request, context)


def _render(request, context, template="portal/pay_several.html"):
    provider = request.provider
    numbers = ", ".join(line["invoice"].number for line in context["lines"])
    context["authorization_text"] = authorization.authorization_text(
        provider=provider.name, account="", last4="", amount=context["total"], invoice=numbers
    )
    context["fragment"] = False
    return window.render_window(request, template, context)
