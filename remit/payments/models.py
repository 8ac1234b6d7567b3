"""Payments, the methods saved in the gateway's vault, and the records that make money auditable.

Remit never stores a card number, CVV or bank account number: a saved method is the gateway's vault id
plus what is needed to show it (brand, last four, expiry, account type, name)."""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from remit.core.money import ZERO, format_money

MONEY = {"max_digits": 12, "decimal_places": 2}


class MethodKind(models.TextChoices):
    CARD = "card", "Credit card"
    ECHECK = "echeck", "eCheck"


class CardCategory(models.TextChoices):
    """A card's funding, from the gateway's BIN look-up (Collect.js): only credit may carry a
    surcharge; debit, prepaid and unknown never do."""

    CREDIT = "credit", "Credit"
    DEBIT = "debit", "Debit"
    PREPAID = "prepaid", "Prepaid"
    UNKNOWN = "unknown", "Unknown"


class PaymentMethodQuerySet(models.QuerySet):
    def active(self) -> PaymentMethodQuerySet:
        return self.filter(removed_at__isnull=True)

    def default_first(self) -> PaymentMethodQuerySet:
        """The one used last — or saved most recently — first."""
        return self.order_by(Coalesce("last_used_at", "created_at").desc(), "-id")


class PaymentMethod(models.Model):
    """A payment method one portal user saved in the gateway's vault. Colleagues never see it."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="payment_methods"
    )
    kind = models.CharField(max_length=8, choices=MethodKind)
    vault_id = models.CharField(max_length=64, help_text="The gateway's customer_vault_id.")
    brand = models.CharField(max_length=24, blank=True)
    last4 = models.CharField(max_length=4)
    exp_month = models.PositiveSmallIntegerField(null=True, blank=True)
    exp_year = models.PositiveSmallIntegerField(null=True, blank=True)
    card_category = models.CharField(
        max_length=8, choices=CardCategory, default=CardCategory.UNKNOWN, blank=True
    )
    account_type = models.CharField(max_length=8, blank=True)  # checking | savings
    account_holder_type = models.CharField(max_length=8, blank=True)  # personal | business
    holder_name = models.CharField(max_length=120, blank=True)  # on the card / on the account
    billing = models.JSONField(default=dict, blank=True)  # name and address, for receipts and reuse
    initial_transaction_id = models.CharField(
        max_length=64, blank=True, help_text="The sale that stored it (stored-credential rules)."
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    removed_at = models.DateTimeField(null=True, blank=True)

    objects = PaymentMethodQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["vault_id"],
                condition=Q(removed_at__isnull=True),
                name="payment_method_vault_id",
            ),
        ]
        indexes = [models.Index(fields=["owner", "removed_at"], name="payment_method_owner")]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        """Visa •••• 1111 · Checking •••• 6789"""
        if self.kind == MethodKind.CARD:
            return f"{self.brand or 'Card'} •••• {self.last4}"
        return f"{(self.account_type or 'bank').capitalize()} •••• {self.last4}"

    @property
    def choice_value(self) -> str:
        """Its value in the Make a Payment window's radio buttons."""
        return f"saved:{self.pk}"

    @property
    def detail(self) -> str:
        """expires 12/28 · Jane Doe"""
        if self.kind == MethodKind.CARD and self.exp_month and self.exp_year:
            return f"expires {self.exp_month:02d}/{self.exp_year % 100:02d}"
        return self.holder_name

    @property
    def is_expired(self) -> bool:
        if self.kind != MethodKind.CARD or not (self.exp_month and self.exp_year):
            return False
        today = timezone.localdate()
        return (self.exp_year, self.exp_month) < (today.year, today.month)


class PaymentState(models.TextChoices):
    PROCESSING = "processing", "Processing"
    UNKNOWN = "unknown", "Being confirmed"
    APPROVED = "approved", "Approved"  # card: charged and applied to the invoice
    PENDING = "pending", "Pending settlement"  # eCheck: approved, not yet settled, not applied
    SETTLED = "settled", "Settled"  # final; applied
    DECLINED = "declined", "Declined"
    FAILED = "failed", "Failed"  # refused or never reached the processor: nothing charged
    RETURNED = "returned", "Returned"  # eCheck returned by the bank: unapplied
    VOIDED = "voided", "Voided"  # cancelled before settlement: unapplied


