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


def settled_payment(user, invoices, gateway, sandbox_gateway):
    """One card payment of `invoices` in full, settled at the sandbox and reconciled."""
    payment = pay_invoices(
        user=user,
        selection=[(i.pk, None) for i in invoices],
        attempt_key=uuid.uuid4(),
        choice=new_card(),
        gateway=gateway,
    )
    sandbox_gateway.settle()
    assert reconcile_payment(payment.pk) == PaymentState.SETTLED
    payment.refresh_from_db()
    return payment


@pytest.fixture
def settled(invoices, manager, gateway, sandbox_gateway):
    return settled_payment(manager, invoices, gateway, sandbox_gateway)


def url(payment):
    return f"/backoffice/payments/payment/{payment.pk}/refund/"


def paid(invoices):
    for invoice in invoices:
        invoice.refresh_from_db()
    return [i.amount_paid for i in invoices]


def field(invoice):
    return f"invoice-{invoice.pk}"


def form_data(client, payment, amount, lines=None, **extra) -> dict:
    """The refund form as staff fill it in: the amount, a reason, and amounts per invoice."""
    key = client.get(url(payment)).context["form"]["request_key"].value()
    data = {"amount": amount, "reason": extra.pop("reason", "x"), "request_key": key}
    data.update({field(invoice): value for invoice, value in (lines or {}).items()})
    data.update(extra)
    return data


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
    data = form_data(as_staff, settled, "120.00", reason="Credit")
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
    lines = {invoices[0]: "60.00", invoices[1]: "30.00", invoices[2]: ""}
    data = form_data(as_staff, settled, "90.00", lines, reason="Two services credited")
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
    lines = {invoices[0]: "60.00", invoices[1]: "30.00"}
    data = form_data(as_staff, settled, "100.00", lines, confirmed="yes")
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
    lines = {invoices[2]: "70.00", invoices[1]: "50.00"}
    data = form_data(as_staff, settled, "120.00", lines, confirmed="yes")
    answer = as_staff.post(url(settled), data)
    assert f'id="id_{field(invoices[2])}-error"' in answer.text
    assert "At most $50.00 can be refunded on invoice NW-8003." in answer.text
    assert 'aria-invalid="true"' in answer.text
    assert not Refund.objects.exists()
    assert "<transaction>" not in refunds_at_gateway(sandbox_gateway)


@pytest.mark.parametrize("bad", ["-5.00", "1.005", "abc"])
def test_bad_amounts_per_invoice_are_refused(as_staff, settled, invoices, bad):
    data = form_data(as_staff, settled, "10.00", {invoices[0]: bad}, confirmed="yes")
    answer = as_staff.post(url(settled), data)
    assert f'id="id_{field(invoices[0])}-error"' in answer.text
    assert not Refund.objects.exists()


@pytest.mark.parametrize(
    ("amount", "which", "value", "refusal"),
    [
        ("10.00", 0, "5.00", "add up to"),
        ("60.00", 2, "60.00", r"At most \$50\.00"),
        ("1.00", None, "1.00", "did not pay"),
        ("1.00", 0, "0.995", "at most two decimals"),
        ("1.00", 0, "-1.00", "cannot be negative"),
    ],
)
def test_the_service_checks_the_amounts_again(
    settled, invoices, staff, gateway, sandbox_gateway, amount, which, value, refusal
):
    invoice_id = invoices[which].pk if which is not None else 999999
    with pytest.raises(RefundRefused, match=refusal):
        refund_payment(
            settled,
            Decimal(amount),
            acting_user=staff,
            gateway=gateway,
            amounts={invoice_id: value},
        )
    assert not Refund.objects.exists()
    assert len(sales_at_gateway(sandbox_gateway)) == 1
