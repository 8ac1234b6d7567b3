"""The back office in a browser: MFA set-up from the invitation link, payment options, refunds and
voids through the sandbox gateway, the CSV import's progress."""

import re
import uuid
from decimal import Decimal

import pytest
from django.db import transaction
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from e2e.conftest import sign_in
from e2e.test_make_payment import payment_window
from remit.accounts.models import User
from remit.billing.models import Invoice
from remit.payments.models import PaymentState
from remit.payments.services import pay_invoice, reconcile_payment
from tests.payments.conftest import new_bank, new_card, run_worker

STAFF = "staff@harborpoint.example"
PASSWORD = "remit-demo-2026"


def code_for(device: TOTPDevice) -> str:
    device.refresh_from_db()
    return f"{totp(device.bin_key, step=device.step, digits=device.digits):06d}"


def sign_in_staff(page, *, set_up: bool = True) -> None:
    """Email and password, then the code from the (already set up) authenticator app."""
    staff = User.objects.get(email=STAFF)
    if set_up:
        TOTPDevice.objects.get_or_create(user=staff, confirmed=True, defaults={"name": "Phone"})
    page.goto("/backoffice/login/")
    page.get_by_label("Email").fill(STAFF)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    if set_up:
        page.wait_for_url("**/backoffice/mfa/verify/**")
        page.get_by_label("Six-digit code").fill(code_for(TOTPDevice.objects.get(user=staff)))
        page.get_by_role("button", name="Verify").click()
        expect(page.locator("#logout-form")).to_be_visible()


def paid_invoice(gateway, choice, number: str = "NW-1001"):
    """The demo manager pays an invoice through the sandbox (as the Make a Payment window does)."""
    invoice = Invoice.objects.get(number=number)
    payment = pay_invoice(
        user=User.objects.get(email="manager@northwind.example"),
        invoice=invoice,
        attempt_key=uuid.uuid4(),
        choice=choice,
        ip_address="203.0.113.7",
        gateway=gateway,
    )
    assert payment.state in (PaymentState.APPROVED, PaymentState.PENDING)
    return invoice, payment


def test_new_staff_set_up_mfa_from_their_invitation_link(page, demo_data, screenshot):
    from remit.backoffice.invitations import invitation_url, issue_staff_invitation

    # The password alone does not get a newcomer anywhere: it takes the link.
    sign_in_staff(page, set_up=False)
    expect(page.get_by_text("Open the set-up link in your invitation email")).to_be_visible()
    screenshot("password-alone")

    link = invitation_url(issue_staff_invitation(User.objects.get(email=STAFF)), base_url="")
    for width in (390, 1280):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(link)
        page.wait_for_url("**/backoffice/invitation/set-up/")
        expect(page.get_by_role("heading", name="Set up two-step sign-in")).to_be_visible()
        expect(page.get_by_role("img", name="QR code for your authenticator app")).to_be_visible()
        screenshot(f"invitation-{width}")
    secret = page.get_by_label("Secret key").inner_text()
    assert re.fullmatch(r"([A-Z2-7]{4} ?)+", secret)

    device = TOTPDevice.objects.get(user__email=STAFF)
    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_label("Enter the six-digit code the app shows").fill(code_for(device))
    page.get_by_role("button", name="Confirm and sign in").click()
    expect(page.get_by_text("payments today")).to_be_visible()
    device.refresh_from_db()
    assert device.confirmed
    screenshot("dashboard")

    # The link worked once.
    page.goto(link)
    expect(page.get_by_text("This link has been used already")).to_be_visible()
    page.console_errors.clear()  # the browser logs the 410 it was meant to get


