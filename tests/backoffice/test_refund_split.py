"""The refund page of a payment of several invoices: each invoice with what it received and what
can still be refunded, newest first by default, or the amounts staff enter per invoice (adding up
to the refund, each at most what that invoice can give back), said in the audit log."""

import datetime
import uuid
from decimal import Decimal

import pytest
from django.utils import timezone

from remit.payments.models import PaymentState, Refund
from remit.payments.services import RefundRefused, reconcile_payment, refund_payment
from remit.payments.services.several import pay_invoices
from tests.backoffice.conftest import audit
from tests.factories import make_invoice
from tests.payments.conftest import new_card, sales_at_gateway

pytestmark = pytest.mark.django_db


@pytest.fixture
def invoices(northwind):
    today = timezone.localdate()
    return [
        make_invoice(
            northwind,
            total=total,
            number=number,
            invoice_date=today - datetime.timedelta(days=age),
            due_date=today - datetime.timedelta(days=age - 30),
        )
        for number, total, age in (
            ("NW-8001", "100.00", 60),
            ("NW-8002", "250.00", 40),
            ("NW-8003", "50.00", 20),
        )
    ]


@pytest.fixture
def settled(invoices, manager, gateway, sandbox_gateway):
    payment = pay_invoices(
        user=manager,
        selection=[(i.pk, None) for i in invoices],
        attempt_key=uuid.uuid4(),
        choice=new_card(),
        gateway=gateway,
    )
    sandbox_gateway.settle()
    assert reconcile_payment(payment.pk) == PaymentState.SETTLED
    payment.refresh_from_db()
    return payment


def url(payment):
    return f"/backoffice/payments/payment/{payment.pk}/refund/"


def paid(invoices):
    for invoice in invoices:
        invoice.refresh_from_db()
    return [i.amount_paid for i in invoices]


def field(invoice):
    return f"invoice-{invoice.pk}"


def refunds_at_gateway(sandbox_gateway) -> str:
    return sandbox_gateway.query_xml(action_type="refund")


def test_the_page_lists_each_invoice_newest_first_with_what_can_be_refunded(
    as_staff, settled, invoices
):
    text = as_staff.get(url(settled)).text
    # Newest first: NW-8003, NW-8002, NW-8001.
    assert text.index("NW-8003") < text.index("NW-8002") < text.index("NW-8001")
    for invoice in invoices:
        assert f'name="{field(invoice)}"' in text
        assert f"Refund on invoice {invoice.number}" in text
    assert "$250.00" in text
    assert "$50.00" in text
    assert "Leave every amount blank to reduce the newest invoices first" in text


def test_left_blank_the_newest_invoices_are_reduced_first_and_the_confirmation_says_so(
    as_staff, settled, invoices
):
    key = as_staff.get(url(settled)).context["form"]["request_key"].value()
    data = {"amount": "120.00", "reason": "Credit", "request_key": key}
    confirm = as_staff.post(url(settled), data)
    assert "Refund $120.00?" in confirm.text
    assert "newest first" in confirm.text
    split = confirm.context["form"].split_lines()
    assert [(i.number, a) for i, a in split] == [
        ("NW-8003", Decimal("50.00")),
        ("NW-8002", Decimal("70.00")),
    ]
    as_staff.post(url(settled), {**data, "confirmed": "yes"})
    assert paid(invoices) == [Decimal("100.00"), Decimal("180.00"), Decimal("0.00")]


def test_staff_choose_the_amounts_per_invoice_and_the_audit_log_names_them(
    as_staff, settled, invoices, staff, sandbox_gateway
):
    key = as_staff.get(url(settled)).context["form"]["request_key"].value()
    data = {
        "amount": "90.00",
        "reason": "Two services credited",
        "request_key": key,
        field(invoices[0]): "60.00",
        field(invoices[1]): "30.00",
        field(invoices[2]): "",
    }
    confirm = as_staff.post(url(settled), data)
    assert "as you entered them" in confirm.text
    assert not Refund.objects.exists()
    done = as_staff.post(url(settled), {**data, "confirmed": "yes"}, follow=True)
    assert "Refund of $90.00 succeeded." in done.text
    assert paid(invoices) == [Decimal("40.00"), Decimal("220.00"), Decimal("50.00")]
    event = audit("payment.refund_requested", actor=staff).get()
    assert event.details["invoices"] == {"NW-8001": "60.00", "NW-8002": "30.00"}
    assert "<amount>90.00</amount>" in refunds_at_gateway(sandbox_gateway)
    # The page now offers what is left on each invoice.
    again = as_staff.get(url(settled)).text
    assert "$40.00" in again
    assert "$220.00" in again


def test_amounts_that_do_not_add_up_are_refused_next_to_the_amount(as_staff, settled, invoices):
    key = as_staff.get(url(settled)).context["form"]["request_key"].value()
    data = {
        "amount": "100.00",
        "reason": "x",
        "request_key": key,
        field(invoices[0]): "60.00",
        field(invoices[1]): "30.00",
        "confirmed": "yes",
    }
    answer = as_staff.post(url(settled), data)
    assert answer.status_code == 200
    assert "The amounts per invoice add up to $90.00; they must add up to the refund, $100.00." in (
        answer.text
    )
    assert 'value="60.00"' in answer.text  # what staff typed is kept
    assert not Refund.objects.exists()
    assert paid(invoices) == [Decimal("100.00"), Decimal("250.00"), Decimal("50.00")]


def test_more_than_an_invoice_can_give_back_is_refused_next_to_that_invoice(
    as_staff, settled, invoices, sandbox_gateway
):
    key = as_staff.get(url(settled)).context["form"]["request_key"].value()
    data = {
        "amount": "120.00",
        "reason": "x",
        "request_key": key,
        field(invoices[2]): "70.00",
        field(invoices[1]): "50.00",
        "confirmed": "yes",
    }
    answer = as_staff.post(url(settled), data)
    assert f'id="id_{field(invoices[2])}-error"' in answer.text
    assert "At most $50.00 can be refunded on invoice NW-8003." in answer.text
    assert 'aria-invalid="true"' in answer.text
    assert not Refund.objects.exists()
    assert "<transaction>" not in refunds_at_gateway(sandbox_gateway)


@pytest.mark.parametrize("bad", ["-5.00", "1.005", "abc"])
def test_bad_amounts_per_invoice_are_refused(as_staff, settled, invoices, bad):
    key = as_staff.get(url(settled)).context["form"]["request_key"].value()
    data = {"amount": "10.00", "reason": "x", "request_key": key, field(invoices[0]): bad}
    answer = as_staff.post(url(settled), {**data, "confirmed": "yes"})
    assert f'id="id_{field(invoices[0])}-error"' in answer.text
    assert not Refund.objects.exists()


def test_the_service_checks_the_amounts_again(settled, invoices, staff, gateway, sandbox_gateway):
    with pytest.raises(RefundRefused, match="add up to"):
        refund_payment(
            settled,
            Decimal("10.00"),
            acting_user=staff,
            gateway=gateway,
            amounts={invoices[0].pk: Decimal("5.00")},
        )
    with pytest.raises(RefundRefused, match=r"At most \$50\.00"):
        refund_payment(
            settled,
            Decimal("60.00"),
            acting_user=staff,
            gateway=gateway,
            amounts={invoices[2].pk: Decimal("60.00")},
        )
    with pytest.raises(RefundRefused, match="did not pay"):
        refund_payment(
            settled, Decimal("1.00"), acting_user=staff, gateway=gateway, amounts={999999: "1.00"}
        )
    assert not Refund.objects.exists()
    assert len(sales_at_gateway(sandbox_gateway)) == 1
