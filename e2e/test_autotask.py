"""Staff connect the Autotask sandbox, run Sync now and watch it finish; a contact of a synced
company, invited, signs in, sees the company's invoices and pays one."""

import re

from django.core import mail
from django.db import transaction
from playwright.sync_api import expect

from e2e.conftest import sign_in
from e2e.test_backoffice import sign_in_staff
from e2e.test_make_payment import fill_address, fill_card, open_window, process_and_confirm
from remit.accounts.models import SecurityLevel, User
from remit.billing.models import Invoice
from remit.testing.autotask_sandbox import AutotaskSandboxProcess
from tests.payments.conftest import run_worker


def test_staff_connect_autotask_sync_and_a_synced_client_pays(page, demo_data, gateway, screenshot):
    with AutotaskSandboxProcess(companies=3, contacts_per_company=1, invoices=6) as sandbox:
        sign_in_staff(page)
        page.get_by_role("navigation", name="Back office").get_by_role(
            "link", name="Autotask"
        ).click()
        expect(page.get_by_role("heading", name="Connect Autotask")).to_be_visible()
        page.get_by_label("API user:", exact=True).fill(sandbox.username)
        page.get_by_label("Secret:", exact=True).fill(sandbox.secret)
        page.get_by_label("Integration code").fill(sandbox.integration_code)
        page.get_by_label("Zone lookup URL").fill(sandbox.zone_lookup_url)
        page.get_by_label("Customer").check()
        page.get_by_role("button", name="Save", exact=True).click()
        expect(page.get_by_text("The Autotask connection was saved.")).to_be_visible()
        page.get_by_role("button", name="Test connection").click()
        expect(page.get_by_text("Connected to Autotask")).to_be_visible()
        screenshot("autotask-connected")

        page.get_by_role("button", name="Sync now").click()
        expect(page.get_by_text("Waiting for the background worker")).to_be_visible()
        expect(page.get_by_role("progressbar", name="Sync progress")).to_be_visible()
        with transaction.atomic():  # the background worker, in the test's thread
            assert run_worker() == 1
        expect(page.get_by_text("Succeeded")).to_be_visible()  # the page polled by itself
        counts = page.get_by_role("table", name="What was synced")
        expect(counts.get_by_role("row", name=re.compile("^Invoices 6"))).to_be_visible()
        screenshot("autotask-synced")

    # Staff choose one synced contact to invite, as Manager; the invitation email goes out.
    contact = User.objects.filter(external_id__startswith="autotask:contact:").first()
    assert not contact.is_active
    page.goto("/backoffice/psa/psaconnection/")
    page.get_by_role("link", name=re.compile("Invite contacts")).click()
    page.get_by_label(re.compile(re.escape(contact.email))).check()
    page.get_by_label("Security level").select_option(label=SecurityLevel.MANAGER)
    screenshot("autotask-invite")
    page.get_by_role("button", name="Invite selected contacts").click()
    expect(page.get_by_text("Invited 1 contact(s).")).to_be_visible()
    with transaction.atomic():
        assert run_worker() == 1  # the outbox sends the invitation
    link = re.search(r"https?://\S+/invite/\S+", mail.outbox[-1].body).group(0)

    # The contact opens the link and chooses a password.
    page.context.clear_cookies()
    page.goto(link)
    page.get_by_label("New password", exact=True).fill("a-long-client-passphrase-26")
    page.get_by_label("New password confirmation").fill("a-long-client-passphrase-26")
    page.get_by_role("button", name="Save my password").click()
    contact.refresh_from_db()
    assert contact.has_usable_password()

    page.context.clear_cookies()
    sign_in(page, contact.email, "a-long-client-passphrase-26")
    synced = Invoice.objects.filter(organization=contact.organization).order_by("number")
    number = synced.first().number
    page.goto("/reports/invoices/")
    for invoice in synced:
        expect(page.get_by_role("link", name=invoice.number, exact=True)).to_be_visible()
    page.get_by_role("link", name=number, exact=True).click()
    dialog = open_window(page)
    fill_address(dialog)
    fill_card(page)  # the gateway's hosted fields
    process_and_confirm(dialog, "Pay $")
    expect(dialog.get_by_text("Payment has been processed")).to_be_visible()
    screenshot("autotask-client-paid", full_page=False)
    assert (
        Invoice.objects.get(number=number).amount_paid == Invoice.objects.get(number=number).total
    )
