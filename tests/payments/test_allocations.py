"""A payment of several invoices: one sale, allocations that say what each invoice received, and
refunds, voids and returns that restore each invoice by what it was allocated."""

import datetime
import uuid
from decimal import Decimal

import pytest
from django.utils import timezone

from remit.billing.models import Invoice
from remit.outbox.models import EmailKind, OutgoingEmail
from remit.payments.models import Payment, PaymentAllocation, PaymentState, Refund
from remit.payments.services import PaymentRefused, reconcile_payment, refund_payment, void_payment
from remit.payments.services.several import oldest_due_first, pay_invoices
from tests.factories import make_invoice
from tests.payments.conftest import new_bank, new_card, sales_at_gateway

pytestmark = pytest.mark.django_db


def three(org):
    today = timezone.localdate()
    return [
        make_invoice(
            org,
            total=total,
            number=f"NW-5{n}",
            due_date=today + datetime.timedelta(days=d),
            invoice_date=today - datetime.timedelta(days=40 - d),
        )
        for n, (total, d) in enumerate([("100.00", -20), ("250.50", -5), ("19.99", 10)])
    ]


def paid(invoice) -> Decimal:
    invoice.refresh_from_db()
    return invoice.amount_paid


@pytest.fixture
def pay_several(gateway, manager):
    def _pay(lines, choice=None, *, user=None, key=None, provider=None):
        return pay_invoices(
            user=user or manager,
            selection=lines,
            attempt_key=key or uuid.uuid4(),
            choice=choice or new_card(),
            ip_address="203.0.113.9",
            gateway=gateway,
            provider=provider,
        )

    return _pay


@pytest.fixture
def partial(provider):
    provider.partial_payments_allowed = True
    provider.partial_minimum_amount = Decimal("10.00")
    provider.save()
    return provider


def test_three_invoices_are_one_sale_one_receipt_and_three_paid(
    pay_several, northwind, sandbox_gateway
):
    invoices = three(northwind)
    payment = pay_several([(i.pk, None) for i in invoices])
    assert payment.state == PaymentState.APPROVED
    assert payment.amount == Decimal("370.49")
    assert len(sales_at_gateway(sandbox_gateway)) == 1
    for invoice in invoices:
        invoice.refresh_from_db()
        assert invoice.amount_due == Decimal("0.00")
    assert sorted(payment.allocations.values_list("applied_amount", flat=True)) == [
        Decimal("19.99"),
        Decimal("100.00"),
        Decimal("250.50"),
    ]
    assert OutgoingEmail.objects.filter(kind=EmailKind.RECEIPT, payment=payment).count() == 1


def test_the_same_attempt_key_again_is_the_first_payment_without_a_second_sale(
    pay_several, northwind, sandbox_gateway
):
    invoices = three(northwind)
    key, card = uuid.uuid4(), new_card()
    first = pay_several([(i.pk, None) for i in invoices], card, key=key)
    again = pay_several([(i.pk, None) for i in invoices], card, key=key)
    assert again.pk == first.pk
    assert len(sales_at_gateway(sandbox_gateway)) == 1
    with pytest.raises(PaymentRefused) as refused:
        pay_several([(invoices[0].pk, None)], card, key=key)
    assert refused.value.code == "attempt_key_reused"


def test_partial_payments_off_pays_the_balance_whatever_was_posted(pay_several, northwind):
    invoices = three(northwind)
    payment = pay_several([(invoices[0].pk, "1.00"), (invoices[1].pk, "9999.00")])
    assert payment.amount == Decimal("350.50")
    assert paid(invoices[0]) == Decimal("100.00")
    assert paid(invoices[1]) == Decimal("250.50")


def test_partial_payment_when_allowed_leaves_the_rest_due(pay_several, northwind, partial):
    invoices = three(northwind)
    payment = pay_several([(invoices[0].pk, "40.00"), (invoices[1].pk, None)])
    assert payment.amount == Decimal("290.50")
    invoices[0].refresh_from_db()
    assert invoices[0].amount_due == Decimal("60.00")
    assert paid(invoices[1]) == Decimal("250.50")


@pytest.mark.parametrize(
    ("amount", "code"),
    [
        ("10.001", "bad_amount"),
        ("-5.00", "bad_amount"),
        ("0", "bad_amount"),
        ("abc", "bad_amount"),
        ("100.01", "over_payment"),
        ("9.99", "below_minimum"),
    ],
)
def test_bad_amounts_are_refused_with_nothing_written_and_no_sale(
    pay_several, northwind, partial, sandbox_gateway, amount, code
):
    invoices = three(northwind)
    with pytest.raises(PaymentRefused) as refused:
        pay_several([(invoices[0].pk, amount), (invoices[1].pk, None)])
    assert refused.value.code == code
    assert not Payment.objects.exists()
    assert not PaymentAllocation.objects.exists()
    assert sales_at_gateway(sandbox_gateway) == []


