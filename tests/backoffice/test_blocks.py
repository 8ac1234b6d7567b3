"""Card-testing blocks: staff see active and past blocks and lift one."""

import datetime

import pytest
from django.utils import timezone

from remit.payments.limits import active_block
from remit.payments.models import PaymentBlock
from tests.backoffice.conftest import audit

URL = "/backoffice/payments/paymentblock/"


@pytest.fixture
def blocks(manager):
    now = timezone.now()
    make = PaymentBlock.objects.create
    return {
        "active": make(
            scope="user",
            key=str(manager.pk),
            label=manager.email,
            reason="5 failed payments within an hour",
            expires_at=now + datetime.timedelta(hours=1),
        ),
        "expired": make(
            scope="ip",
            key="203.0.113.9",
            label="203.0.113.9",
            reason="10 failed payments",
            created_at=now - datetime.timedelta(hours=3),
            expires_at=now - datetime.timedelta(hours=2),
        ),
    }


@pytest.mark.django_db
class TestBlocks:
    def listed(self, client, query=""):
        return {b.key for b in client.get(URL + query).context["cl"].result_list}

    def test_staff_see_active_and_past_blocks(self, as_staff, blocks, manager):
        assert self.listed(as_staff) == {str(manager.pk), "203.0.113.9"}
        assert self.listed(as_staff, "?status=active") == {str(manager.pk)}
        assert self.listed(as_staff, "?status=expired") == {"203.0.113.9"}
        text = as_staff.get(URL).text
        assert "5 failed payments within an hour" in text

    def test_staff_lift_a_block(self, as_staff, blocks, manager, staff):
        block = blocks["active"]
        assert active_block(manager, None) == block
        page = as_staff.get(f"{URL}{block.pk}/change/")
        assert "Lift this block" in page.text
        response = as_staff.post(f"{URL}{block.pk}/lift/")
        assert response.status_code == 302
        block.refresh_from_db()
        assert block.lifted_by == staff
        assert active_block(manager, None) is None
        assert audit("payment_block.lifted", actor=staff).count() == 1
        assert self.listed(as_staff, "?status=lifted") == {str(manager.pk)}

    def test_the_bulk_action(self, as_staff, blocks):
        as_staff.post(
            URL, {"action": "lift_blocks", "_selected_action": [b.pk for b in blocks.values()]}
        )
        assert not PaymentBlock.objects.filter(lifted_at__isnull=True).exists()
        assert audit("payment_block.lifted").count() == 2

    def test_blocks_are_not_edited(self, as_staff, blocks):
        block = blocks["active"]
        as_staff.post(f"{URL}{block.pk}/change/", {"reason": "changed"})
        block.refresh_from_db()
        assert block.reason == "5 failed payments within an hour"
