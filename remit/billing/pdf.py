"""Invoice PDFs, drawn with fpdf2 (pure Python, no system packages)."""

from __future__ import annotations

import datetime
import hashlib

from fpdf import FPDF, FontFace
from fpdf.enums import XPos, YPos

from remit.billing.models import Invoice
from remit.core import shared_cache
from remit.core.encryption import EncryptedTextField
from remit.core.formats import short_date
from remit.core.models import Provider
from remit.core.money import format_money

INK = (29, 36, 51)
MUTED = (91, 100, 117)
RULE = (223, 227, 234)
_date = short_date  # "Jan 5, 2026" (statements and receipts import it from here)


def _latin1(text: str) -> str:
    """fpdf2's core fonts are Latin-1; replace anything else rather than fail."""
    return str(text).replace("\u2022", "*").encode("latin-1", "replace").decode("latin-1")


class _InvoicePDF(FPDF):
    def __init__(self, footer_text: str):
        super().__init__(format="Letter", unit="pt")
        self.footer_text = footer_text
        self.set_margins(54, 54, 54)
        self.set_auto_page_break(auto=True, margin=64)

    def footer(self) -> None:
        self.set_y(-44)
        self.set_font("Helvetica", size=8)
        self.set_text_color(*MUTED)
        self.cell(0, 10, _latin1(self.footer_text), align="L")
        self.cell(0, 10, f"Page {self.page_no()} of {{nb}}", align="R")


def provider_document(provider: Provider, title: str) -> tuple[_InvoicePDF, float, str]:
    """A new PDF in the provider's name (invoices, statements, receipts): its metadata, the footer
    with the provider's contact, the first page. Returns it, the usable width and the contact."""
    contact = " / ".join(x for x in (provider.support_email, provider.support_phone) if x)
    pdf = _InvoicePDF(footer_text=f"{provider.name}{' - ' + contact if contact else ''}")
    pdf.set_title(title)
    pdf.set_author(provider.name)
    pdf.set_creator("Remit")
    pdf.alias_nb_pages()
    pdf.add_page()
    return pdf, pdf.w - pdf.l_margin - pdf.r_margin, contact


PDF_CACHE_SECONDS = 24 * 60 * 60


def _values(obj) -> list:
    """Every column of a row, secrets left out (the key is a digest, but it needs none of them)."""
    return [
        getattr(obj, field.attname)
        for field in obj._meta.concrete_fields
        if not isinstance(field, EncryptedTextField)
    ]


def cached_invoice_pdf(
    invoice: Invoice, *, lines: list, provider: Provider, today: datetime.date
) -> bytes:
    """invoice_pdf(), kept in Django's cache: drawing a PDF is most of the page's time, and the
    same invoice is downloaded again and again. The key is a digest of everything the document is
    drawn from — every column of the invoice, its lines, its organization and the provider, and
    the status it shows today — so any change gives a new key, never a stale document. `lines`:
    the invoice's lines, read with it (page_queries.invoice_page)."""
    status = invoice.status_on(today)
    inputs = (
        _values(invoice),
        [_values(line) for line in lines],
        _values(invoice.organization),
        _values(provider),
        status.value,
    )
    key = "invoice-pdf:" + hashlib.sha256(repr(inputs).encode()).hexdigest()
    pdf = shared_cache.get(key)
    if pdf is None:
        pdf = invoice_pdf(invoice, provider=provider, today=today, lines=lines)
        shared_cache.set(key, pdf, PDF_CACHE_SECONDS)
    return pdf


def invoice_pdf(
    invoice: Invoice, *, provider: Provider, today: datetime.date, lines: list | None = None
) -> bytes:
    lines = list(invoice.lines.all()) if lines is None else lines
    currency = invoice.currency
    pdf, width, contact = provider_document(provider, f"Invoice {invoice.number}")

    # Heading: provider on the left, INVOICE and its number on the right.
    pdf.set_text_color(*INK)
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(width / 2, 22, _latin1(provider.name))
    pdf.set_font("Helvetica", "B", 20)
    pdf.cell(width / 2, 22, "INVOICE", align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("Helvetica", size=10)
    pdf.set_text_color(*MUTED)
    pdf.cell(width / 2, 14, _latin1(contact))
    pdf.cell(width / 2, 14, _latin1(invoice.number), align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(18)

    # Bill to and the facts.
    pdf.set_font("Helvetica", "B", 9)
    pdf.cell(width / 2, 12, "BILL TO")
    facts = [
        ("Invoice Date", short_date(invoice.invoice_date)),
        ("Date Due", short_date(invoice.due_date)),
        ("Terms", invoice.terms),
        ("Status", invoice.status_on(today).label),
    ]
    pdf.set_xy(pdf.l_margin + width / 2, pdf.get_y())
    y_facts = pdf.get_y()
    pdf.ln(12)
    pdf.set_font("Helvetica", size=11)
    pdf.set_text_color(*INK)
    pdf.cell(width / 2, 14, _latin1(invoice.organization.name))
    pdf.set_y(y_facts)
    for label, value in facts:
        pdf.set_x(pdf.l_margin + width / 2)
        pdf.set_font("Helvetica", size=9)
        pdf.set_text_color(*MUTED)
        pdf.cell(width / 4, 14, label)
        pdf.set_font("Helvetica", "B", 10)
        pdf.set_text_color(*INK)
        pdf.cell(width / 4, 14, _latin1(value), align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(16)

    # Line items.
    pdf.set_font("Helvetica", size=10)
    pdf.set_draw_color(*RULE)
    with pdf.table(
        col_widths=(52, 12, 18, 18),
        text_align=("LEFT", "RIGHT", "RIGHT", "RIGHT"),
        line_height=16,
        borders_layout="HORIZONTAL_LINES",
        headings_style=FontFace(emphasis="BOLD", color=MUTED),
    ) as table:
        heading = table.row()
        for title in ("Description", "Quantity", "Unit Price", "Amount"):
            heading.cell(title)
        for line in lines:
            row = table.row()
            row.cell(_latin1(line.description))
            row.cell(f"{line.quantity.normalize():f}")
            row.cell(format_money(line.unit_price, currency))
            row.cell(format_money(line.amount, currency))
    pdf.ln(10)

    # Totals, right-aligned.
    totals = [
        ("Subtotal", invoice.subtotal),
        ("Tax", invoice.tax),
        ("Total", invoice.total),
        ("Amount Paid", invoice.amount_paid),
    ]
    for label, amount in totals:
        pdf.set_x(pdf.l_margin + width * 0.55)
        pdf.set_font("Helvetica", size=10)
        pdf.set_text_color(*MUTED)
        pdf.cell(width * 0.25, 16, label)
        pdf.set_text_color(*INK)
        pdf.cell(
            width * 0.20,
            16,
            format_money(amount, currency),
            align="R",
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )
    pdf.set_x(pdf.l_margin + width * 0.55)
    pdf.set_draw_color(*INK)
    pdf.line(pdf.get_x(), pdf.get_y() + 2, pdf.l_margin + width, pdf.get_y() + 2)
    pdf.ln(6)
    pdf.set_x(pdf.l_margin + width * 0.55)
    pdf.set_font("Helvetica", "B", 12)
    pdf.cell(width * 0.25, 18, "Amount Due")
    pdf.cell(
        width * 0.20,
        18,
        format_money(invoice.total - invoice.amount_paid, currency),
        align="R",
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    if invoice.memo:
        pdf.ln(16)
        pdf.set_font("Helvetica", size=9)
        pdf.set_text_color(*MUTED)
        pdf.multi_cell(width, 12, _latin1(invoice.memo))
    return bytes(pdf.output())
