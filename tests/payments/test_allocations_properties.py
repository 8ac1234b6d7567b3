"""Allocation sums to the cent, whatever the amounts and the selection (hypothesis): the payment's
amount is the sum of its allocations, each invoice's amount paid grows by exactly its allocation,
and a refund of any amount takes off exactly that amount, invoice by invoice."""

import uuid
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from remit.billing.models import Invoice
from remit.core.models import Provider
from remit.payments.models import PaymentState
from remit.payments.services import reconcile_payment, refund_payment
from remit.payments.services.several import pay_invoices
from tests.factories import make_invoice, manager_of
from tests.payments.conftest import new_card

pytestmark = pytest.mark.django_db(transaction=False)

cents = st.integers(min_value=100, max_value=500_000).map(lambda c: Decimal(c) / 100)
lines = st.lists(
    st.tuples(cents, st.one_of(st.none(), st.floats(min_value=0.05, max_value=1.0))),
    min_size=1,
    max_size=5,
)


@hypothesis_settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(lines=lines, refund_share=st.floats(min_value=0.01, max_value=1.0))
def test_allocations_sum_to_the_cent(
    lines, refund_share, gateway, sandbox_gateway, staff, northwind, settings
):
    # Many new cards in a row for one organization: the card-testing limits are not the subject.
    settings.PAYMENT_LIMITS = {k: 10_000 for k in settings.PAYMENT_LIMITS}
    # Examples repeat amounts with the same card: the gateway's duplicate check is not the subject.
    sandbox_gateway.reset()
    provider = Provider.load()
    provider.partial_payments_allowed = True
    provider.partial_minimum_amount = Decimal("1.00")
    provider.save()
    invoices, selection, expected = [], [], {}
    for total, share in lines:
        invoice = make_invoice(northwind, total=total)
        invoices.append(invoice)
        amount = (
            None
            if share is None
            else max(Decimal("1.00"), (total * Decimal(share)).quantize(Decimal("0.01")))
        )
        selection.append((invoice.pk, None if amount is None else str(amount)))
        expected[invoice.pk] = total if amount is None else amount
    payer = manager_of(northwind, email=f"{uuid.uuid4().hex[:12]}@northwind.example")
    payment = pay_invoices(
        user=payer,
        selection=selection,
        attempt_key=uuid.uuid4(),
        choice=new_card(),
        gateway=gateway,
        provider=provider,
    )
    assert payment.state == PaymentState.APPROVED
    assert payment.amount == sum(expected.values())
    allocated = {a.invoice_id: a.applied_amount for a in payment.allocations.all()}
    assert allocated == expected
    paid = dict(Invoice.objects.filter(pk__in=expected).values_list("pk", "amount_paid"))
    assert paid == expected

    sandbox_gateway.settle()
    assert reconcile_payment(payment.pk, gateway=gateway) == PaymentState.SETTLED
    refund = max(
        Decimal("0.01"), (payment.amount * Decimal(refund_share)).quantize(Decimal("0.01"))
    )
    refund_payment(payment, refund, acting_user=staff, gateway=gateway)
    after = dict(Invoice.objects.filter(pk__in=expected).values_list("pk", "amount_paid"))
    assert sum(paid.values()) - sum(after.values()) == refund
    assert all(Decimal("0") <= after[k] <= paid[k] for k in paid)
    payment.refresh_from_db()
    assert payment.applied_amount == sum(after.values())
    assert payment.applied_amount == sum(a.applied_amount for a in payment.allocations.all())