def test_bad_selections_are_refused_with_nothing_written(
    pay_several, northwind, contoso, sandbox_gateway
):
    invoices = three(northwind)
    theirs = make_invoice(contoso, total="50.00")
    void = make_invoice(northwind, total="50.00", state=Invoice.State.VOID)
    settled = make_invoice(northwind, total="50.00", paid="50.00")
    cases = {
        "empty_selection": [],
        "duplicate_invoice": [(invoices[0].pk, None), (invoices[0].pk, None)],
        "not_found": [(invoices[0].pk, None), (theirs.pk, None)],
    }
    for code, lines in cases.items():
        with pytest.raises(PaymentRefused) as refused:
            pay_several(lines)
        assert refused.value.code == code
    for bad in (void, settled):
        with pytest.raises(PaymentRefused) as refused:
            pay_several([(invoices[0].pk, None), (bad.pk, None)])
        assert refused.value.code == "not_payable"
        assert refused.value.invoice_id == bad.pk
    assert not Payment.objects.exists()
    assert sales_at_gateway(sandbox_gateway) == []


def test_an_invoice_in_flight_in_another_payment_refuses_the_whole_selection(
    pay_several, northwind
):
    invoices = three(northwind)
    pending = pay_several([(invoices[1].pk, None)], new_bank())
    assert pending.state == PaymentState.PENDING
    with pytest.raises(PaymentRefused) as refused:
        pay_several([(i.pk, None) for i in invoices])
    assert refused.value.code == "in_flight"
    assert "NW-51" in refused.value.message
    assert paid(invoices[0]) == Decimal("0.00")


def test_a_total_is_applied_oldest_due_first(northwind):
    invoices = three(northwind)
    assert oldest_due_first(invoices, Decimal("300.00")) == {
        invoices[0].pk: Decimal("100.00"),
        invoices[1].pk: Decimal("200.00"),
    }
    with pytest.raises(PaymentRefused):
        oldest_due_first(invoices, Decimal("370.50"))


def test_a_void_restores_every_invoice(pay_several, northwind, staff, gateway):
    invoices = three(northwind)
    payment = pay_several([(i.pk, None) for i in invoices])
    void_payment(payment, acting_user=staff, gateway=gateway)
    payment.refresh_from_db()
    assert payment.state == PaymentState.VOIDED
    assert [paid(i) for i in invoices] == [Decimal("0.00")] * 3
    assert not PaymentAllocation.objects.filter(in_flight=True).exists()


def test_a_partial_refund_reduces_the_newest_invoice_first_and_says_so(
    pay_several, northwind, staff, gateway, sandbox_gateway
):
    from remit.audit.models import AuditEvent

    invoices = three(northwind)
    payment = pay_several([(i.pk, None) for i in invoices])
    sandbox_gateway.settle()
    assert reconcile_payment(payment.pk) == PaymentState.SETTLED
    refund_payment(payment, Decimal("30.00"), acting_user=staff, gateway=gateway)
    # Newest first: NW-52 (19.99) in full, then 10.01 off NW-51.
    assert [paid(i) for i in invoices] == [Decimal("100.00"), Decimal("240.49"), Decimal("0.00")]
    event = AuditEvent.objects.filter(action="payment.refund_requested").latest("pk")
    assert event.details["invoices"] == {"NW-52": "19.99", "NW-51": "10.01"}
    # Staff's choice of invoice.
    refund_payment(
        payment, Decimal("50.00"), acting_user=staff, gateway=gateway, reduce=[invoices[0].pk]
    )
    assert [paid(i) for i in invoices] == [Decimal("50.00"), Decimal("240.49"), Decimal("0.00")]
    payment.refresh_from_db()
    assert payment.applied_amount == Decimal("290.49")
    assert Refund.objects.filter(payment=payment).count() == 2


def test_a_late_echeck_return_restores_exactly_what_was_allocated(
    pay_several, northwind, partial, sandbox_gateway
):
    invoices = three(northwind)
    payment = pay_several([(invoices[0].pk, "30.00"), (invoices[2].pk, None)], new_bank())
    sandbox_gateway.settle()
    assert reconcile_payment(payment.pk) == PaymentState.SETTLED
    assert [paid(i) for i in invoices] == [Decimal("30.00"), Decimal("0.00"), Decimal("19.99")]
    payment.refresh_from_db()
    sandbox_gateway.return_check(payment.transaction_id, "R10")
    assert reconcile_payment(payment.pk) == PaymentState.RETURNED
    assert [paid(i) for i in invoices] == [Decimal("0.00")] * 3


def test_one_receipt_lists_every_invoice_with_what_it_received(pay_several, northwind, partial):
    from django.core import mail

    from tests.payments.conftest import run_worker

    invoices = three(northwind)
    pay_several([(invoices[0].pk, "40.00"), (invoices[1].pk, None), (invoices[2].pk, None)])
    mail.outbox.clear()
    run_worker()
    receipts = [m for m in mail.outbox if m.subject.startswith("Payment received")]
    assert len(receipts) == 1
    assert receipts[0].subject == "Payment received: invoices NW-50, NW-51, NW-52"
    body = receipts[0].body
    assert "NW-50: $40.00 applied, $60.00 still due" in body
    assert "NW-51: $250.50 applied, $0.00 still due" in body
    assert "NW-52: $19.99 applied, $0.00 still due" in body
    assert "Amount:         $310.49" in body


def test_an_echeck_for_several_invoices_authorizes_the_total_for_all_of_them(
    pay_several, northwind, sandbox_gateway
):
    from remit.payments.models import DebitAuthorization

    invoices = three(northwind)
    payment = pay_several([(i.pk, None) for i in invoices], new_bank())
    text = DebitAuthorization.objects.get(payment=payment).text
    assert "$370.49" in text
    assert "NW-50, NW-51, NW-52" in text
    assert "Invoices NW-50, NW-51, NW-52" in sandbox_gateway.query_xml(order_id=payment.order_id)
