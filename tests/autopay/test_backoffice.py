"""Autopay in the back office: enrolments with the method masked and the consent, the upcoming
charges of the next 14 days, attempts and the reminder log, pause and resume (audited), and staff
enrolling a client on its behalf with the written consent as a note, locked."""

import datetime

import pytest
from django.urls import reverse

from remit.audit.models import AuditEvent
from remit.autopay.models import Enrolment
from remit.autopay.reminders import run_reminders
from remit.core.models import Provider
from tests.autopay.conftest import due_on, enrol_manager
from tests.factories import sign_in_staff


@pytest.fixture
def as_staff(client, staff):
    sign_in_staff(client, staff)
    return client


def test_enrolments_upcoming_charges_attempts_and_reminders(
    as_staff, clock, gateway, manager, northwind, saved_visa
):
    from remit.autopay.charge import run_autopay

    enrol_manager(manager, saved_visa, cap="500.00")
    due_on(northwind, datetime.date(2026, 12, 10), total="1234.00", number="NW-2101")
    due_on(northwind, datetime.date(2026, 12, 1), total="20.00", number="NW-2102")
    run_autopay(gateway=gateway)
    provider = Provider.load()
    provider.reminders_enabled = True
    provider.save()
    run_reminders(today=datetime.date(2026, 12, 7))

    listing = as_staff.get(reverse("admin:autopay_enrolment_changelist")).text
    assert "Visa •••• 1111" in listing
    assert "4111111111111111" not in listing
    upcoming = as_staff.get(reverse("admin:autopay_enrolment_upcoming")).text
    assert "NW-2101" in upcoming
    assert "Above the cap of $500.00" in upcoming
    attempts = as_staff.get(reverse("admin:autopay_attempt_changelist")).text
    assert "NW-2102" in attempts
    assert "Charged" in attempts
    log = as_staff.get(reverse("admin:autopay_reminder_changelist")).text
    assert "NW-2101" in log
    assert "before-3" in log


def test_pause_and_resume_are_audited(as_staff, clock, manager, saved_visa):
    enrolment = enrol_manager(manager, saved_visa)
    url = reverse("admin:autopay_enrolment_changelist")
    as_staff.post(url, {"action": "pause_selected", "_selected_action": [enrolment.pk]})
    enrolment.refresh_from_db()
    assert enrolment.paused_at is not None
    as_staff.post(url, {"action": "resume_selected", "_selected_action": [enrolment.pk]})
    enrolment.refresh_from_db()
    assert enrolment.paused_at is None
    assert AuditEvent.objects.filter(action="autopay.paused").exists()
    assert AuditEvent.objects.filter(action="autopay.resumed").exists()


def test_staff_enrol_on_the_clients_behalf_with_a_consent_note_and_lock(
    as_staff, staff, clock, manager, saved_visa, autopay_provider
):
    url = reverse("admin:autopay_enrolment_add")
    form = {
        "payment_method": saved_visa.pk,
        "trigger_choice": "due_date",
        "cap_amount": "",
        "consent_note": "",
        "locked": "on",
    }
    refused = as_staff.post(url, {**form, "consent_note": "Signed form"})
    assert "Staff enrolment is turned off" in refused.text
    autopay_provider.autopay_staff_may_enrol = True
    autopay_provider.save()
    missing = as_staff.post(url, form)
    assert "This field is required" in missing.text
    as_staff.post(url, {**form, "consent_note": "Signed autopay form, ticket #4411"})
    enrolment = Enrolment.objects.get()
    assert enrolment.enrolled_by == staff
    assert enrolment.user == manager
    assert enrolment.locked
    assert enrolment.consent_note == "Signed autopay form, ticket #4411"


def test_autopay_on_needs_a_trigger_in_the_provider_settings(as_staff, provider):
    url = reverse("admin:core_provider_change", args=[provider.pk])
    form = as_staff.get(url).context["adminform"].form
    data = {
        name: value
        for name, value in form.initial.items()
        if value not in (None, False) and name in form.fields
    }
    response = as_staff.post(url, {**data, "autopay_enabled": "on"})
    assert "Allow charging on the due date, or list days" in response.text
    response = as_staff.post(
        url, {**data, "autopay_enabled": "on", "autopay_days_after_invoice": "7, 30"}
    )
    assert response.status_code == 302
    provider.refresh_from_db()
    assert provider.autopay_allowed_days == [7, 30]
