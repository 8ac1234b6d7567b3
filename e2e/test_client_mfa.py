"""A client turns on two-step sign-in from the account page, then signs in with the app's code and
with a recovery code."""

import re

from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from e2e.conftest import sign_in

MANAGER = "manager@northwind.example"


def app_code(device: TOTPDevice, *, ahead: int = 0) -> str:
    """What the phone shows; `ahead` steps later (the device accepts one step of drift), so a
    second sign-in within the same 30 seconds need not wait for a fresh code."""
    device.refresh_from_db()
    return f"{totp(device.bin_key, step=device.step, digits=device.digits, drift=ahead):06d}"


def both_widths(page, screenshot, name: str) -> None:
    for width in (390, 1280):
        page.set_viewport_size({"width": width, "height": 900})
        screenshot(f"{name}-{width}")


def test_a_client_turns_on_mfa_and_signs_in_with_it(page, demo_data, screenshot):
    sign_in(page, MANAGER)
    page.get_by_title("Your account").click()
    expect(page.get_by_role("heading", name="Your account")).to_be_visible()
    expect(page.get_by_text("You sign in with your password alone.")).to_be_visible()
    both_widths(page, screenshot, "account-off")

    page.get_by_role("link", name="Turn on two-step sign-in").click()
    expect(page.get_by_role("heading", name="Set up two-step sign-in")).to_be_visible()
    expect(page.get_by_role("img", name="QR code for your authenticator app")).to_be_visible()
    assert re.fullmatch(r"([A-Z2-7]{4} ?)+", page.get_by_label("Secret key").inner_text())
    both_widths(page, screenshot, "setup")
    device = TOTPDevice.objects.get(user__email=MANAGER)
    page.get_by_label("Enter the six-digit code the app shows").fill(app_code(device))
    page.get_by_role("button", name="Turn on two-step sign-in").click()

    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    codes = page.get_by_role("list", name="Recovery codes").locator("code").all_inner_texts()
    assert len(codes) == 10
    both_widths(page, screenshot, "recovery-codes")
    page.get_by_role("link", name="I have saved them — continue").click()
    expect(page.get_by_role("heading", name=re.compile("Welcome"))).to_be_visible()
    page.get_by_role("button", name="Sign out").click()

    # Password, then the code from the app.
    sign_in(page, MANAGER)
    page.wait_for_url("**/login/code/**")
    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    both_widths(page, screenshot, "code")
    page.goto("/reports/invoices/")  # no invoices before the code
    page.wait_for_url("**/login/code/?next=*")
    page.get_by_label("Code from your authenticator app, or a recovery code").fill(
        app_code(device, ahead=1)
    )
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("heading", name="Invoices")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()

    # No phone: a recovery code, once.
    sign_in(page, MANAGER)
    page.wait_for_url("**/login/code/**")
    page.get_by_label("Code from your authenticator app, or a recovery code").fill(codes[0])
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_text("You used a recovery code; 9 left.")).to_be_visible()
    page.get_by_title("Your account").click()
    expect(page.get_by_text("Recovery codes left: 9")).to_be_visible()
    both_widths(page, screenshot, "account-on")
