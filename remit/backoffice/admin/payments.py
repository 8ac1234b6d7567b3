"""Payment search (like the PSA's), a payment's page with its whole history, refunds and voids
(confirmed first, through remit.payments.services), and card-testing blocks."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import F, Q
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.views.decorators.http import require_http_methods, require_POST

from remit.audit.models import AuditEvent
from remit.audit.services import client_ip
from remit.backoffice.admin.base import ReadOnlyAdmin
from remit.backoffice.admin.refund_forms import RefundForm, VoidForm
from remit.backoffice.figures import UNSUCCESSFUL_STATES
from remit.backoffice.filters import DateRangeFilter, TextFilter
from remit.core.money import format_money
from remit.payments.limits import lift_block
from remit.payments.models import (
    APPLIED_STATES,
    MethodKind,
    Payment,
    PaymentBlock,
    PaymentState,
    Refund,
    RefundKind,
    RefundState,
)
from remit.payments.services import RefundRefused, refund_payment, void_payment


class StatusFilter(admin.SimpleListFilter):
    """The states, plus Refunded / Partially refunded as the PSA shows them."""

    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [
            *PaymentState.choices,
            ("collected", "Collected (approved or settled)"),
            ("unsuccessful", "Declined or failed"),
            ("refunded", "Refunded (fully)"),
            ("partially_refunded", "Partially refunded"),
            ("stuck", "Stuck in flight (staff alerted)"),
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "stuck":
            from remit.payments.reconcile import STUCK_STATES

            return queryset.filter(state__in=STUCK_STATES, stuck_alerted_at__isnull=False)
        if value == "collected":
            return queryset.filter(state__in=APPLIED_STATES)
        if value == "unsuccessful":
            return queryset.filter(state__in=UNSUCCESSFUL_STATES)
        if value == "refunded":
            return queryset.filter(refunded_amount__gt=0, refunded_amount__gte=F("amount"))
        if value == "partially_refunded":
            return queryset.filter(refunded_amount__gt=0, refunded_amount__lt=F("amount"))
        if value in PaymentState.values:
            return queryset.filter(state=value)
        return queryset


class MethodTypeFilter(admin.SimpleListFilter):
    title = "method type"
    parameter_name = "method"

    def lookups(self, request, model_admin):
        return MethodKind.choices

    def queryset(self, request, queryset):
        if self.value() in MethodKind.values:
            return queryset.filter(method_kind=self.value())
        return queryset


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = [
        "created_display",
        "invoice_link",
        "organization",
        "method_display",
        "status_display",
        "sale_amount",
        "applied_amount_display",
        "refund_amount",
        "transaction_id",
    ]
    list_display_links = ["created_display"]
    list_filter = [
        ("organization", admin.RelatedOnlyFieldListFilter),
        TextFilter.on("invoice_number", "invoice__number__iexact", "invoice number", "Invoice"),
        DateRangeFilter.on("created_at", "date"),
        StatusFilter,
        DateRangeFilter.on("returned_at", "returned on"),
        MethodTypeFilter,
    ]
    search_fields = [
        "invoice__number",
        "order_id",
        "transaction_id",
        "payer__email",
        "organization__name",
    ]
    search_help_text = "Invoice number, order id, transaction id, payer email or organization."
    list_select_related = ["invoice", "organization", "payer"]
    list_per_page = 50
    ordering = ["-created_at", "-id"]

    # -- columns ----------------------------------------------------------------------------------

    @admin.display(description="Date", ordering="created_at")
    def created_display(self, payment: Payment) -> str:
        return timezone.localtime(payment.created_at).strftime("%b %-d, %Y %H:%M")

    @admin.display(description="Invoice", ordering="invoice__number")
    def invoice_link(self, payment: Payment) -> str:
        url = reverse(f"{self.admin_site.name}:billing_invoice_change", args=[payment.invoice_id])
        return format_html('<a href="{}">{}</a>', url, payment.invoice.number)

    @admin.display(description="Method", ordering="method_kind")
    def method_display(self, payment: Payment) -> str:
        return payment.method_label

    @admin.display(description="Status", ordering="state")
    def status_display(self, payment: Payment) -> str:
        return str(payment.display_status)

    @admin.display(description="Sale Amount", ordering="amount")
    def sale_amount(self, payment: Payment) -> str:
        return format_money(payment.amount, payment.currency)

    @admin.display(description="Applied Amount", ordering="applied_amount")
    def applied_amount_display(self, payment: Payment) -> str:
        return format_money(payment.applied_amount, payment.currency)

    @admin.display(description="Refund Amount", ordering="refunded_amount")
    def refund_amount(self, payment: Payment) -> str:
        return format_money(payment.refunded_amount, payment.currency)

    # -- a payment's page -------------------------------------------------------------------------

    def may_refund(self, request) -> bool:
        return request.user.has_perm("payments.change_payment")

    def change_view(self, request, object_id, form_url="", extra_context=None):
        payment = self.get_object(request, object_id)
        if payment is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_view_permission(request, payment):
            raise PermissionDenied
        refunds = list(payment.refunds.select_related("requested_by"))
        audit = AuditEvent.objects.filter(
            Q(object_type="payment", object_id=str(payment.pk))
            | Q(object_type="refund", object_id__in=[str(r.pk) for r in refunds])
        ).order_by("at", "id")
        authorization = (
            getattr(payment, "authorization", None) if payment.method_kind == "echeck" else None
        )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Payment {payment.order_id}",
            "payment": payment,
            "events": list(payment.events.all()),
            "refunds": refunds,
            "audit_events": list(audit),
            "authorization": authorization,
            "can_refund": self.may_refund(request)
            and payment.state == PaymentState.SETTLED
            and payment.applied_amount > 0,
            "can_void": self.may_refund(request)
            and payment.state in (PaymentState.APPROVED, PaymentState.PENDING),
            "refund_in_flight": any(
                r.state in (RefundState.PROCESSING, RefundState.UNKNOWN) for r in refunds
            ),
        }
        return TemplateResponse(request, "backoffice/payment_detail.html", context)

    def get_object(self, request, object_id, from_field=None):
        queryset = self.get_queryset(request).select_related(
            "invoice", "organization", "payer", "payment_method"
        )
        try:
            return queryset.get(pk=int(object_id))
        except (Payment.DoesNotExist, ValueError, TypeError):
            return None

    # -- refund and void, confirmed first ---------------------------------------------------------

    def get_urls(self):
        view = self.admin_site.admin_view
        methods = require_http_methods(["GET", "POST"])
        return [
            path(
                "<int:payment_id>/refund/",
                view(methods(self.refund_view)),
                name="payments_payment_refund",
            ),
            path(
                "<int:payment_id>/void/",
                view(methods(self.void_view)),
                name="payments_payment_void",
            ),
            *super().get_urls(),
        ]

    def _payment_for_refund(self, request, payment_id: int) -> Payment:
        if not self.may_refund(request):
            raise PermissionDenied
        return get_object_or_404(
            Payment.objects.select_related("invoice", "organization", "payer"), pk=payment_id
        )

    def _page(self, payment: Payment) -> HttpResponseRedirect:
        return HttpResponseRedirect(reverse("admin:payments_payment_change", args=[payment.pk]))

    def refund_view(self, request, payment_id: int):
        payment = self._payment_for_refund(request, payment_id)
        if payment.state != PaymentState.SETTLED or payment.applied_amount <= 0:
            self.message_user(
                request,
                "Only a settled payment with money still applied can be refunded"
                + (
                    "; void it instead, it has not settled yet."
                    if payment.state in (PaymentState.APPROVED, PaymentState.PENDING)
                    else "."
                ),
                messages.ERROR,
            )
            return self._page(payment)
        form = RefundForm(request.POST or None, payment=payment)
        confirming = request.method == "POST" and form.is_valid()
        if confirming and request.POST.get("confirmed") == "yes":
            chosen = {"split": form.split} if form.chosen else {}
            return self._carry_out(
                request, payment, RefundKind.REFUND, {**form.cleaned_data, **chosen}
            )
        return TemplateResponse(
            request,
            "backoffice/payment_refund.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "title": f"Refund payment {payment.order_id}",
                "payment": payment,
                "form": form,
                "confirming": confirming,
                "amount": form.cleaned_data.get("amount") if confirming else None,
                "kind": "refund",
            },
        )

    def void_view(self, request, payment_id: int):
        payment = self._payment_for_refund(request, payment_id)
        if payment.state not in (PaymentState.APPROVED, PaymentState.PENDING):
            self.message_user(
                request,
                "Only a payment that has not settled yet can be voided"
                + ("; refund it instead." if payment.state == PaymentState.SETTLED else "."),
                messages.ERROR,
            )
            return self._page(payment)
        form = VoidForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            return self._carry_out(request, payment, RefundKind.VOID, form.cleaned_data)
        return TemplateResponse(
            request,
            "backoffice/payment_refund.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "title": f"Void payment {payment.order_id}",
                "payment": payment,
                "form": form,
                "confirming": True,
                "amount": payment.amount,
                "kind": "void",
            },
        )

    def _carry_out(self, request, payment: Payment, kind: str, data: dict):
        key = f"backoffice:{data['request_key']}"
        try:
            if kind == RefundKind.VOID:
                refund = void_payment(
                    payment,
                    acting_user=request.user,
                    reason=data["reason"],
                    idempotency_key=key,
                    ip_address=client_ip(request),
                )
            else:
                refund = refund_payment(
                    payment,
                    data["amount"],
                    amounts=data.get("split") or None,
                    acting_user=request.user,
                    reason=data["reason"],
                    idempotency_key=key,
                    ip_address=client_ip(request),
                )
        except RefundRefused as refused:
            self.message_user(request, refused.message, messages.ERROR)
            return self._page(payment)
        self._report(request, refund)
        return self._page(payment)

    def _report(self, request, refund: Refund) -> None:
        what = refund.get_kind_display()
        amount = format_money(refund.amount)
        if refund.state == RefundState.SUCCEEDED:
            self.message_user(
                request,
                f"{what} of {amount} succeeded. The invoice's amount due is restored.",
                messages.SUCCESS,
            )
        elif refund.state == RefundState.FAILED:
            self.message_user(
                request,
                f"The gateway refused the {what.lower()}: {refund.response_text or 'no reason given'}.",
                messages.ERROR,
            )
        else:
            self.message_user(
                request,
                f"The gateway did not confirm the {what.lower()} yet. It is being checked and will "
                "not be sent twice.",
                messages.WARNING,
            )


# --- Card-testing blocks -------------------------------------------------------------------------


class BlockStatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [("active", "Active"), ("expired", "Expired"), ("lifted", "Lifted by staff")]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "active":
            return queryset.filter(lifted_at__isnull=True, expires_at__gt=now)
        if self.value() == "expired":
            return queryset.filter(lifted_at__isnull=True, expires_at__lte=now)
        if self.value() == "lifted":
            return queryset.filter(lifted_at__isnull=False)
        return queryset


@admin.register(PaymentBlock)
class PaymentBlockAdmin(ReadOnlyAdmin):
    list_display = [
        "scope",
        "label_display",
        "reason",
        "created_at",
        "expires_at",
        "status_display",
        "lifted_by",
    ]
    list_filter = [BlockStatusFilter, "scope"]
    search_fields = ["label", "key", "reason"]
    list_select_related = ["lifted_by"]
    actions = ["lift_blocks"]
    change_form_template = "backoffice/paymentblock_change_form.html"

    @admin.display(description="Who")
    def label_display(self, block: PaymentBlock) -> str:
        return block.label or block.key

    @admin.display(description="Status")
    def status_display(self, block: PaymentBlock) -> str:
        if block.lifted_at:
            return f"Lifted {timezone.localtime(block.lifted_at):%b %-d, %H:%M}"
        return "Active" if block.active else "Expired"

    def may_lift(self, request) -> bool:
        return request.user.has_perm("payments.change_paymentblock")

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not self.may_lift(request):
            actions.pop("lift_blocks", None)
        return actions

    @admin.action(description="Lift selected blocks (payment is allowed again)")
    def lift_blocks(self, request, queryset):
        if not self.may_lift(request):
            raise PermissionDenied
        lifted = 0
        for block in queryset.filter(lifted_at__isnull=True):
            lift_block(block, acting_user=request.user, request=request)
            lifted += 1
        self.message_user(request, f"Lifted {lifted} block(s).", messages.SUCCESS)

    def get_urls(self):
        return [
            path(
                "<int:block_id>/lift/",
                self.admin_site.admin_view(require_POST(self.lift_view)),
                name="payments_paymentblock_lift",
            ),
            *super().get_urls(),
        ]

    def lift_view(self, request, block_id: int):
        if not self.may_lift(request):
            raise PermissionDenied
        block = get_object_or_404(PaymentBlock, pk=block_id)
        if block.lifted_at is None:
            lift_block(block, acting_user=request.user, request=request)
            self.message_user(request, f"Lifted: {block}.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:payments_paymentblock_change", args=[block.pk]))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra = {**(extra_context or {}), "can_lift": self.may_lift(request)}
        return super().change_view(request, object_id, form_url, extra)
