"""What the two Make a Payment windows share (one invoice: payment_views.py; several:
pay_several_views.py): the payer's offered methods, the forms as first shown and as posted, the
new card's or account's details checked, the outcome shown, a fresh attempt key, and the page's
Content-Security-Policy for the gateway's hosted fields. Money moves only in
remit.payments.services."""

from __future__ import annotations

import re

from csp.constants import SELF
from django.shortcuts import render
from django.utils import timezone
from django.utils.functional import SimpleLazyObject

from remit.core.money import format_money
from remit.gateway import gateway_origin, tokenization_key
from remit.payments import surcharge
from remit.payments.access import saved_methods_of
from remit.payments.models import MethodKind, PaymentState
from remit.payments.services import UNKNOWN_MESSAGE
from remit.payments.services.common import SavedMethod
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


def offered_methods(request):
    """The payer's saved methods of the kinds the provider offers, and PayForm's arguments."""
    provider = request.provider
    methods = [
        m
        for m in saved_methods_of(request.user)
        if (m.kind == MethodKind.CARD and provider.offers_card)
        or (m.kind == MethodKind.ECHECK and provider.offers_echeck)
    ]
    form_kwargs = {
        "methods": methods,
        "offers_card": provider.offers_card,
        "offers_echeck": provider.offers_echeck,
    }
    return methods, form_kwargs


def first_forms(request, form_kwargs, initial_method: str, amount) -> dict:
    """The window as it opens: a new attempt key, the method chosen first, empty new-method forms
    (built when the window shows them: opened on a saved method it never does)."""
    return {
        "form": PayForm(
            initial={
                "attempt_key": PayForm.new_attempt_key(),
                "method": initial_method,
                "amount": amount,
            },
            **form_kwargs,
        ),
        "card_form": SimpleLazyObject(
            lambda: CardForm(prefix="card", initial=_billing_initial(request.user))
        ),
        "bank_form": SimpleLazyObject(
            lambda: BankForm(prefix="bank", initial=_billing_initial(request.user))
        ),
        "show": initial_method,
    }


def posted_forms(request, form_kwargs, data=None) -> dict:
    """The window as posted (`data`: the POST with what the view decides in place of the payer)."""
    # The new-method forms are built when something reads them (a new card or account posted,
    # the window shown again): a payment with a saved method that goes through never does.
    return {
        "form": PayForm(data if data is not None else request.POST, **form_kwargs),
        "card_form": SimpleLazyObject(lambda: CardForm(request.POST, prefix="card")),
        "bank_form": SimpleLazyObject(lambda: BankForm(request.POST, prefix="bank")),
        "show": request.POST.get("method", ""),
    }


def new_method_details(context):
    """For a new card or account, its form and the hosted fields' token: (form, token, problem).
    `problem` is True when the form is invalid (its messages show next to its fields), or the
    message to show when the token is missing; None when all is there (or a saved method)."""
    form = context["form"]
    method_form = {NEW_CARD: context["card_form"], NEW_BANK: context["bank_form"]}.get(
        form.cleaned_data["method"]
    )
    if method_form is not None and not method_form.is_valid():
        return method_form, "", True
    token = form.cleaned_data.get("payment_token", "")
    if method_form is not None and not token:
        return method_form, token, MISSING_DETAILS_MESSAGE
    return method_form, token, None


def payment_choice(request, form: PayForm, method_form, token: str):
    """What the payer chose, for the services (card or account details stay in memory)."""
    saved = form.saved_method
    if saved:
        return saved_choice(saved)
    return method_form.choice(token=token, email=request.user.email, reported=form.reported_card)


METHOD_LABEL = re.compile(
    r"^(Visa|Mastercard|American Express|Discover|Diners Club|JCB|Card|Checking account|"
    r"Savings account) •••• \d{4}$"
)


def price(request, form: PayForm, method_form, token: str, amount) -> surcharge.Adjustment:
    """The surcharge or discount the server will charge this payer with this method (computed
    again, the same way, when the payment is created: services/start.py)."""
    choice = payment_choice(request, form, method_form, token)
    return surcharge.quote(choice, organization=request.user.organization, base=amount)


def adjustment_line(adjustment: surcharge.Adjustment, amount, *, new_card: bool = False) -> str:
    """The window's disclosure: 'Card surcharge (3.00%): $36.96 — pay by eCheck to avoid it.'"""
    if adjustment.surcharge:
        text = f"Card surcharge ({adjustment.surcharge_percent}%): {format_money(adjustment.surcharge)}"
        if new_card:
            text += " on a credit card (none on debit or prepaid cards)"
        return (
            f"{text} — pay by eCheck to avoid it. Total {format_money(adjustment.total(amount))}."
        )
    if adjustment.discount:
        return (
            f"eCheck discount ({adjustment.discount_percent}%): −{format_money(adjustment.discount)}."
            f" Total {format_money(adjustment.total(amount))}."
        )
    return ""


