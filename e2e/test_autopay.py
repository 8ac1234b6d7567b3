"""A client enrols in autopay with a saved card, sees the next charge date, and cancels."""

import datetime
import re

from playwright.sync_api import expect

from e2e.conftest import sign_in


def test_manager_enrols_with_a_saved_card_sees_the_next_charge_and_cancels(
    page, demo_data, screenshot
):
    from remit.accounts.models import User
    from remit.core.models import Provider
    from remit.payments.models import PaymentMethod

    provider = Provider.load()
    provider.autopay_enabled = True
    provider.autopay_on_due_date = True
    provider.autopay_days_after_invoice = "15"
    provider.save()
    manager = User.objects.get(email="manager@northwind.example")
    PaymentMethod.objects.create(
        owner=manager,
        kind="card",
        vault_id="demo-vault-e2e",
        brand="Visa",
        last4="1111",
        exp_month=12,
        exp_year=datetime.date.today().year + 3,
        holder_name="Nancy Davolio",
        initial_transaction_id="3000000001",
    )

    sign_in(page, "manager@northwind.example")
    page.get_by_role("link", name="Payment methods").click()
    page.get_by_role("link", name="Autopay and reminders").click()
    expect(page.get_by_role("heading", name="Pay invoices automatically")).to_be_visible()
    page.get_by_label(re.compile(r"Visa •••• 1111")).check()
    page.get_by_label("On the due date").check()
    page.get_by_label("Cap per invoice (optional)").fill("-3")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_text("Enter a cap above zero")).to_be_visible()
    expect(page.get_by_label("Cap per invoice (optional)")).to_have_value("-3")
    page.get_by_label("Cap per invoice (optional)").fill("")
    page.get_by_role("button", name="Continue").click()
    consent = page.locator("[data-consent-text]")
    expect(consent).to_contain_text("I authorize Harbor Point IT to charge Visa •••• 1111")
    screenshot("consent")
    page.get_by_role("button", name="I agree, turn on autopay").click()

    expect(page.get_by_role("heading", name="Autopay is on")).to_be_visible()
    expect(page.locator("[data-autopay-method]")).to_have_text("Visa •••• 1111")
    expect(page.locator("[data-next-charge]")).to_have_text(
        re.compile(r"Invoice NW-\d+, \$[\d,]+\.\d\d on [A-Z][a-z]{2} \d{1,2}, \d{4}")
    )
    screenshot("enrolled")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot("enrolled-phone")
    page.set_viewport_size({"width": 1280, "height": 900})

    page.get_by_role("button", name="Cancel autopay").click()
    expect(page.get_by_text("Autopay is cancelled.")).to_be_visible()
    expect(page.get_by_role("heading", name="Set up autopay")).to_be_visible()
