"""Rows of invoices as the pages show them (Home, Reports > Invoices, the statement's open items).

Every cell's text (dates, money, status, the link) is made here once per row, in Python, and so
is each row's `<tr>` (escaped as the template would): the templates print one string per row — no
`{% url %}`, filter, `{% if %}` or variable lookup per cell, which for Reports > Invoices' 50 rows
cost more than the rest of the page. "Today" (the provider's time zone) is found once per page.
"""

from __future__ import annotations

import datetime
import functools
from dataclasses import dataclass
from html import escape

from django.template.defaultfilters import floatformat
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.safestring import SafeString, mark_safe

from remit.billing.models import InvoiceStatus, status_of
from remit.core.formats import short_date
from remit.core.money import format_money

_PK = 2_147_483_647  # placeholder for the invoice id in reversed URLs


@dataclass(slots=True)
class InvoiceRow:
    pk: int
    number: str
    url: str
    invoice_date: str
    due_date: str
    total: str
    amount_due: str
    status_class: str  # badge--due, badge--paid, ...
    status_label: str
    payable: bool  # "Pay selected" may take it

    def home_html(self) -> SafeString:
        """The row of Home's Recent Invoices."""
        return mark_safe(
            "<tr>"
            f'<td data-label="Invoice"><a href="{self.url}">{escape(self.number)}</a></td>'
            f'<td class="nowrap" data-label="Date">{self.invoice_date}</td>'
            f'<td class="num" data-label="Amount Due">{escape(self.amount_due)}</td>'
            f'<td data-label="Status">{self._badge()}</td>'
            "</tr>"
        )

    def list_html(self, can_pay: bool) -> SafeString:
        """The row of Reports > Invoices (with its "Select to pay" box when `can_pay`)."""
        number = escape(self.number)
        select = ""
        if can_pay:
            box = (
                f'<input type="checkbox" name="invoice" value="{self.pk}" form="pay-selected" '
                f'id="pay-{self.pk}" aria-label="Select {number} to pay">'
                if self.payable
                else ""
            )
            select = f'<td data-label="Pay">{box}</td>'
        return mark_safe(
            f"<tr>{select}"
            f'<td data-label="Invoice Number"><a href="{self.url}">{number}</a></td>'
            f'<td class="nowrap" data-label="Invoice Date">{self.invoice_date}</td>'
            f'<td class="nowrap" data-label="Due Date">{self.due_date}</td>'
            f'<td class="num" data-label="Total">{escape(self.total)}</td>'
            f'<td class="num" data-label="Amount Due">{escape(self.amount_due)}</td>'
            f'<td data-label="Status">{self._badge()}</td>'
            "</tr>"
        )

    def _badge(self) -> str:
        return _BADGES[self.status_class]


_BADGES = {
    status.value: f'<span class="badge badge--{status.value}">{escape(str(status.label))}</span>'
    for status in InvoiceStatus
}


def badge_html(status: InvoiceStatus) -> SafeString:
    """includes/status.html for an invoice's status."""
    return mark_safe(_BADGES[status.value])


_DETAIL_URLS = ("invoice_detail", "invoice_pdf", "make_payment")


def detail_urls(pk: int) -> dict[str, str]:
    """An invoice page's links (the invoice itself, its PDF, Make a Payment), the list's and the
    saved methods', reversed once per process and filled in with `pk` (the invoice page and the
    payment window use them instead of a `{% url %}` each)."""
    patterns = _url_patterns(get_script_prefix(), get_urlconf())
    return {name: pattern.format(pk) for name, pattern in patterns.items()}


@functools.lru_cache(maxsize=16)
def _url_patterns(prefix: str, urlconf) -> dict[str, str]:
    patterns = {name: reverse(name, args=[_PK]).replace(str(_PK), "{}") for name in _DETAIL_URLS}
    patterns["invoice_list"] = reverse("invoice_list")
    patterns["payment_methods"] = reverse("payment_methods")
    return patterns


def detail_url_pattern() -> str:
    """/invoices/{}/: reversed once per page (and escaped for an attribute), filled in per row."""
    return escape(reverse("invoice_detail", args=[_PK])).replace(str(_PK), "{}")


def invoice_rows(invoices, today: datetime.date) -> list[InvoiceRow]:
    """The rows of `invoices`: Invoice instances, or the records of page_queries' reads."""
    url = detail_url_pattern()
    rows = []
    for invoice in invoices:
        status = status_of(invoice, today)
        rows.append(
            InvoiceRow(
                pk=invoice.pk,
                number=invoice.number,
                url=url.format(invoice.pk),
                invoice_date=short_date(invoice.invoice_date),
                due_date=short_date(invoice.due_date),
                total=format_money(invoice.total, invoice.currency),
                amount_due=format_money(invoice.amount_due, invoice.currency),
                status_class=status.value,
                status_label=status.label,
                payable=status in (InvoiceStatus.DUE, InvoiceStatus.OVERDUE),
            )
        )
    return rows


def statement_item_rows(items) -> SafeString:
    """The statement's open items (up to 500 of them), one `<tr>` each: invoice number (a link),
    invoice date, due date, original and open amounts in the invoice's currency."""
    url = detail_url_pattern()
    return mark_safe(
        "\n".join(
            "<tr>"
            f'<td data-label="Invoice Number"><a href="{url.format(invoice.pk)}">'
            f"{escape(invoice.number)}</a></td>"
            f'<td class="nowrap" data-label="Invoice Date">{short_date(invoice.invoice_date)}</td>'
            f'<td class="nowrap" data-label="Date Due">{short_date(invoice.due_date)}</td>'
            f'<td class="num" data-label="Original">'
            f"{escape(format_money(invoice.total, invoice.currency))}</td>"
            f'<td class="num" data-label="Open">'
            f"{escape(format_money(invoice.amount_due, invoice.currency))}</td>"
            "</tr>"
            for invoice in items
        )
    )


def line_rows_html(lines, currency: str) -> SafeString:
    """An invoice page's items, one `<tr>` each (as the template's loop wrote them: the quantity
    as `floatformat:"-2"`, the money in the invoice's currency), or the "No items." row."""
    if not lines:
        return mark_safe('<tr><td colspan="4" class="muted">No items.</td></tr>')
    return mark_safe(
        "\n".join(
            f'<tr><td class="cell--wide">{escape(line.description)}</td>'
            f'<td class="num" data-label="Quantity">{floatformat(line.quantity, "-2")}</td>'
            f'<td class="num" data-label="Unit Price">'
            f"{escape(format_money(line.unit_price, currency))}</td>"
            f'<td class="num" data-label="Amount">{escape(format_money(line.amount, currency))}</td>'
            "</tr>"
            for line in lines
        )
    )


def totals_html(invoice) -> SafeString:
    """The invoice page's totals table's rows: subtotal, tax, total, paid, and the amount due."""
    currency = invoice.currency
    rows = [
        ("Subtotal", invoice.subtotal),
        ("Tax", invoice.tax),
        ("Total", invoice.total),
        ("Amount Paid", invoice.amount_paid),
    ]
    cells = [
        f'<tr><th scope="row">{label}</th><td class="num">'
        f"{escape(format_money(value, currency))}</td></tr>"
        for label, value in rows
    ]
    cells.append(
        '<tr class="grand"><th scope="row">Amount Due</th><td class="num">'
        f"{escape(format_money(invoice.amount_due, currency))}</td></tr>"
    )
    return mark_safe("\n".join(cells))
