"""The audit log: searchable by actor, action, date range and organization; read-only."""

import datetime

import pytest
from django.utils import timezone

from remit.audit.models import AuditEvent

URL = "/backoffice/audit/auditevent/"


@pytest.fixture
def events(northwind, contoso, staff, manager):
    now = timezone.now()
    return [
        AuditEvent.objects.create(
            action="auth.sign_in",
            actor=manager,
            actor_label=manager.email,
            organization=northwind,
            ip_address="203.0.113.7",
            summary="Signed in",
        ),
        AuditEvent.objects.create(
            action="payment.refund",
            actor=staff,
            actor_label=staff.email,
            organization=contoso,
            summary="Refund of $10.00: Succeeded",
        ),
        AuditEvent.objects.create(
            action="settings.changed",
            actor=staff,
            actor_label=staff.email,
            at=now - datetime.timedelta(days=30),
            summary="Provider settings changed: name",
        ),
    ]


@pytest.mark.django_db
class TestAuditLog:
    def found(self, client, query=""):
        response = client.get(URL + query)
        assert response.status_code == 200
        return [e.action for e in response.context["cl"].result_list]

    def test_search(self, as_staff, events, northwind):
        response = as_staff.get(URL + "?actor=harborpoint")
        found = response.context["cl"].result_list
        assert {e.actor_label for e in found} == {"staff@harborpoint.example"}
        assert {"payment.refund", "settings.changed"} <= {e.action for e in found}
        assert self.found(as_staff, "?action=payment.refund") == ["payment.refund"]
        assert self.found(as_staff, f"?organization__id__exact={northwind.pk}") == ["auth.sign_in"]
        today = timezone.localdate()
        old = self.found(as_staff, f"?at_to={today - datetime.timedelta(days=7)}")
        assert old == ["settings.changed"]
        assert self.found(as_staff, "?q=203.0.113.7") == ["auth.sign_in"]

    def test_it_shows_who_when_ip_and_outcome(self, as_staff, events):
        text = as_staff.get(URL + "?action=auth.sign_in").text
        assert "manager@northwind.example" in text
        assert "203.0.113.7" in text
        assert "Success" in text

    def test_it_is_read_only(self, as_staff, events):
        event = events[0]
        page = as_staff.get(f"{URL}{event.pk}/change/")
        assert page.status_code == 200
        assert "<form" not in page.text.split('id="content-main"')[1]
        assert as_staff.get(f"{URL}add/").status_code == 403
        assert as_staff.post(f"{URL}{event.pk}/delete/", {"post": "yes"}).status_code == 403
        assert AuditEvent.objects.filter(pk=event.pk).exists()

    def test_a_card_number_never_shows(self, as_staff, northwind):
        event = AuditEvent.objects.create(
            action="test",
            summary="paid with 4111 1111 1111 1111",
            details={"x": "4111111111111111"},
        )
        for url in [URL, f"{URL}{event.pk}/change/"]:
            text = as_staff.get(url).text
            assert "4111111111111111" not in text
            assert "4111 1111 1111 1111" not in text
            assert "••••1111" in text

    def test_sign_ins_to_the_back_office_are_there(self, client, staff):
        from tests.factories import PASSWORD

        client.post("/backoffice/login/", {"username": staff.email, "password": PASSWORD})
        assert AuditEvent.objects.filter(action="auth.sign_in", actor=staff).exists()
