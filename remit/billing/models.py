import datetime
from decimal import Decimal

from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Round
from django.utils import timezone

from remit.accounts.models import Organization
from remit.core.money import ZERO, to_money

MONEY = {"max_digits": 12, "decimal_places": 2}


class InvoiceStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    DUE = "due", "Due"
    OVERDUE = "overdue", "Overdue"
    PAID = "paid", "Paid"
    VOID = "void", "Void"
    PAYMENT_PENDING = "payment_pending", "Payment pending"


def invoice_status(
    *,
    state: str,
    amount_due: Decimal,
    due_date: datetime.date,
    today: datetime.date,
    payment_pending: bool = False,
) -> InvoiceStatus:
    """What the client sees. Void beats everything; a payment in flight (an eCheck waiting to
    settle, or a card payment being confirmed) shows as pending; then Paid when nothing is due,
    Overdue once the due date has passed in the provider's time zone, Due otherwise."""
    if state == Invoice.State.VOID:
        return InvoiceStatus.VOID
    if state == Invoice.State.DRAFT:
        return InvoiceStatus.DRAFT
    if amount_due <= ZERO:
        return InvoiceStatus.PAID
    if payment_pending:
        return InvoiceStatus.PAYMENT_PENDING
    if due_date < today:
        return InvoiceStatus.OVERDUE
    return InvoiceStatus.DUE


def status_of(invoice, today: datetime.date) -> InvoiceStatus:
    """invoice_status() of an Invoice, or of a record with its fields (Prepared.records): its
    state, total, amount paid, due date and `payment_pending` annotation (False without it)."""
    return invoice_status(
        state=invoice.state,
        amount_due=invoice.total - invoice.amount_paid,
        due_date=invoice.due_date,
        today=today,
        payment_pending=getattr(invoice, "payment_pending", False),
    )


class Invoice(models.Model):
    class State(models.TextChoices):
        DRAFT = "draft", "Draft"
        ISSUED = "issued", "Issued"
        VOID = "void", "Void"

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="invoices"
    )
    number = models.CharField("Invoice Number", max_length=40, unique=True)
    state = models.CharField(max_length=8, choices=State, default=State.ISSUED)
    invoice_date = models.DateField("Invoice Date")
    due_date = models.DateField("Date Due")
    terms = models.CharField(max_length=60, default="Net 30")
    currency = models.CharField(max_length=3, default="USD")
    subtotal = models.DecimalField(**MONEY)
    tax = models.DecimalField(**MONEY, default=ZERO)
    total = models.DecimalField(**MONEY)
    amount_paid = models.DecimalField(**MONEY, default=ZERO)
    # Rounded so that SQLite, which keeps decimals as binary floats, stores exact cents too.
    amount_due = models.GeneratedField(
        expression=Round(F("total") - F("amount_paid"), 2),
        output_field=models.DecimalField(**MONEY),
        db_persist=True,
    )
    memo = models.TextField(blank=True)
    issued_at = models.DateTimeField(null=True, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)
    void_reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-invoice_date", "-id"]
        # Reports > Invoices reads a page as one range of one of these (keyset pagination,
        # remit/portal/keyset.py): an organization's invoices in the order of a sort key and id,
        # read forwards or backwards for either direction. The amount-due one also finds the open
        # invoices (amount_due > 0) of Home's balance and the default list.
        indexes = [
            # The state last, read by no sort: every client read excludes drafts, and with the
            # state in the index, the "show paid" list's bounded count is read from the index
            # alone (1.2 → 0.28 ms for 1,514 invoices; each row from the table otherwise).
            models.Index(
                fields=["organization", "-invoice_date", "-id", "state"],
                name="invoice_org_date_state",
            ),
            models.Index(fields=["organization", "amount_due", "id"], name="invoice_org_amount_id"),
            models.Index(fields=["organization", "due_date", "id"], name="invoice_org_due_id"),
            models.Index(fields=["organization", "total", "id"], name="invoice_org_total_id"),
            # The aging (the back office's dashboard and report, the client's statement): only the
            # open invoices — a few percent of them — read from the index alone.
            models.Index(
                # amount_due a key column, not INCLUDE: SQLite has no covering indexes.
                fields=["currency", "organization", "due_date", "amount_due"],
                condition=Q(state="issued", amount_due__gt=0),
                name="invoice_open_aging",
            ),
            # Home's balance (remit/billing/selectors.py balance_query): one organization's open
            # invoices, read from the index alone — state too, for the drafts' exclusion that
            # every client read carries. invoice_open_aging leads with the currency, so for one
            # organization PostgreSQL read the whole of it and then each row from the table:
            # 6-8 ms for an organization with 4,400 open invoices, 1.4 ms with this one.
            models.Index(
                fields=["organization", "due_date", "amount_due", "state"],
                condition=Q(state="issued", amount_due__gt=0),
                name="invoice_org_open",
            ),
            # The back office's "draft invoices" count: drafts are few, invoices many.
            models.Index(
                fields=["invoice_date"], condition=Q(state="draft"), name="invoice_drafts"
            ),
        ]
        constraints = [
            # Rounded to the cent because SQLite adds decimals as binary floats: 8487.47 + 570.22
            # is not 9057.69 there. On PostgreSQL (numeric) the rounding changes nothing.
            models.CheckConstraint(
                condition=Q(total=Round(F("subtotal") + F("tax"), 2)), name="invoice_total_sum"
            ),
            models.CheckConstraint(
                condition=Q(subtotal__gte=0, tax__gte=0), name="invoice_amounts_nonneg"
            ),
            models.CheckConstraint(
                condition=Q(amount_paid__gte=0, amount_paid__lte=F("total")),
                name="invoice_paid_within_total",
            ),
            models.CheckConstraint(
                condition=Q(due_date__gte=F("invoice_date")), name="invoice_due_after_date"
            ),
        ]

    def __str__(self) -> str:
        return f"Invoice {self.number}"

    def status_on(self, today: datetime.date) -> InvoiceStatus:
        return status_of(self, today)

    @property
    def status(self) -> InvoiceStatus:
        """Status today in the active time zone (the provider's, set by ProviderMiddleware)."""
        return self.status_on(timezone.localdate())

    @property
    def balance(self) -> Decimal:
        """total − amount paid, computed in Python (amount_due is only fresh after a reload)."""
        return to_money(self.total - self.amount_paid)


class InvoiceLine(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField(default=0)
    description = models.CharField(max_length=300)
    quantity = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal("1.00"))
    unit_price = models.DecimalField(**MONEY)
    amount = models.DecimalField(**MONEY)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.description

    @staticmethod
    def amount_for(quantity: Decimal, unit_price: Decimal) -> Decimal:
        return to_money(quantity * unit_price)
