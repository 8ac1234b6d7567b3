"""Pay all due / Pay selected in a real browser against the sandbox gateway: three invoices with a
new card typed into the gateway's hosted fields are one sale, three invoices Paid and one receipt
listing all three; a partial payment when the provider allows it (a typed total spread oldest due
first by remit/static/remit/pay-several.js, and checked again by the server); a tampered amount
when it does not (the server charges the balance); the receipt and statement PDFs downloaded and
read."""

import re
from decimal import Decimal

import pytest
from django.core import mail
from django.db.models import F
from playwright.sync_api import expect

from e2e.conftest import assert_accessible, sign_in
from e2e.test_make_payment import (
    CSP_WATCH,
    assert_no_csp_violation,
    confirm_button,
    fill_address,
    fill_card,
)
from remit.billing.models import Invoice
from remit.core.models import Provider
from remit.outbox.models import EmailKind, OutgoingEmail
from remit.outbox.services import email_attempt
from remit.payments.models import Payment
from tests.payments.conftest import sales_at_gateway
from tests.payments.test_payments_page import pdf_text

MANAGER = "manager@northwind.example"


@pytest.fixture
def three_due(demo_data, gateway, page):
    """Northwind with exactly three invoices due (the demo's others marked paid), CSP watched."""
    page.add_init_script(CSP_WATCH)
    open_ = Invoice.objects.filter(
        organization__name="Northwind Traders", state=Invoice.State.ISSUED
    ).filter(amount_paid__lt=F("total"))
    keep = list(open_.order_by("due_date", "pk")[:3])
    assert len(keep) == 3
    open_.exclude(pk__in=[i.pk for i in keep]).update(amount_paid=F("total"))
    return keep


def allow_partial(minimum="0.00"):
    provider = Provider.load()
    provider.partial_payments_allowed = True
    provider.partial_minimum_amount = Decimal(minimum)
    provider.save()


def download(page, link_name, tmp_path) -> tuple[str, str]:
    with page.expect_download() as info:
        page.get_by_role("link", name=link_name).first.click()
    target = tmp_path / info.value.suggested_filename
    info.value.save_as(target)
    body = target.read_bytes()
    assert body.startswith(b"%PDF-")
    return info.value.suggested_filename, pdf_text(body).decode("latin-1")


def pay_with_new_card(page, question):
    add = page.get_by_role("link", name="Add Credit Card")
    if add.count():  # a saved method is offered first; with none, the card form is open already
        add.click()
    expect(page.get_by_role("heading", name="Add Credit Card")).to_be_visible()
    fill_card(page)
    fill_address(page)
    page.get_by_role("button", name="Process Payment").click()
    expect(page.get_by_role("alertdialog")).to_contain_text(question)
    confirm_button(page).click()
    expect(page.get_by_text("Payment has been processed")).to_be_visible()


def sale_amount(transaction) -> Decimal:
    return transaction.last_action("sale").amount


def money(value) -> str:
    return f"${value:,.2f}"


def test_pay_all_due_for_three_invoices_is_one_sale_and_one_receipt(
    page, three_due, sandbox_gateway, tmp_path, screenshot
):
    total = sum((i.total for i in three_due), Decimal("0.00"))
    sign_in(page, MANAGER)
    page.get_by_role("link", name="Pay all due").click()
    table = page.get_by_role("table", name="Invoices to pay")
    for invoice in three_due:
        expect(table).to_contain_text(invoice.number)
    expect(table.locator("tbody tr")).to_have_count(3)
    expect(page.get_by_text(f"Total: {money(total)}")).to_be_visible()
    assert_accessible(page)  # the window with its hosted fields, at desktop and phone widths
    screenshot("window")
    pay_with_new_card(page, f"Pay {money(total)} to Harbor Point IT with Visa •••• 1111?")
    assert_no_csp_violation(page)
    screenshot("done", full_page=False)

    sales = sales_at_gateway(sandbox_gateway)
    assert [sale_amount(s) for s in sales] == [total]
    payment = Payment.objects.get()
    assert sales[0].transaction_id == payment.transaction_id
    page.goto("/reports/invoices/?show_paid=on")
    for invoice in three_due:
        row = page.get_by_role("row").filter(has_text=invoice.number)
        expect(row).to_contain_text("Paid")
        invoice.refresh_from_db()
        assert invoice.amount_due == 0

    receipts = OutgoingEmail.objects.filter(kind=EmailKind.RECEIPT, payment=payment)
    assert receipts.count() == 1
    mail.outbox.clear()
    email_attempt(receipts.get().pk)
    assert len(mail.outbox) == 1
    body = mail.outbox[0].body
    for invoice in three_due:
        assert f"{invoice.number}: {money(invoice.total)} applied, $0.00 still due" in body

    page.goto("/payments/")
    name, text = download(page, re.compile("Download receipt"), tmp_path)
    assert name.endswith(".pdf")
    for invoice in three_due:
        assert invoice.number in text
    assert payment.transaction_id in text
    assert "1111" in text