def test_echeck_only_is_all_a_client_is_offered(page, demo_data, gateway, screenshot):
    sign_in_staff(page)
    page.get_by_role("link", name="Provider settings").first.click()
    expect(page.get_by_role("heading", name="Provider settings")).to_be_visible()
    page.get_by_label("eCheck only").check()
    screenshot("settings")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text("The settings were saved.")).to_be_visible()
    page.locator("#logout-form button").click()

    sign_in(page, "manager@northwind.example")
    page.goto("/reports/invoices/")
    page.get_by_role("link", name="NW-1001").click()
    page.get_by_role("link", name="Process Payment").click()
    window = payment_window(page)  # no saved method: the page of its own, with the gateway's fields
    expect(window).to_be_visible()
    expect(window.get_by_text("Add Bank Information (eCheck)")).to_be_visible()
    expect(window.get_by_text("Add Credit Card")).to_have_count(0)
    expect(window.get_by_text("New credit card")).to_have_count(0)
    screenshot("client-window")


def test_a_staff_refund_restores_the_amount_due(
    page, demo_data, gateway, sandbox_gateway, screenshot
):
    invoice, payment = paid_invoice(gateway, new_card())
    sandbox_gateway.settle()
    assert reconcile_payment(payment.pk) == PaymentState.SETTLED
    invoice.refresh_from_db()
    assert invoice.amount_due == Decimal("0.00")

    sign_in_staff(page)
    page.get_by_role("link", name="Payments").first.click()
    page.get_by_label("Invoice").fill("NW-1001")
    page.get_by_role("button", name="Apply").first.click()
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Settled")
    screenshot("payment-search")
    rows.first.get_by_role("link").first.click()

    expect(page.get_by_role("heading", name=f"Payment {payment.order_id}")).to_be_visible()
    page.get_by_role("link", name="Refund", exact=True).click()
    page.get_by_label("Amount to refund").fill("100.00")
    page.get_by_label("Reason").fill("Service credit for the outage")
    page.get_by_role("button", name="Review the refund").click()
    expect(page.get_by_role("heading", name="Refund $100.00?")).to_be_visible()
    expect(page.get_by_text("Visa •••• 1111", exact=True)).to_be_visible()
    expect(page.get_by_text(f"{invoice.number} · Northwind Traders")).to_be_visible()
    screenshot("refund-confirm")
    page.get_by_role("button", name="Yes, refund $100.00").click()

    expect(page.get_by_text("Refund of $100.00 succeeded.")).to_be_visible()
    children = page.get_by_role("region", name="Refunds and voids (child transactions)")
    expect(children).to_contain_text("Succeeded")
    expect(children).to_contain_text("$100.00")
    expect(page.get_by_text("Partially refunded").first).to_be_visible()
    screenshot("payment-after-refund")
    invoice.refresh_from_db()
    assert invoice.amount_due == Decimal("100.00")

    page.get_by_role("link", name=f"Invoice {invoice.number}").click()
    expect(page.locator(".invoice-summary")).to_contain_text("due $100.00")


def test_a_staff_void_before_settlement_restores_the_amount_due(
    page, demo_data, gateway, screenshot
):
    invoice, payment = paid_invoice(gateway, new_bank(), number="NW-1002")
    assert payment.state == PaymentState.PENDING
    sign_in_staff(page)
    page.goto(f"/backoffice/payments/payment/{payment.pk}/change/")
    expect(page.get_by_role("region", name="Debit authorization (eCheck)")).to_be_visible()
    page.get_by_role("link", name="Void payment").click()
    expect(page.get_by_role("heading", name="Void this payment?")).to_be_visible()
    page.get_by_label("Reason").fill("Paid by wire instead")
    screenshot("void-confirm")
    page.get_by_role("button", name="Yes, void the payment").click()
    expect(page.get_by_text(re.compile(r"Void of \$[\d,.]+ succeeded"))).to_be_visible()
    payment.refresh_from_db()
    invoice.refresh_from_db()
    assert payment.state == PaymentState.VOIDED
    assert invoice.amount_due == invoice.total


