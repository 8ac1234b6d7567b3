"""pay_invoice end to end against the sandbox gateway: cards, saved methods, eChecks, failures."""

import uuid
from decimal import Decimal

import pytest
from django.core import mail

from remit.accounts.models import User
from remit.audit.models import AuditEvent
from remit.billing.access import get_invoice_for
from remit.billing.models import InvoiceStatus
from remit.payments.models import (
    DebitAuthorization,
    LimitEvent,
    Payment,
    PaymentMethod,
    PaymentState,
)
from remit.payments.services import PaymentRefused, SavedMethod, pay_invoice, reconcile_payment
from tests.factories import make_invoice
from tests.payments.conftest import (
    DECLINED_CARD,
    FAILED_ACCOUNT,
    INSUFFICIENT_FUNDS_CARD,
    PROCESSOR_ERROR_CARD,
    RETURNED_R01_ACCOUNT,
    new_bank,
    new_card,
    run_worker,
    sales_at_gateway,
)

pytestmark = pytest.mark.django_db


def fresh(invoice, user):
    return get_invoice_for(user, invoice.pk)


class TestCard:
    def test_new_card_pays_the_invoice(self, pay, due_invoice, manager, sandbox_gateway):
        payment = pay(due_invoice, new_card())
        assert payment.state == PaymentState.APPROVED
        assert payment.amount == Decimal("1234.00")
        assert (payment.method_brand, payment.method_last4) == ("Visa", "1111")
        invoice = fresh(due_invoice, manager)
        assert invoice.amount_due == Decimal("0.00")
        assert invoice.status == InvoiceStatus.PAID
        [sale] = sales_at_gateway(sandbox_gateway)
        assert sale.order_id == payment.order_id
        assert sale.last_action("sale").amount == Decimal("1234.00")
        assert payment.transaction_id == sale.transaction_id
        assert [e.to_state for e in payment.events.all()] == ["processing", "approved"]
        assert AuditEvent.objects.filter(
            action="payment.approved", object_id=str(payment.pk)
        ).exists()

    def test_receipt_goes_to_the_payer_and_billing_contact(self, pay, due_invoice, manager):
        payment = pay(due_invoice, new_card())
        assert mail.outbox == []  # queued with the payment, sent by the worker
        run_worker()
        [receipt] = mail.outbox
        assert receipt.to == [manager.email, "ap@northwind.example"]
        assert "NW-2001" in receipt.subject
        assert "$1,234.00" in receipt.body
        assert "Visa •••• 1111" in receipt.body
        assert payment.transaction_id in receipt.body

    def test_saved_only_when_the_payment_succeeds(self, pay, due_invoice, manager, northwind):
        pay(due_invoice, new_card(DECLINED_CARD), save=True)
        assert not PaymentMethod.objects.exists()
        pay(due_invoice, new_card(), save=True)
        [method] = PaymentMethod.objects.all()
        assert (method.owner, method.brand, method.last4) == (manager, "Visa", "1111")
        assert method.vault_id
        assert method.exp_year
        assert method.exp_month == 12

    def test_pay_another_invoice_with_the_saved_card(
        self, pay, due_invoice, manager, northwind, sandbox_gateway
    ):
        first = pay(due_invoice, new_card(), save=True)
        method = first.payment_method
        second_invoice = make_invoice(northwind, total="99.50", number="NW-2002")
        second = pay(second_invoice, SavedMethod(method))
        assert second.state == PaymentState.APPROVED
        assert second.payment_method == method
        assert fresh(second_invoice, manager).amount_due == Decimal("0.00")
        sale = next(s for s in sales_at_gateway(sandbox_gateway) if s.order_id == second.order_id)
        assert sale.customer_vault_id == method.vault_id
        method.refresh_from_db()
        assert method.last_used_at is not None

    def test_most_recently_used_is_the_default(self, pay, manager, northwind):
        invoices = [make_invoice(northwind, total="10.00") for _ in range(3)]
        visa = pay(invoices[0], new_card(), save=True).payment_method
        amex = pay(invoices[1], new_card("341111111111111", cvv="1234"), save=True).payment_method
        assert list(PaymentMethod.objects.filter(owner=manager).default_first()) == [amex, visa]
        pay(invoices[2], SavedMethod(visa))
        assert list(PaymentMethod.objects.filter(owner=manager).default_first()) == [visa, amex]

    def test_colleagues_cannot_use_a_saved_method(self, pay, due_invoice, northwind):
        method = pay(make_invoice(northwind, total="5.00"), new_card(), save=True).payment_method
        colleague = User.objects.create_user(
            "other.manager@northwind.example",
            organization=northwind,
            security_level=method.owner.security_level,
        )
        with pytest.raises(PaymentRefused) as refused:
            pay(due_invoice, SavedMethod(method), user=colleague)
        assert refused.value.code == "method_not_found"

    @pytest.mark.parametrize("number", [DECLINED_CARD, INSUFFICIENT_FUNDS_CARD])
    def test_declined_changes_nothing_and_another_card_works(
        self, pay, due_invoice, manager, number
    ):
        declined = pay(due_invoice, new_card(number))
        assert declined.state == PaymentState.DECLINED
        assert fresh(due_invoice, manager).amount_due == Decimal("1234.00")
        assert LimitEvent.objects.filter(kind="failure", user=manager).count() == 1
        assert pay(due_invoice, new_card()).state == PaymentState.APPROVED

    def test_processor_error_is_failed_not_charged(self, pay, due_invoice, manager):
        payment = pay(due_invoice, new_card(PROCESSOR_ERROR_CARD))
        assert payment.state == PaymentState.FAILED
        assert payment.response_code == "400"
        assert fresh(due_invoice, manager).amount_due == Decimal("1234.00")


