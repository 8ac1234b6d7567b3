"""Card-testing defence: past a limit, payment pauses with a clear message and no gateway call;
the counters live in the database; staff lift a block."""

import pytest

from remit.audit.models import AuditEvent
from remit.payments.limits import active_block, lift_block
from remit.payments.models import PaymentBlock, PaymentState
from remit.payments.services import PaymentRefused
from tests.factories import make_invoice, manager_of
from tests.payments.conftest import DECLINED_CARD, new_card, sales_at_gateway

pytestmark = pytest.mark.django_db


@pytest.fixture
def tight_limits(settings):
    settings.PAYMENT_LIMITS = {
        "failures_per_user_per_hour": 3,
        "failures_per_organization_per_hour": 5,
        "failures_per_ip_per_hour": 4,
        "new_methods_per_user_per_day": 10,
        "new_methods_per_organization_per_day": 20,
        "new_methods_per_ip_per_day": 20,
    }


def test_failures_pause_the_user_without_calling_the_gateway(
    pay, due_invoice, manager, sandbox_gateway, tight_limits, staff
):
    for _ in range(3):
        assert pay(due_invoice, new_card(DECLINED_CARD)).state == PaymentState.DECLINED
    sales_before = len(sales_at_gateway(sandbox_gateway))
    with pytest.raises(PaymentRefused) as refused:
        pay(due_invoice, new_card())
    assert refused.value.code == "blocked"
    assert "paused" in refused.value.message
    assert "Harbor Point IT" in refused.value.message
    assert len(sales_at_gateway(sandbox_gateway)) == sales_before
    block = PaymentBlock.objects.get(scope="user", key=str(manager.pk))
    assert block.active
    assert "3 failed payments within an hour" in block.reason
    assert AuditEvent.objects.filter(action="payment_block.created").exists()

    lift_block(block, acting_user=staff)
    assert active_block(manager, "203.0.113.7") is None
    assert pay(due_invoice, new_card()).state == PaymentState.APPROVED
    assert AuditEvent.objects.filter(action="payment_block.lifted", actor=staff).exists()


def test_an_ip_is_paused_across_users(pay, northwind, contoso, sandbox_gateway, tight_limits):
    """Four failures from one address, by two people of two organizations."""
    first = manager_of(northwind, email="a@northwind.example")
    second = manager_of(contoso, email="b@contoso.example")
    invoices = [make_invoice(northwind), make_invoice(contoso)]
    for n in range(4):
        user = first if n % 2 == 0 else second
        pay(invoices[n % 2], new_card(DECLINED_CARD), user=user, ip="198.51.100.9")
    with pytest.raises(PaymentRefused):
        pay(invoices[1], new_card(), user=second, ip="198.51.100.9")
    assert PaymentBlock.objects.filter(scope="ip", key="198.51.100.9").exists()
    # The same person from another address is not stopped by the IP block.
    assert pay(invoices[1], new_card(), user=second, ip="192.0.2.44").state == PaymentState.APPROVED


def test_too_many_new_cards_in_a_day(pay, northwind, manager, sandbox_gateway, settings):
    settings.PAYMENT_LIMITS = {
        **settings.PAYMENT_LIMITS,
        "new_methods_per_user_per_day": 2,
    }
    for _ in range(2):
        pay(make_invoice(northwind, total="5.00"), new_card())
    before = len(sales_at_gateway(sandbox_gateway))
    with pytest.raises(PaymentRefused, match="paused"):
        pay(make_invoice(northwind, total="5.00"), new_card())
    assert len(sales_at_gateway(sandbox_gateway)) == before


def test_the_block_that_stops_a_payer_is_the_latest_one_in_force_on_any_of_their_scopes(
    manager, northwind
):
    """active_block (its query built once per process) answers as the ORM's query does: blocks
    lifted, expired or on someone else's scopes do not stop the payer; of those in force, the one
    that ends last is shown."""
    import datetime

    from django.utils import timezone

    from remit.payments.limits import _active_block_query

    now = timezone.now()
    hour = datetime.timedelta(hours=1)
    other = manager_of(northwind)  # a colleague: same organization

    def block(scope, key, expires, lifted=False):
        return PaymentBlock.objects.create(
            scope=scope,
            key=key,
            reason="test",
            expires_at=expires,
            lifted_at=now if lifted else None,
        )

    def expected(ip):
        keys = {"user": str(manager.pk), "organization": str(manager.organization_id)}
        if ip:
            keys["ip"] = ip
        return _active_block_query(timezone.now(), **keys).first()

    assert active_block(manager, "203.0.113.7") is None
    assert active_block(manager, None) is None
    block("user", str(manager.pk), now - hour)  # expired
    block("user", str(manager.pk), now + 5 * hour, lifted=True)  # lifted
    block("user", str(other.pk), now + 5 * hour)  # the colleague's
    block("ip", "198.51.100.1", now + 6 * hour)  # another address
    assert active_block(manager, "203.0.113.7") is None
    organization_wide = block("organization", str(manager.organization_id), now + hour)
    assert active_block(manager, None) == organization_wide == expected(None)
    by_address = block("ip", "203.0.113.7", now + 3 * hour)
    assert active_block(manager, "203.0.113.7") == by_address == expected("203.0.113.7")
    assert active_block(manager, None) == organization_wide  # no address: not the IP's block
    assert active_block(other, "198.51.100.1").scope == "ip"  # the colleague's own, ends last