def test_the_statement_pdf_lists_the_open_items(page, three_due, tmp_path):
    sign_in(page, MANAGER)
    page.goto("/reports/statement/")
    expect(page.get_by_role("heading", name=re.compile("Statement"))).to_be_visible()
    name, text = download(page, "Download statement (PDF)", tmp_path)
    assert "statement" in name.lower()
    assert "Northwind Traders" in text
    for invoice in three_due:
        assert invoice.number in text
    assert "Current" in text
    assert "90+" in text


def test_a_typed_total_is_spread_oldest_due_first_and_paid_in_part(
    page, three_due, sandbox_gateway, screenshot
):
    allow_partial()
    oldest, second, newest = three_due
    part = oldest.total + Decimal("10.00")
    sign_in(page, MANAGER)
    page.goto("/pay/?all=due&add=card")
    total_field = page.get_by_label("Total to pay")
    total_field.fill(f"{part}")
    line = lambda invoice: page.get_by_label(f"Amount to pay on {invoice.number}")  # noqa: E731
    expect(line(oldest)).to_have_value(f"{oldest.total}")
    expect(line(second)).to_have_value("10.00")
    expect(line(newest)).to_have_value("0.00")
    expect(page.get_by_text(f"Total: {money(part)}")).to_be_visible()
    assert_accessible(page)  # the editable lines and the total, at desktop and phone widths
    screenshot("spread")
    fill_card(page)
    fill_address(page)
    page.get_by_role("button", name="Process Payment").click()
    expect(page.get_by_role("alertdialog")).to_contain_text(f"Pay {money(part)} to Harbor Point IT")
    confirm_button(page).click()
    expect(page.get_by_text("Payment has been processed")).to_be_visible()
    assert_no_csp_violation(page)
    sales = sales_at_gateway(sandbox_gateway)
    assert [sale_amount(s) for s in sales] == [part]
    second.refresh_from_db()
    newest.refresh_from_db()
    assert second.amount_due == second.total - Decimal("10.00")
    assert newest.amount_paid == 0
    page.goto(f"/pay/?invoice={second.pk}")
    expect(page.get_by_text("Partly paid")).to_be_visible()


def test_editing_a_line_makes_the_total_and_an_over_payment_is_refused(
    page, three_due, sandbox_gateway
):
    allow_partial()
    oldest = three_due[0]
    sign_in(page, MANAGER)
    page.goto("/pay/?all=due&add=card")
    balance = sum((i.total for i in three_due), Decimal("0.00"))
    total_field = page.get_by_label("Total to pay")
    total_field.fill(f"{balance + Decimal('0.01')}")
    expect(
        page.get_by_text(f"That is more than the selected invoices' balance, {money(balance)}.")
    ).to_be_visible()
    expect(total_field).to_have_attribute("aria-invalid", "true")
    assert_accessible(page)  # the message next to the total
    line = page.get_by_label(f"Amount to pay on {oldest.number}")
    expect(line).to_have_value(f"{oldest.total}")  # the lines were left alone
    line.fill("5.00")
    expect(total_field).to_have_value(f"{balance - oldest.total + Decimal('5.00')}")
    expect(total_field).not_to_have_attribute("aria-invalid", "true")
    # A line above its balance, posted anyway: refused next to the line, nothing charged.
    line.fill(f"{oldest.total + Decimal('1.00')}")
    fill_card(page)
    fill_address(page)
    page.get_by_role("button", name="Process Payment").click()
    confirm_button(page).click()
    expect(
        page.get_by_text(f"At most {money(oldest.total)} is due on invoice {oldest.number}.")
    ).to_be_visible()
    expect(page.get_by_label(f"Amount to pay on {oldest.number}")).to_have_attribute(
        "aria-invalid", "true"
    )
    assert sales_at_gateway(sandbox_gateway) == []
    assert not Payment.objects.exists()