# Money in flight for the invoice: it cannot be paid again meanwhile.
IN_FLIGHT_STATES = (PaymentState.PROCESSING, PaymentState.UNKNOWN, PaymentState.PENDING)
# Money counted in the invoice's amount paid.
APPLIED_STATES = (PaymentState.APPROVED, PaymentState.SETTLED)
# The allowed transitions, written down once. Anything else is refused (and logged).
TRANSITIONS: dict[str, frozenset[str]] = {
    PaymentState.PROCESSING: frozenset(
        {
            PaymentState.APPROVED,
            PaymentState.PENDING,
            PaymentState.DECLINED,
            PaymentState.FAILED,
            PaymentState.UNKNOWN,
        }
    ),
    PaymentState.UNKNOWN: frozenset(
        {PaymentState.APPROVED, PaymentState.PENDING, PaymentState.DECLINED, PaymentState.FAILED}
    ),
    PaymentState.APPROVED: frozenset({PaymentState.SETTLED, PaymentState.VOIDED}),
    PaymentState.PENDING: frozenset(
        {PaymentState.SETTLED, PaymentState.RETURNED, PaymentState.VOIDED}
    ),
    PaymentState.SETTLED: frozenset({PaymentState.RETURNED}),  # an eCheck can be returned late
    PaymentState.DECLINED: frozenset(),
    PaymentState.FAILED: frozenset(),
    PaymentState.RETURNED: frozenset(),
    PaymentState.VOIDED: frozenset(),
}


def new_order_id() -> str:
    """Unique per attempt; sent to the gateway as `orderid` so a lost answer can be looked up."""
    return f"RMT-{uuid.uuid4().hex[:20].upper()}"


