"""Payment search, a payment's page, and refunds and voids through the gateway (confirmed first,
recorded as child transactions, the invoice's amount due restored)."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from remit.payments.models import PaymentState, Refund
from remit.payments.services import reconcile_payment
from tests.backoffice.conftest import audit, make_payment
from tests.factories import make_invoice
from tests.payments.conftest import new_bank, new_card

SEARCH = "/backoffice/payments/payment/"


def page_of(payment) -> str:
    return f"/backoffice/payments/payment/{payment.pk}/change/"


@pytest.fixture
def settled(pay, invoice, sandbox_gateway):
    """A card payment of NW-1001 ($1,234.00), settled at the gateway and reconciled."""
    payment = pay(invoice, new_card())
    assert payment.state == PaymentState.APPROVED
    sandbox_gateway.settle()
    assert reconcile_payment(payment.pk) == PaymentState.SETTLED
    payment.refresh_from_db()
    return payment


def amount_due(invoice) -> Decimal:
    invoice.refresh_from_db()
    return invoice.amount_due


@pytest.mark.django_db
class TestSearch:
    @pytest.fixture
    def payments(self, invoice, contoso_invoice, manager, other_manager, northwind):
        older = make_invoice(northwind, number="NW-0900", total="80.00")
        return {
            "card": make_payment(invoice, manager, transaction_id="111"),
            "echeck": make_payment(
                contoso_invoice, other_manager, state="pending", kind="echeck", transaction_id="222"
            ),
            "old": make_payment(
                older,
                manager,
                state="declined",
                transaction_id="333",
                created_at=timezone.now() - datetime.timedelta(days=40),
            ),
        }

    def rows(self, client, query=""):
        response = client.get(SEARCH + query)
        assert response.status_code == 200
        return response.context["cl"].result_list

    def test_the_columns_are_the_psas(self, as_staff, payments):
        text = as_staff.get(SEARCH).text
        for column in [
            "Sale Amount",
            "Applied Amount",
            "Refund Amount",
            "Status",
            "Transaction id",
        ]:
            assert column in text
        assert "$1,234.00" in text

    def test_each_invoice_is_a_link(self, as_staff, payments):
        text = as_staff.get(SEARCH).text
        for payment in payments.values():
            url = f"/backoffice/billing/invoice/{payment.invoice_id}/change/"
            assert f'<a href="{url}">{payment.invoice.number}</a>' in text

    def test_filters(self, as_staff, payments, northwind):
        def ids(query):
            return {p.transaction_id for p in self.rows(as_staff, query)}

        assert ids("") == {"111", "222", "333"}
        assert ids(f"?organization__id__exact={northwind.pk}") == {"111", "333"}
        assert ids("?invoice_number=nw-1001") == {"111"}
        assert ids("?status=pending") == {"222"}
        assert ids("?method=echeck") == {"222"}
        today = timezone.localdate()
        recent = f"?created_at_from={today - datetime.timedelta(days=7)}&created_at_to={today}"
        assert ids(recent) == {"111", "222"}
        assert ids(f"?created_at_to={today - datetime.timedelta(days=30)}") == {"333"}
        assert ids("?q=222") == {"222"}
        assert ids("?created_at_from=not-a-date") == {"111", "222", "333"}

    def test_filters_keep_each_other(self, as_staff, payments):
        text = as_staff.get(SEARCH + "?status=pending").text
        assert '<input type="hidden" name="status" value="pending">' in text


@pytest.mark.django_db
class TestPaymentPage:
    def test_it_shows_the_whole_history(self, as_staff, settled):
        text = as_staff.get(page_of(settled)).text
        assert settled.order_id in text
        assert settled.transaction_id in text
        assert "Settled" in text
        for event in settled.events.all():
            assert event.message in text
        assert "payment.started" in text
        assert "payment.approved" in text
        assert "Refund" in text  # the action is offered once settled
        assert "Void payment" not in text

    def test_an_echeck_shows_its_debit_authorization(self, as_staff, pay, invoice):
        payment = pay(invoice, new_bank())
        assert payment.state == PaymentState.PENDING
        text = as_staff.get(page_of(payment)).text
        assert "Debit authorization (eCheck)" in text
        assert payment.authorization.text[:40] in text
        assert "Void payment" in text

    def test_no_card_number_anywhere(self, as_staff, settled):
        for url in [SEARCH, page_of(settled), "/backoffice/audit/auditevent/"]:
            assert "4111111111111111" not in as_staff.get(url).text


@pytest.mark.django_db
class TestRefund:
    def url(self, payment):
        return f"/backoffice/payments/payment/{payment.pk}/refund/"

    def test_a_partial_refund_is_confirmed_first_and_restores_the_amount_due(
        self, as_staff, settled, invoice, staff
    ):
        assert amount_due(invoice) == Decimal("0.00")
        form = as_staff.get(self.url(settled))
        key = form.context["form"]["request_key"].value()
        data = {"amount": "234.00", "reason": "Service credit", "request_key": key}

        confirm = as_staff.post(self.url(settled), data)
        assert confirm.status_code == 200
        assert "Refund $234.00?" in confirm.text
        assert "Visa •••• 1111" in confirm.text
        assert "NW-1001" in confirm.text
        assert not Refund.objects.exists()  # nothing happens before confirming

        done = as_staff.post(self.url(settled), {**data, "confirmed": "yes"}, follow=True)
        assert "Refund of $234.00 succeeded." in done.text
        refund = Refund.objects.get()
        assert (refund.kind, refund.state, refund.amount) == (
            "refund",
            "succeeded",
            Decimal("234.00"),
        )
        assert refund.requested_by == staff
        assert refund.transaction_id
        settled.refresh_from_db()
        assert settled.refunded_amount == Decimal("234.00")
        assert settled.applied_amount == Decimal("1000.00")
        assert amount_due(invoice) == Decimal("234.00")
        assert audit("payment.refund_requested", actor=staff).count() == 1
        assert audit("payment.refund", actor=staff, outcome="success").count() == 1
        assert "Partially refunded" in done.text

        # Posting the same confirmation again refunds nothing more.
        as_staff.post(self.url(settled), {**data, "confirmed": "yes"})
        assert Refund.objects.count() == 1
        assert amount_due(invoice) == Decimal("234.00")

    def test_a_full_refund(self, as_staff, settled, invoice):
        key = as_staff.get(self.url(settled)).context["form"]["request_key"].value()
        as_staff.post(
            self.url(settled),
            {"amount": "1234.00", "reason": "Cancelled", "request_key": key, "confirmed": "yes"},
        )
        settled.refresh_from_db()
        assert settled.display_status.label == "Refunded"
        assert amount_due(invoice) == Decimal("1234.00")

    def test_no_more_than_is_applied(self, as_staff, settled):
        key = as_staff.get(self.url(settled)).context["form"]["request_key"].value()
        response = as_staff.post(
            self.url(settled),
            {"amount": "1234.01", "reason": "x", "request_key": key, "confirmed": "yes"},
        )
        assert "At most $1,234.00 can be refunded." in response.text
        assert not Refund.objects.exists()

    def test_an_unsettled_payment_is_voided_not_refunded(self, as_staff, pay, invoice):
        payment = pay(invoice, new_card())
        response = as_staff.get(self.url(payment), follow=True)
        assert "void it instead" in response.text
        assert not Refund.objects.exists()

    def test_before_settlement_only_void_is_offered_and_no_refund_reaches_the_gateway(
        self, as_staff, pay, invoice, sandbox_gateway
    ):
        payment = pay(invoice, new_card())
        page = as_staff.get(page_of(payment)).text
        assert "Void payment" in page
        assert self.url(payment) not in page
        response = as_staff.post(
            self.url(payment),
            {"amount": "100.00", "reason": "x", "request_key": "early", "confirmed": "yes"},
            follow=True,
        )
        assert "void it instead" in response.text
        assert not Refund.objects.exists()
        # The gateway would refund a pending-settlement sale now; Remit did not ask it to.
        assert "<transaction>" not in sandbox_gateway.query_xml(action_type="refund")
        payment.refresh_from_db()
        assert payment.state == PaymentState.APPROVED
        assert amount_due(invoice) == Decimal("0.00")


@pytest.mark.django_db
class TestVoid:
    def url(self, payment):
        return f"/backoffice/payments/payment/{payment.pk}/void/"

    @pytest.mark.parametrize("choice", [new_card, new_bank], ids=["card", "echeck"])
    def test_a_payment_is_voided_before_settlement(self, as_staff, pay, invoice, staff, choice):
        payment = pay(invoice, choice())
        confirm = as_staff.get(self.url(payment))
        assert "Void this payment?" in confirm.text
        assert "$1,234.00" in confirm.text
        key = confirm.context["form"]["request_key"].value()
        done = as_staff.post(
            self.url(payment), {"reason": "Paid twice", "request_key": key}, follow=True
        )
        assert "Void of $1,234.00 succeeded." in done.text
        payment.refresh_from_db()
        assert payment.state == PaymentState.VOIDED
        assert payment.applied_amount == Decimal("0.00")
        assert amount_due(invoice) == Decimal("1234.00")
        assert Refund.objects.get().kind == "void"
        assert audit("payment.void", actor=staff, outcome="success").count() == 1

    def test_a_settled_payment_is_refunded_not_voided(self, as_staff, settled):
        response = as_staff.post(self.url(settled), {"reason": "x"}, follow=True)
        assert "refund it instead" in response.text
        settled.refresh_from_db()
        assert settled.state == PaymentState.SETTLED

    def test_the_gateway_refusing_is_reported(self, as_staff, pay, invoice, sandbox_gateway):
        payment = pay(invoice, new_card())
        sandbox_gateway.settle()  # settled at the gateway, not yet reconciled here
        key = as_staff.get(self.url(payment)).context["form"]["request_key"].value()
        done = as_staff.post(self.url(payment), {"reason": "x", "request_key": key}, follow=True)
        assert "The gateway refused the void" in done.text
        payment.refresh_from_db()
        assert payment.state == PaymentState.APPROVED
        assert Refund.objects.get().state == "failed"
        assert audit("payment.void", outcome="failure").count() == 1
