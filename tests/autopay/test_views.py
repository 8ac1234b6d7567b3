"""The client's autopay page: terms, then the exact consent text to agree to (recorded with version,
time, user and IP, and emailed); bad input refused next to its field with nothing written; cancel
in one click; no page without "View invoices and financial data"."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils.html import escape

from remit.audit.models import AuditEvent
from remit.autopay import consent
from remit.autopay.models import Enrolment
from remit.payments.models import PaymentMethod
from tests.autopay.conftest import enrol_manager, send_emails

URL = reverse("autopay")


@pytest.fixture
def signed_in(client, manager, saved_visa):
    client.force_login(manager)
    return client


def terms(method, trigger="due_date", cap=""):
    return {"payment_method": str(method.pk), "trigger": trigger, "cap": cap}


def test_enrol_in_two_steps_and_the_consent_is_recorded_and_emailed(signed_in, manager, saved_visa):
    send_emails()
    step_one = signed_in.post(URL, terms(saved_visa, cap="2500.00"))
    assert step_one.status_code == 200
    assert not Enrolment.objects.exists()  # nothing until the text is agreed to
    text = step_one.context["confirm_text"]
    assert "Harbor Point IT to charge Visa •••• 1111" in text
    assert "up to $2,500.00 per invoice" in text
    assert "at least 7 days before" in text
    assert escape(text) in step_one.text

    done = signed_in.post(
        URL, {**terms(saved_visa, cap="2500.00"), "agree": consent.VERSION}, follow=True
    )
    assert "Autopay is on" in done.text
    enrolment = Enrolment.objects.get()
    assert enrolment.consent_text == text
    assert enrolment.consent_version == consent.VERSION
    assert enrolment.enrolled_by == manager
    assert enrolment.consent_ip == "127.0.0.1"
    assert enrolment.cap == Decimal("2500.00")
    assert AuditEvent.objects.filter(action="autopay.enrolled").exists()
    [confirmation] = [m for m in send_emails() if m.subject.startswith("Autopay is on")]
    assert text in confirmation.body
    assert "manager@northwind.example" in confirmation.to


@pytest.mark.parametrize(
    ("cap", "message"),
    [
        ("-5", "Enter a cap above zero"),
        ("12.345", "at most two decimals"),
        ("99999999999", "above any invoice"),
        ("lots", "Enter an amount"),
    ],
)
def test_a_bad_cap_is_refused_next_to_the_field(signed_in, saved_visa, cap, message):
    response = signed_in.post(URL, terms(saved_visa, cap=cap))
    assert message in str(response.context["form"].errors["cap"])
    assert 'id="id_cap_error"' in response.text
    assert f'value="{cap}"' in response.text  # what was typed is kept
    assert not Enrolment.objects.exists()


def test_a_trigger_the_provider_does_not_allow_is_refused(signed_in, saved_visa):
    response = signed_in.post(URL, terms(saved_visa, trigger="after:3"))
    assert "Select a valid choice" in str(response.context["form"].errors["trigger"])
    assert not Enrolment.objects.exists()


def test_another_users_method_is_refused(signed_in, saved_visa, other_manager):
    theirs = PaymentMethod.objects.create(
        owner=other_manager, kind="card", vault_id="v-other", brand="Visa", last4="4242"
    )
    response = signed_in.post(URL, terms(theirs))
    assert response.context["form"].errors["payment_method"]
    assert not Enrolment.objects.exists()


def test_an_expired_card_is_refused(signed_in, saved_visa):
    saved_visa.exp_year = datetime.date.today().year - 1
    saved_visa.save()
    response = signed_in.post(URL, terms(saved_visa))
    assert "That card has expired" in str(response.context["form"].errors["payment_method"])
    assert not Enrolment.objects.exists()


def test_the_page_shows_the_next_charge_and_cancel_is_one_click(
    signed_in, manager, northwind, saved_visa
):
    from tests.autopay.conftest import due_on

    enrol_manager(manager, saved_visa)
    due_on(northwind, datetime.date(2026, 12, 20), total="321.00", number="NW-1901")
    page = signed_in.get(URL)
    assert "Invoice NW-1901, $321.00 on Dec 20, 2026" in page.text
    send_emails()
    done = signed_in.post(reverse("autopay_cancel"), follow=True)
    assert "Autopay is cancelled" in done.text
    assert not Enrolment.objects.active().exists()
    assert [m.subject for m in send_emails()] == ["Autopay has ended for Northwind Traders"]


def test_a_locked_enrolment_cannot_be_cancelled_by_the_client(signed_in, manager, saved_visa):
    enrolment = enrol_manager(manager, saved_visa)
    Enrolment.objects.filter(pk=enrolment.pk).update(locked=True)
    response = signed_in.post(reverse("autopay_cancel"), follow=True)
    assert "locked" in response.text
    assert Enrolment.objects.active().exists()


def test_no_autopay_page_without_the_financials_permission(client, plain_user, autopay_provider):
    client.force_login(plain_user)
    assert client.get(URL).status_code == 404
    assert client.post(reverse("autopay_cancel")).status_code == 404


def test_the_payment_methods_page_links_to_autopay(signed_in):
    assert URL in signed_in.get(reverse("payment_methods")).text
