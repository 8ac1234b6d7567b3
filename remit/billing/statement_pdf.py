"""The statement of account as a PDF (fpdf2): open items, the period's payments, the aging."""

from __future__ import annotations

from fpdf import FontFace
from fpdf.enums import XPos, YPos

from remit.billing.pdf import INK, MUTED, RULE, _date, _latin1, provider_document
from remit.core.models import Provider
from remit.core.money import format_money


def statement_pdf(organization, data: dict, *, provider: Provider) -> bytes:
    pdf, width, _contact = provider_document(
        provider, f"Statement {organization.name} {data['as_of']}"
    )
    pdf.set_text_color(*INK)
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(width / 2, 22, _latin1(provider.name))
    pdf.set_font("Helvetica", "B", 18)
    pdf.cell(width / 2, 22, "STATEMENT", align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("Helvetica", size=10)
    pdf.set_text_color(*MUTED)
    pdf.cell(width / 2, 14, _latin1(organization.name))
    pdf.cell(
        width / 2,
        14,
        f"As of {_date(data['as_of'])}",
        align="R",
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    pdf.ln(12)
    pdf.set_draw_color(*RULE)
    pdf.set_font("Helvetica", size=10)
    style = FontFace(emphasis="BOLD", color=MUTED)
    with pdf.table(
        text_align="RIGHT", line_height=16, borders_layout="HORIZONTAL_LINES", headings_style=style
    ) as table:
        heading = table.row()
        for bucket in data["buckets"]:
            heading.cell(_latin1(bucket.label.replace("–", "-")))
        heading.cell("Total open")
        row = table.row()
        for bucket in data["buckets"]:
            row.cell(format_money(bucket.amount))
        row.cell(format_money(data["total_open"]))
    pdf.ln(12)
    pdf.set_font("Helvetica", "B", 11)
    pdf.cell(width, 16, "Open items", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("Helvetica", size=10)
    with pdf.table(
        col_widths=(25, 20, 20, 17, 18),
        text_align=("LEFT", "LEFT", "LEFT", "RIGHT", "RIGHT"),
        line_height=16,
        borders_layout="HORIZONTAL_LINES",
        headings_style=style,
    ) as table:
        heading = table.row()
        for title in ("Invoice", "Invoice Date", "Date Due", "Original", "Open"):
            heading.cell(title)
        for invoice in data["items"]:
            row = table.row()
            row.cell(_latin1(invoice.number))
            row.cell(_date(invoice.invoice_date))
            row.cell(_date(invoice.due_date))
            row.cell(format_money(invoice.total, invoice.currency))
            row.cell(format_money(invoice.amount_due, invoice.currency))
    pdf.ln(12)
    pdf.set_font("Helvetica", "B", 11)
    pdf.cell(
        width,
        16,
        f"Payments {_date(data['start'])} - {_date(data['as_of'])}",
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    pdf.set_font("Helvetica", size=10)
    with pdf.table(
        col_widths=(22, 48, 30),
        text_align=("LEFT", "LEFT", "RIGHT"),
        line_height=16,
        borders_layout="HORIZONTAL_LINES",
        headings_style=style,
    ) as table:
        heading = table.row()
        for title in ("Date", "Invoices", "Amount"):
            heading.cell(title)
        for payment in data["payments"]:
            row = table.row()
            row.cell(_date(payment.created_at.date()))
            row.cell(_latin1(", ".join(a.invoice.number for a in payment.allocations.all())))
            amount = format_money(payment.amount, payment.currency)
            if payment.adjustment_label:  # its own line: never part of an invoice's payment
                adjustment = format_money(payment.adjustment, payment.currency)
                amount = f"{amount}\n{payment.adjustment_label} {adjustment}"
            row.cell(_latin1(amount))
    return bytes(pdf.output())