class TestEcheck:
    def test_pending_until_settled_then_paid(self, pay, due_invoice, manager, sandbox_gateway):
        payment = pay(due_invoice, new_bank())
        assert payment.state == PaymentState.PENDING
        invoice = fresh(due_invoice, manager)
        assert invoice.status == InvoiceStatus.PAYMENT_PENDING
        assert invoice.amount_due == Decimal("1234.00")  # not paid before settlement
        with pytest.raises(PaymentRefused) as refused:
            pay(invoice, new_card())
        assert refused.value.message == "A payment for this invoice is already being processed."
        assert reconcile_payment(payment.pk) == PaymentState.PENDING  # not settled yet
        sandbox_gateway.settle()
        assert reconcile_payment(payment.pk) == PaymentState.SETTLED
        invoice = fresh(due_invoice, manager)
        assert invoice.status == InvoiceStatus.PAID
        assert invoice.amount_due == Decimal("0.00")

    def test_debit_authorization_is_recorded(self, pay, due_invoice, manager):
        payment = pay(due_invoice, new_bank(), ip="198.51.100.23")
        auth = DebitAuthorization.objects.get(payment=payment)
        assert (auth.user, auth.ip_address) == (manager, "198.51.100.23")
        assert auth.text_version
        assert "•••" not in auth.text
        assert "ending in 3815" in auth.text
        assert "$1,234.00" in auth.text
        assert "Harbor Point IT" in auth.text

    @pytest.mark.parametrize(("holder", "sec_code"), [("personal", "WEB"), ("business", "CCD")])
    def test_sec_code_follows_the_account_holder(
        self, pay, due_invoice, sandbox_gateway, holder, sec_code
    ):
        payment = pay(due_invoice, new_bank(holder=holder))
        xml = sandbox_gateway.query_xml(order_id=payment.order_id)
        assert f"<sec_code>{sec_code}</sec_code>" in xml

    def test_return_restores_the_amount_due_and_tells_both_sides(
        self, pay, due_invoice, manager, provider, sandbox_gateway
    ):
        provider.support_email = "billing@harborpoint.example"
        provider.save()
        payment = pay(due_invoice, new_bank(RETURNED_R01_ACCOUNT))
        assert payment.state == PaymentState.PENDING
        sandbox_gateway.settle()
        assert reconcile_payment(payment.pk) == PaymentState.RETURNED
        payment.refresh_from_db()
        assert payment.return_code == "R01"
        invoice = fresh(due_invoice, manager)
        assert invoice.amount_due == Decimal("1234.00")
        assert invoice.status in (InvoiceStatus.DUE, InvoiceStatus.OVERDUE)
        mail.outbox.clear()
        run_worker()
        notices = [m for m in mail.outbox if "returned" in m.subject]
        assert len(notices) == 1
        assert set(notices[0].to) == {
            manager.email,
            "billing@harborpoint.example",
            "ap@northwind.example",
        }
        assert "R01" in notices[0].body
        # ... and it can be paid again.
        assert pay(invoice, new_card()).state == PaymentState.APPROVED

    def test_failed_echeck(self, pay, due_invoice, manager):
        payment = pay(due_invoice, new_bank(FAILED_ACCOUNT))
        assert payment.state == PaymentState.DECLINED
        assert fresh(due_invoice, manager).status != InvoiceStatus.PAYMENT_PENDING


