"""Payment events carry the payment's allocations as they were at the change, and a refund event
the invoices the refund reduced."""

import datetime
from decimal import Decimal

from django.utils import timezone

from remit.api.selectors import payments_represented
from remit.payments.services import reconcile_payment, refund_payment
from tests.factories import make_invoice
from tests.payments.conftest import new_bank, run_worker


def shares(data, field):
    return {a["invoice_number"]: a[field] for a in data["allocations"]}


def test_each_event_of_a_payment_of_two_invoices_says_what_each_received(
    pay_several, northwind, endpoint, receiver, sandbox_gateway, gateway
):
    today = timezone.localdate()
    older, newer = (
        make_invoice(
            northwind,
            number=number,
            total=total,
            invoice_date=today - datetime.timedelta(days=age),
        )
        for number, total, age in (("NW-81", "300.00", 40), ("NW-82", "45.50", 10))
    )
    payment = pay_several([older, newer], new_bank())
    sandbox_gateway.settle()
    assert reconcile_payment(payment.pk) == "settled"
    # Handed a payment whose allocations were read before the refund, the event still shows them
    # as the refund left them (the body is built from the stored rows, inside the change).
    payment = payments_represented().get(pk=payment.pk)
    assert [a.refunded_amount for a in payment.allocations.all()] == [Decimal("0.00")] * 2
    refund = refund_payment(payment, Decimal("50.00"), acting_user=None, gateway=gateway)
    run_worker()

    assert receiver.events == ["payment.pending", "payment.succeeded", "payment.refunded"]
    assert all(request["signed"] for request in receiver.requests)
    pending, settled, refunded = (request["json"]["data"] for request in receiver.requests)
    assert shares(pending, "amount") == {"NW-81": "300.00", "NW-82": "45.50"}
    assert shares(pending, "applied_amount") == {"NW-81": "0.00", "NW-82": "0.00"}
    assert shares(settled, "applied_amount") == {"NW-81": "300.00", "NW-82": "45.50"}
    # Newest invoice first: all of NW-82, then 4.50 of NW-81.
    assert refunded["refund"]["id"] == refund.order_id
    assert refunded["refund"]["invoices"] == [
        {"invoice_number": "NW-81", "amount": "4.50"},
        {"invoice_number": "NW-82", "amount": "45.50"},
    ]
    assert shares(refunded, "refunded_amount") == {"NW-81": "4.50", "NW-82": "45.50"}
    assert shares(refunded, "applied_amount") == {"NW-81": "295.50", "NW-82": "0.00"}
    assert refunded["invoice_number"] == "NW-81"
    assert (refunded["applied_amount"], refunded["refunded_amount"]) == ("295.50", "50.00")