class Payment(models.Model):
    """One attempt to pay one invoice, from the moment it is created (processing) to its end."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    invoice = models.ForeignKey(
        "billing.Invoice", on_delete=models.PROTECT, related_name="payments"
    )
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="payments"
    )
    payer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="payments"
    )
    attempt_key = models.UUIDField(
        help_text="Sent by the Make a Payment window; one outcome per key."
    )
    request_fingerprint = models.CharField(max_length=64)
    order_id = models.CharField(max_length=40, unique=True, default=new_order_id)
    state = models.CharField(max_length=12, choices=PaymentState, default=PaymentState.PROCESSING)
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3, default="USD")
    applied_amount = models.DecimalField(**MONEY, default=ZERO)
    refunded_amount = models.DecimalField(**MONEY, default=ZERO)
    # A card surcharge (credit cards only) or an eCheck discount: kept on the payment, never in an
    # invoice's allocation, so the invoices are paid exactly their amounts; the gateway is charged
    # amount + surcharge - discount (remit/payments/surcharge.py).
    surcharge_amount = models.DecimalField(**MONEY, default=ZERO)
    surcharge_percent = models.DecimalField(max_digits=4, decimal_places=2, null=True, blank=True)
    discount_amount = models.DecimalField(**MONEY, default=ZERO)
    discount_percent = models.DecimalField(max_digits=4, decimal_places=2, null=True, blank=True)
    adjustment_refunded = models.DecimalField(
        **MONEY,
        default=ZERO,
        help_text="The surcharge given back (or discount taken back) by refunds.",
    )
    # How it was paid (masked, for display): a snapshot, kept even if the saved method is removed.
    method_kind = models.CharField(max_length=8, choices=MethodKind)
    method_brand = models.CharField(max_length=24, blank=True)
    method_last4 = models.CharField(max_length=4, blank=True)
    card_category = models.CharField(
        max_length=8, choices=CardCategory, blank=True, help_text="A card's, when it was paid."
    )
    payment_method = models.ForeignKey(
        PaymentMethod, null=True, blank=True, on_delete=models.SET_NULL, related_name="payments"
    )
    save_method = models.BooleanField(default=False)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    # The gateway's answer.
    transaction_id = models.CharField(max_length=64, blank=True, db_index=True)
    auth_code = models.CharField(max_length=32, blank=True)
    response_code = models.CharField(max_length=8, blank=True)
    response_text = models.CharField(max_length=255, blank=True)
    avs_response = models.CharField(max_length=4, blank=True)
    cvv_response = models.CharField(max_length=4, blank=True)
    return_code = models.CharField(max_length=8, blank=True)  # eCheck R-code
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    settled_at = models.DateTimeField(null=True, blank=True)
    returned_at = models.DateTimeField(null=True, blank=True)
    # When reconciliation last took it up (claimed for a lookup): the oldest go first, never-checked
    # before all (remit/payments/reconcile.py).
    last_checked_at = models.DateTimeField(null=True, blank=True)
    # When staff were alerted that it stayed processing or unknown too long: once per payment.
    stuck_alerted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # The database itself refuses a second payment in flight for one invoice.
            models.UniqueConstraint(
                fields=["invoice"],
                condition=Q(state__in=IN_FLIGHT_STATES),
                name="one_payment_in_flight_per_invoice",
            ),
            models.UniqueConstraint(
                fields=["payer", "attempt_key"], name="one_payment_per_attempt_key"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(
                condition=Q(applied_amount__gte=0, refunded_amount__gte=0),
                name="payment_amounts_nonneg",
            ),
        ]
        indexes = [models.Index(fields=["state", "updated_at"], name="payment_state_updated")]

    def __str__(self) -> str:
        return f"{format_money(self.amount, self.currency)} for {self.invoice_id} ({self.state})"

    @property
    def method_label(self) -> str:
        if self.method_kind == MethodKind.CARD:
            return f"{self.method_brand or 'Card'} •••• {self.method_last4}"
        return f"eCheck · {(self.method_brand or 'bank').capitalize()} •••• {self.method_last4}"

    @property
    def in_flight(self) -> bool:
        return self.state in IN_FLIGHT_STATES

    @property
    def adjustment_label(self) -> str:
        """'Card surcharge (3.00%)' or 'eCheck discount (1.00%)', for receipts and pages."""
        if self.surcharge_amount:
            return f"Card surcharge ({self.surcharge_percent}%)"
        if self.discount_amount:
            return f"eCheck discount ({self.discount_percent}%)"
        return ""

    @property
    def adjustment(self) -> Decimal:
        """What the payment added (positive) or took off (negative) the invoices' amount."""
        return self.surcharge_amount - self.discount_amount

    @property
    def charged_amount(self) -> Decimal:
        """What the gateway was asked for: the invoices' amount, plus a surcharge or less a
        discount."""
        return self.amount + self.surcharge_amount - self.discount_amount

    @property
    def display_status(self):
        """For the payment history: the state, or Refunded / Partially refunded."""
        if self.refunded_amount > ZERO and self.state in APPLIED_STATES:
            refunded = self.refunded_amount >= self.amount
            return _DisplayStatus("refunded", "Refunded" if refunded else "Partially refunded")
        return _DisplayStatus(self.state, PaymentState(self.state).label)

    @property
    def refundable_amount(self) -> Decimal:
        return self.applied_amount if self.state == PaymentState.SETTLED else ZERO


class _DisplayStatus:
    def __init__(self, value: str, label: str):
        self.value, self.label = value, label

    def __str__(self) -> str:
        return self.label


class PaymentEvent(models.Model):
    """Every change of a payment: the state it left, the state it reached, and why."""

    payment = models.ForeignKey(Payment, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(default=timezone.now)
    from_state = models.CharField(max_length=12, blank=True)
    to_state = models.CharField(max_length=12, blank=True)
    source = models.CharField(max_length=20)  # portal, gateway, reconcile, backoffice, api
    message = models.CharField(max_length=300, blank=True)
    data = models.JSONField(default=dict, blank=True)  # the gateway's answer, masked

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.from_state or '-'} → {self.to_state or '-'}: {self.message}"


class DebitAuthorization(models.Model):
    """The payer's authorization of an eCheck debit (kept two years, as NACHA asks for WEB)."""

    payment = models.OneToOneField(Payment, on_delete=models.PROTECT, related_name="authorization")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    accepted_at = models.DateTimeField(default=timezone.now)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    text_version = models.CharField(max_length=20)
    text = models.TextField()

    def __str__(self) -> str:
        return f"Authorization {self.text_version} for {self.payment_id}"