@pytest.mark.usefixtures("demo_data")
def test_the_csv_import_shows_its_progress_and_result(page, screenshot, tmp_path):
    csv_file = tmp_path / "july.csv"
    csv_file.write_text(
        "invoice_number,organization,invoice_date,due_date,description,quantity,unit_price\n"
        "NW-9001,Northwind Traders,2026-07-01,2026-07-31,Managed IT services,24,95.00\n"
        "NW-9001,,,,Microsoft 365 licenses,24,22.00\n"
        "CT-9001,Contoso Ltd,2026-07-01,2026-07-31,Backup,1,149.00\n"
    )
    sign_in_staff(page)
    page.goto("/backoffice/billing/invoice/")
    page.get_by_role("link", name="Import CSV").click()
    page.get_by_label("CSV file").set_input_files(str(csv_file))
    page.get_by_role("button", name="Upload and import").click()
    expect(page.get_by_text("Waiting to start")).to_be_visible()
    expect(page.locator("progress")).to_be_visible()

    # The background worker, here in the test's thread (its job claim needs a transaction).
    with transaction.atomic():
        assert run_worker() == 1
    expect(page.get_by_text("Imported 2 invoice(s) from 3 row(s).")).to_be_visible()  # polled
    screenshot("import-done")
    assert Invoice.objects.get(number="NW-9001").total == Decimal("2808.00")


def test_staff_draft_an_invoice_and_look_around(page, demo_data, screenshot):
    """A draft with lines (the admin's "add another" script runs under the CSP), issued; then the
    pages staff use daily, each loaded without a console error."""
    sign_in_staff(page)
    page.get_by_role("link", name="Invoices", exact=True).first.click()
    page.get_by_role("link", name="Add invoice").click()
    page.get_by_label("Organization").select_option(label="Contoso Ltd")
    page.get_by_label("Invoice Number").fill("CT-5001")
    page.get_by_label("Invoice Date").fill("2026-07-01")
    page.get_by_label("Date Due").fill("2026-07-31")
    page.get_by_label("Tax").fill("9.31")
    rows = page.locator("tr.form-row.dynamic-lines")
    rows.nth(0).locator("input[name$='-description']").fill("Managed IT services")
    rows.nth(0).locator("input[name$='-quantity']").fill("11")
    rows.nth(0).locator("input[name$='-unit_price']").fill("95.00")
    page.locator("tr.add-row a").click()  # the admin's inline script
    rows.nth(2).locator("input[name$='-description']").fill("Backup")
    rows.nth(2).locator("input[name$='-unit_price']").fill("149.00")
    rows.nth(1).locator("input[name$='-description']").fill("Microsoft 365 licenses")
    rows.nth(1).locator("input[name$='-quantity']").fill("11")
    rows.nth(1).locator("input[name$='-unit_price']").fill("22.00")
    screenshot("invoice-draft")
    page.get_by_role("button", name="Save and continue editing").click()
    expect(page.locator(".invoice-summary")).to_contain_text("Total $1,445.31")
    page.get_by_role("button", name="Issue invoice").click()
    expect(page.get_by_text("Invoice CT-5001 is issued.")).to_be_visible()
    screenshot("invoice-issued")
    assert Invoice.objects.get(number="CT-5001").state == "issued"

    page.get_by_role("link", name="Audit log").first.click()
    expect(page.get_by_text("invoice.issued").first).to_be_visible()
    screenshot("audit-log")
    page.get_by_role("link", name="Users", exact=True).first.click()
    expect(page.get_by_text("manager@northwind.example")).to_be_visible()
    screenshot("users")
    page.get_by_role("link", name="Organizations").first.click()
    page.get_by_role("link", name="Northwind Traders").click()
    page.get_by_role("link", name="Invite a user").click()
    expect(page.get_by_label("Organization")).to_have_value(
        str(Invoice.objects.get(number="NW-1001").organization_id)
    )
    screenshot("invite")
    page.goto("/backoffice/accounts/securitylevel/")
    page.get_by_role("link", name="User", exact=True).click()
    expect(page.get_by_role("checkbox", name="View invoices and financial data")).to_be_visible()
