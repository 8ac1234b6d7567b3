"""Rows of invoices as the pages show them (Home, Reports > Invoices).

Every cell's text (dates, money, status, the link) is made here once per row, in Python, so
the templates only print strings — no `{% url %}`, filter or `{% include %}` per row, and "today"
(the provider's time zone) is found once per page, not once per invoice.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.urls import reverse

from remit.billing.models import InvoiceStatus
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


def detail_url_pattern() -> str:
    """/invoices/{}/: reversed once per page, filled in per row."""
    return reverse("invoice_detail", args=[_PK]).replace(str(_PK), "{}")


def invoice_rows(invoices, today: datetime.date) -> list[InvoiceRow]:
    url = detail_url_pattern()
    rows = []
    for invoice in invoices:
        status = invoice.status_on(today)
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