def price_lines(request, context, amount) -> None:
    """Each method's disclosure line (shown as soon as the method is chosen), for the window."""
    policy = surcharge.SurchargePolicy.for_display()
    if not (policy.surcharging_on() or policy.echeck_discount_percent):
        return
    organization = request.user.organization
    for method in context.get("methods", []):
        adjustment = surcharge.quote(
            SavedMethod(method=method), organization=organization, base=amount, policy=policy
        )
        method.adjustment_line = adjustment_line(adjustment, amount)
    states = (organization.billing_state,)
    day = timezone.localdate()
    card = surcharge.adjustment_for(
        policy, kind="card", category="credit", states=states, base=amount, day=day
    )
    bank = surcharge.adjustment_for(
        policy, kind="echeck", category="", states=states, base=amount, day=day
    )
    context["adjustment_lines"] = {
        NEW_CARD: adjustment_line(card, amount, new_card=True),
        NEW_BANK: adjustment_line(bank, amount),
    }
    # A new card's category is known only once it is tokenized: the server then asks, with it.
    context["server_confirms"] = bool(card.surcharge)


def confirm_question(
    form: PayForm, provider, amount, posted_label: str, adjustment=surcharge.NONE
) -> str:
    """The confirmation names the real method: the saved one's label, or the new card's brand
    and last four as the hosted fields' masked answer gave them (display only), and what the
    payment adds or takes off the invoices' amount."""
    saved = form.saved_method
    label = saved.label if saved is not None else new_method_label(form, posted_label)
    label = label or ("a new card" if form.kind == MethodKind.CARD else "a new bank account")
    total = format_money(adjustment.total(amount))
    if adjustment.surcharge:
        fee = format_money(adjustment.surcharge)
        return f"Pay {total} to {provider.name} with {label}, including a {fee} card surcharge?"
    if adjustment.discount:
        off = format_money(adjustment.discount)
        return f"Pay {total} to {provider.name} with {label}, after a {off} eCheck discount?"
    return f"Pay {total} to {provider.name} with {label}?"


def new_method_label(form: PayForm, posted_label: str) -> str:
    """The new card's or account's "Visa •••• 1111", as the page's script took it from the hosted
    fields' masked answer (display only; never a number): empty unless it has that shape and is
    of the kind chosen."""
    if not METHOD_LABEL.match(posted_label):
        return ""
    is_account = posted_label.startswith(("Checking", "Savings"))
    return posted_label if is_account == (form.kind == MethodKind.ECHECK) else ""


def tokenized_label(request, context) -> str:
    """While the server asks about a new card or account the hosted fields have already
    tokenized: what it is, for the window to show in place of the (new, empty) hosted fields."""
    form = context.get("form")
    if not (context.get("confirming") and context.get("show") in (NEW_CARD, NEW_BANK)):
        return ""
    if form is None or not form.data.get("payment_token"):
        return ""
    label = new_method_label(form, request.POST.get("method_label", ""))
    return label or (
        "The card you entered" if form.kind == MethodKind.CARD else "The bank account you entered"
    )


def save_asked(method_form) -> bool:
    return bool(method_form is not None and method_form.cleaned_data.get("save"))


def show_outcome(context, payment) -> bool:
    """True when the payment went through or is being confirmed (the done page, with its
    pending message if any); False when declined or failed (nothing was charged)."""
    if payment.state not in (*SUCCESS_STATES, PaymentState.UNKNOWN, PaymentState.PROCESSING):
        return False
    if payment.state == PaymentState.UNKNOWN:
        context["pending_message"] = UNKNOWN_MESSAGE
    elif payment.state == PaymentState.PROCESSING:
        context["pending_message"] = PROCESSING_MESSAGE
    return True


def fresh_form(form: PayForm, form_kwargs, amount=None) -> PayForm:
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


def initial_method(methods, adding: str | None, provider) -> str:
    if adding == "card" and provider.offers_card:
        return NEW_CARD
    if adding == "bank" and provider.offers_echeck:
        return NEW_BANK
    if methods:
        return f"saved:{methods[0].pk}"  # the one used last, or saved most recently
    return NEW_CARD if provider.offers_card else NEW_BANK


def _billing_initial(user) -> dict:
    return {"first_name": user.first_name, "last_name": user.last_name, "country": "US"}


def hosted_fields(provider) -> dict | None:
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


def chosen_kind(context) -> str | None:
    """The kind of method the window shows as chosen (the eCheck authorization is only for
    eCheck), without JavaScript too."""
    show = context.get("show") or ""
    if show == NEW_BANK:
        return MethodKind.ECHECK
    if show == NEW_CARD:
        return MethodKind.CARD
    method = {f"saved:{m.pk}": m for m in context.get("methods", [])}.get(show)
    return method.kind if method else None


def render_window(request, template: str, context):
    """The page, with the gateway's origin added to its CSP when it has hosted fields."""
    context["echeck_chosen"] = chosen_kind(context) == MethodKind.ECHECK
    amount = context["invoice"].amount_due if "invoice" in context else context.get("total")
    if amount and not context.get("blocked"):
        price_lines(request, context, amount)
        shown = context.get("show") or ""
        methods = {m.choice_value: m for m in context.get("methods", [])}
        context["adjustment_line"] = (
            getattr(methods[shown], "adjustment_line", "")
            if shown in methods
            else context.get("adjustment_lines", {}).get(shown, "")
        )
    context["tokenized"] = tokenized_label(request, context)
    adjustment = context.get("adjustment")
    if adjustment is not None and amount:
        context["charge_total"] = adjustment.total(amount)
    response = render(request, template, context)
    if context.get("hosted"):
        response._csp_replace = payment_page_csp(context["hosted"]["origin"])
    return response