class TestAttemptKeys:
    def test_same_key_returns_the_first_outcome_without_a_second_sale(
        self, pay, due_invoice, sandbox_gateway
    ):
        key = uuid.uuid4()
        first = pay(due_invoice, new_card(), attempt_key=key)
        for _ in range(9):
            again = pay(due_invoice, new_card(), attempt_key=key)
            assert again.pk == first.pk
        assert len(sales_at_gateway(sandbox_gateway)) == 1
        assert Payment.objects.count() == 1

    def test_key_reused_for_a_different_payment_is_refused(self, pay, due_invoice, sandbox_gateway):
        key = uuid.uuid4()
        pay(due_invoice, new_card(DECLINED_CARD), attempt_key=key)
        with pytest.raises(PaymentRefused) as refused:
            pay(due_invoice, new_card(), attempt_key=key)
        assert refused.value.code == "attempt_key_reused"
        assert len(sales_at_gateway(sandbox_gateway)) == 1


class TestRefusedBeforeTheGateway:
    def test_void_invoice(self, pay, northwind, sandbox_gateway):
        invoice = make_invoice(northwind, state="void")
        with pytest.raises(PaymentRefused, match="void"):
            pay(invoice, new_card())
        assert sales_at_gateway(sandbox_gateway) == []

    def test_paid_invoice(self, pay, northwind, sandbox_gateway):
        invoice = make_invoice(northwind, total="50.00", paid="50.00")
        with pytest.raises(PaymentRefused, match="already paid"):
            pay(invoice, new_card())
        assert sales_at_gateway(sandbox_gateway) == []

    def test_provider_outside_the_us(self, pay, due_invoice, provider, sandbox_gateway):
        provider.country = "CA"
        provider.save()
        with pytest.raises(PaymentRefused, match="only by providers based in the US"):
            pay(due_invoice, new_card())
        provider.country, provider.internal_currency = "US", "CAD"
        provider.save()
        with pytest.raises(PaymentRefused, match="USD"):
            pay(due_invoice, new_card())
        assert sales_at_gateway(sandbox_gateway) == []

    def test_option_not_offered(self, pay, due_invoice, provider, sandbox_gateway):
        provider.payment_options = "echeck"
        provider.save()
        with pytest.raises(PaymentRefused, match="not offered"):
            pay(due_invoice, new_card())
        assert sales_at_gateway(sandbox_gateway) == []

    def test_no_gateway_configured(self, manager, due_invoice, settings):
        settings.GATEWAY_URL = ""
        with pytest.raises(PaymentRefused, match="not set up"):
            pay_invoice(
                user=manager, invoice=due_invoice, attempt_key=uuid.uuid4(), choice=new_card()
            )


class TestLateReturn:
    def test_a_settled_echeck_returned_weeks_later_reopens_the_invoice(
        self, pay, due_invoice, manager, sandbox_gateway
    ):
        payment = pay(due_invoice, new_bank())
        sandbox_gateway.settle()
        assert reconcile_payment(payment.pk) == PaymentState.SETTLED
        assert fresh(due_invoice, manager).status == InvoiceStatus.PAID
        sandbox_gateway.return_check(payment.transaction_id, "R10")
        assert reconcile_payment(payment.pk) == PaymentState.RETURNED
        payment.refresh_from_db()
        assert payment.return_code == "R10"
        assert payment.applied_amount == Decimal("0.00")
        assert fresh(due_invoice, manager).amount_due == Decimal("1234.00")
        run_worker()
        assert any("returned" in m.subject for m in mail.outbox)

    def test_settled_echecks_are_watched_for_returns_then_forgotten(
        self, pay, due_invoice, sandbox_gateway, settings
    ):
        import datetime

        from django.utils import timezone

        from remit.payments.services import payments_to_reconcile

        payment = pay(due_invoice, new_bank())
        sandbox_gateway.settle()
        reconcile_payment(payment.pk)
        assert payment.pk in payments_to_reconcile().values_list("pk", flat=True)
        later = timezone.now() + datetime.timedelta(days=settings.ECHECK_RETURN_WINDOW_DAYS + 1)
        assert payment.pk not in payments_to_reconcile(now=later).values_list("pk", flat=True)


class TestGatewayDuplicateCheck:
    def test_same_card_same_amount_moments_later_is_refused_and_not_charged(
        self, pay, northwind, manager, sandbox_gateway
    ):
        from remit.payments.services import DUPLICATE_MESSAGE, failure_message

        first = make_invoice(northwind, total="100.00")
        second = make_invoice(northwind, total="100.00")
        assert pay(first, new_card()).state == PaymentState.APPROVED
        refused = pay(second, new_card())
        assert refused.state == PaymentState.FAILED  # looked up at once: not ours, not charged
        assert failure_message(refused) == DUPLICATE_MESSAGE
        assert fresh(second, manager).amount_due == Decimal("100.00")
        assert len([s for s in sales_at_gateway(sandbox_gateway) if s.sale_approved]) == 1
