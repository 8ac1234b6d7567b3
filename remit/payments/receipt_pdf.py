"""A payment's receipt as a PDF (fpdf2, like the invoice PDF): each invoice with the amount applied
and what is still due, the method (brand or bank and last four), the gateway's transaction id, the
date, and the provider's details. Never more of a card or account than its last four."""

from __future__ import annotations

from fpdf import FontFace
from fpdf.enums import XPos, YPos

from remit.billing.pdf import INK, MUTED, RULE, _latin1, provider_document
from remit.core.models import Provider
from remit.core.money import format_money
from remit.payments.models import Payment


def receipt_pdf(payment: Payment, *, provider: Provider) -> bytes:
    allocations = list(payment.allocations.select_related("invoice").order_by("invoice__due_date"))
    pdf, width, contact = provider_document(provider, f"Receipt {payment.order_id}")
    pdf.set_text_color(*INK)
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(width / 2, 22, _latin1(provider.name))
    pdf.set_font("Helvetica", "B", 20)
    pdf.cell(width / 2, 22, "RECEIPT", align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("Helvetica", size=10)
    pdf.set_text_color(*MUTED)
    pdf.cell(width, 14, _latin1(contact), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(14)
    facts = [
        ("Received from", payment.organization.name),
        ("Amount", format_money(payment.amount, payment.currency)),
        *(
            [
                (payment.adjustment_label, format_money(payment.adjustment, payment.currency)),
                ("Total charged", format_money(payment.charged_amount, payment.currency)),
            ]
            if payment.adjustment_label
            else []
        ),
        ("Paid with", payment.method_label.replace("•", "*")),
        ("Date", payment.created_at.strftime("%b %-d, %Y")),
        ("Transaction ID", payment.transaction_id or "-"),
        ("Status", str(payment.display_status.label)),
    ]
    for label, value in facts:
        pdf.set_font("Helvetica", size=9)
        pdf.set_text_color(*MUTED)
        pdf.cell(width / 3, 15, label)
        pdf.set_font("Helvetica", "B", 10)
        pdf.set_text_color(*INK)
        pdf.cell(2 * width / 3, 15, _latin1(value), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(14)
    pdf.set_font("Helvetica", size=10)
    pdf.set_draw_color(*RULE)
    with pdf.table(
        col_widths=(40, 30, 30),
        text_align=("LEFT", "RIGHT", "RIGHT"),
        line_height=16,
        borders_layout="HORIZONTAL_LINES",
        headings_style=FontFace(emphasis="BOLD", color=MUTED),
    ) as table:
        heading = table.row()
        for title in ("Invoice", "Amount Applied", "Still Due"):
            heading.cell(title)
        for allocation in allocations:
            row = table.row()
            row.cell(_latin1(allocation.invoice.number))
            row.cell(format_money(allocation.amount - allocation.refunded_amount, payment.currency))
            row.cell(format_money(allocation.invoice.amount_due, payment.currency))
    return bytes(pdf.output())