def test_a_tampered_amount_is_ignored_when_partial_payments_are_off(
    page, three_due, sandbox_gateway
):
    total = sum((i.total for i in three_due), Decimal("0.00"))
    sign_in(page, MANAGER)
    page.goto("/pay/?all=due&add=card")
    expect(page.get_by_label("Total to pay")).to_have_count(0)
    expect(page.locator("input[name^=amount-]")).to_have_count(0)
    # What a tampered request would carry: an amount per line and a total of one dollar.
    page.evaluate(
        """(ids) => {
          const form = document.querySelector("form[data-confirm]");
          const add = (name, value) => {
            const input = document.createElement("input");
            input.type = "hidden"; input.name = name; input.value = value;
            form.appendChild(input);
          };
          ids.forEach((id) => add("amount-" + id, "1.00"));
          add("total", "1.00");
          form.querySelector("input[name=amount]").value = "1.00";
        }""",
        [i.pk for i in three_due],
    )
    pay_with_new_card(page, f"Pay {money(total)} to Harbor Point IT")
    assert [sale_amount(s) for s in sales_at_gateway(sandbox_gateway)] == [total]
    for invoice in three_due:
        invoice.refresh_from_db()
        assert invoice.amount_due == 0


def test_staff_choose_which_invoices_a_partial_refund_reduces(
    page, three_due, gateway, sandbox_gateway, screenshot
):
    from e2e.test_backoffice import sign_in_staff
    from remit.accounts.models import User
    from remit.audit.models import AuditEvent
    from tests.backoffice.test_refund_split import settled_payment

    manager = User.objects.get(email=MANAGER)
    payment = settled_payment(manager, three_due, gateway, sandbox_gateway)
    first, second, _third = three_due
    sign_in_staff(page)
    page.goto(f"/backoffice/payments/payment/{payment.pk}/refund/")
    page.get_by_label("Amount to refund").fill("30.00")
    page.get_by_label("Reason").fill("Credit for two services")
    page.get_by_label(f"Refund on invoice {first.number}").fill("20.00")
    page.get_by_label(f"Refund on invoice {second.number}").fill("5.00")
    page.get_by_role("button", name="Review the refund").click()
    expect(
        page.get_by_text("The amounts per invoice add up to $25.00; they must add up to the refund")
    ).to_be_visible()
    expect(page.get_by_label(f"Refund on invoice {first.number}")).to_have_value("20.00")
    assert_accessible(page)
    screenshot("refund-lines")
    page.get_by_label(f"Refund on invoice {second.number}").fill("10.00")
    page.get_by_role("button", name="Review the refund").click()
    expect(page.get_by_role("heading", name="Refund $30.00?")).to_be_visible()
    split = page.get_by_role("table", name=re.compile("as you entered them"))
    expect(split).to_contain_text(first.number)
    expect(split).to_contain_text("$20.00")
    expect(split).to_contain_text("$10.00")
    page.get_by_role("button", name="Yes, refund $30.00").click()
    expect(page.get_by_text("Refund of $30.00 succeeded.")).to_be_visible()
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.amount_due, second.amount_due) == (Decimal("20.00"), Decimal("10.00"))
    event = AuditEvent.objects.get(action="payment.refund_requested")
    assert event.details["invoices"] == {first.number: "20.00", second.number: "10.00"}