class RefundKind(models.TextChoices):
    REFUND = "refund", "Refund"
    VOID = "void", "Void"


class RefundState(models.TextChoices):
    PROCESSING = "processing", "Processing"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    UNKNOWN = "unknown", "Being confirmed"


class Refund(models.Model):
    """A child transaction of a payment: a refund (after settlement) or a void (before)."""

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    kind = models.CharField(max_length=8, choices=RefundKind)
    state = models.CharField(max_length=12, choices=RefundState, default=RefundState.PROCESSING)
    amount = models.DecimalField(**MONEY)  # of the invoices' amount
    # The payment's card surcharge given back with it (pro rata), or its eCheck discount taken
    # back (negative): the gateway refunds amount + adjustment (remit/payments/surcharge.py).
    adjustment = models.DecimalField(**MONEY, default=ZERO)
    order_id = models.CharField(max_length=40, unique=True, default=new_order_id)
    reason = models.CharField(max_length=200, blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    requested_via = models.CharField(max_length=20, default="backoffice")  # backoffice | api
    idempotency_key = models.CharField(max_length=80, blank=True)
    transaction_id = models.CharField(max_length=64, blank=True)
    response_code = models.CharField(max_length=8, blank=True)
    response_text = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)
    # Which invoices a refund reduces, chosen when it is requested: {"<invoice id>": "12.34"}.
    allocation = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive"),
            models.UniqueConstraint(
                fields=["payment"],
                condition=Q(state__in=["processing", "unknown"]),
                name="one_refund_in_flight_per_payment",
            ),
            models.UniqueConstraint(
                fields=["idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="refund_idempotency_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {format_money(self.amount)} of payment {self.payment_id}"


class LimitEvent(models.Model):
    """What the card-testing limits count: failed payments and newly entered methods."""

    class Kind(models.TextChoices):
        FAILURE = "failure", "Failed payment"
        NEW_METHOD = "new_method", "New card or account"

    kind = models.CharField(max_length=12, choices=Kind)
    at = models.DateTimeField(default=timezone.now)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    organization = models.ForeignKey("accounts.Organization", null=True, on_delete=models.SET_NULL)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["kind", "user", "at"], name="limit_user"),
            models.Index(fields=["kind", "organization", "at"], name="limit_org"),
            models.Index(fields=["kind", "ip_address", "at"], name="limit_ip"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} at {self.at:%Y-%m-%d %H:%M}"


class PaymentBlock(models.Model):
    """Online payment paused for a user, an organization or an IP address, until it expires or
    provider staff lift it."""

    class Scope(models.TextChoices):
        USER = "user", "User"
        ORGANIZATION = "organization", "Organization"
        IP = "ip", "IP address"

    scope = models.CharField(max_length=12, choices=Scope)
    key = models.CharField(max_length=64, help_text="User id, organization id or IP address.")
    label = models.CharField(max_length=200, blank=True)
    reason = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["scope", "key", "expires_at"], name="block_lookup")]

    def __str__(self) -> str:
        return f"{self.get_scope_display()} {self.label or self.key}: {self.reason}"

    @property
    def active(self) -> bool:
        return self.lifted_at is None and self.expires_at > timezone.now()


class LimitLock(models.Model):
    """One row per limited scope (a user, an organization, an IP address), locked while a payment
    attempt is checked against that scope's limits and counted (remit.payments.limits): concurrent
    attempts of one scope take turns, so the check and the count it leads to are one step."""

    scope = models.CharField(max_length=12, choices=PaymentBlock.Scope)
    key = models.CharField(max_length=64)
    last_attempt_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["scope", "key"], name="limit_lock_scope")]

    def __str__(self) -> str:
        return f"{self.scope} {self.key}"


from remit.payments.allocation_models import PaymentAllocation  # noqa: E402,F401  (registered)
from remit.payments.surcharge_models import SurchargePolicy  # noqa: E402,F401  (registered)
