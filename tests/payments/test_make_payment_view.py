"""The Make a Payment window over HTTP: what the payer sees, bad input, tampering."""

import datetime
import re
import uuid

import pytest
from django.urls import reverse

from remit.payments.models import Payment, PaymentMethod, PaymentState
from remit.payments.services import DECLINED_MESSAGE
from tests.factories import make_invoice, manager_of
from tests.payments.conftest import DECLINED_CARD, VISA, new_card, sales_at_gateway

pytestmark = pytest.mark.django_db

NEXT_YEAR = (datetime.date.today().year + 1) % 100


def window(client, invoice, **params):
    return client.get(reverse("make_payment", args=[invoice.pk]), params)


def attempt_key(response) -> str:
    return re.search(r'name="attempt_key" value="([^"]+)"', response.text).group(1)


def card_post(response, invoice, **overrides):
    data = {
        "attempt_key": attempt_key(response),
        "amount": str(invoice.amount_due),
        "method": "new_card",
        "confirmed": "yes",
        "card-card_number": VISA,
        "card-expiration": f"12/{NEXT_YEAR:02d}",
        "card-cvv": "123",
        "card-first_name": "Nancy",
        "card-last_name": "Davolio",
        "card-address1": "507 20th Ave E",
        "card-city": "Seattle",
        "card-state": "WA",
        "card-zip": "98122",
        "card-country": "US",
    }
    data.update(overrides)
    return data


def post(client, invoice, data):
    return client.post(reverse("make_payment", args=[invoice.pk]), data)


class TestProcessPaymentButton:
    def test_shown_for_a_manager_on_a_due_invoice(self, as_manager, due_invoice, gateway):
        page = as_manager.get(reverse("invoice_detail", args=[due_invoice.pk]))
        assert "Process Payment" in page.text

    @pytest.mark.parametrize(("kwargs"), [{"paid": "1234.00"}, {"state": "void"}])
    def test_hidden_when_nothing_can_be_paid(self, as_manager, northwind, gateway, kwargs):
        invoice = make_invoice(northwind, total="1234.00", **kwargs)
        page = as_manager.get(reverse("invoice_detail", args=[invoice.pk]))
        assert "Process Payment" not in page.text

    def test_outside_the_us_a_note_says_why(self, as_manager, due_invoice, provider, gateway):
        provider.internal_currency = "EUR"
        provider.save()
        page = as_manager.get(reverse("invoice_detail", args=[due_invoice.pk]))
        assert "Process Payment" not in page.text
        assert "Online payment is unavailable" in page.text

    def test_hidden_without_a_gateway(self, as_manager, due_invoice, settings):
        settings.GATEWAY_URL = ""
        page = as_manager.get(reverse("invoice_detail", args=[due_invoice.pk]))
        assert "Process Payment" not in page.text

    def test_user_without_permission_never_reaches_it(self, as_user, due_invoice, gateway):
        assert as_user.get(reverse("invoice_detail", args=[due_invoice.pk])).status_code == 404
        assert window(as_user, due_invoice).status_code == 404


class TestWindow:
    def test_shows_the_invoice_and_the_choices(self, as_manager, due_invoice, gateway):
        response = window(as_manager, due_invoice)
        assert response.status_code == 200
        for label in ["Make a Payment", "Invoice Date", "Amount Due", "Date Due", "$1,234.00"]:
            assert label in response.text
        assert "Add Credit Card" in response.text
        assert "Add Bank Information (eCheck)" in response.text
        for label in [
            "Credit Card Number",
            "Expiration",
            "CVV",
            "First Name",
            "Last Name",
            "Save payment information",
        ]:
            assert label in response.text  # no saved methods: the card form is open

    def test_only_the_options_the_provider_offers(self, as_manager, due_invoice, provider, gateway):
        provider.payment_options = "echeck"
        provider.save()
        response = window(as_manager, due_invoice)
        assert "Add Credit Card" not in response.text
        assert "Credit Card Number" not in response.text
        for label in [
            "Account Holder Type",
            "Account Type",
            "Name on Account",
            "Account Number",
            "Routing Number",
        ]:
            assert label in response.text

    def test_htmx_gets_the_dialog_alone(self, as_manager, due_invoice, gateway):
        response = as_manager.get(
            reverse("make_payment", args=[due_invoice.pk]), headers={"HX-Request": "true"}
        )
        assert response.text.lstrip().startswith('<div class="dialog-backdrop"')
        assert 'aria-modal="true"' in response.text
        assert "<html" not in response.text

    def test_saved_methods_of_this_user_only_default_selected(
        self, as_manager, manager, northwind, pay, due_invoice
    ):
        pay(make_invoice(northwind, total="10.00"), new_card(), save=True)
        colleague = manager_of(northwind, email="colleague@northwind.example")
        pay(
            make_invoice(northwind, total="11.00"),
            new_card("5431111111111111"),
            user=colleague,
            save=True,
        )
        response = window(as_manager, due_invoice)
        assert "Visa •••• 1111" in response.text
        assert "Mastercard •••• 1111" not in response.text
        method = PaymentMethod.objects.get(owner=manager)
        assert re.search(rf'value="saved:{method.pk}"[^>]*\bchecked', response.text)


class TestPaying:
    def test_card_payment_shows_the_banner(self, as_manager, due_invoice, gateway):
        response = post(
            as_manager, due_invoice, card_post(window(as_manager, due_invoice), due_invoice)
        )
        assert response.status_code == 200
        assert "Payment has been processed" in response.text
        assert response["HX-Trigger"] == "payment-processed"
        assert Payment.objects.get().state == PaymentState.APPROVED
        page = as_manager.get(reverse("invoice_detail", args=[due_invoice.pk]))
        assert "badge--paid" in page.text
        assert "Visa •••• 1111" in page.text  # payment history

    def test_asks_for_confirmation_first(self, as_manager, due_invoice, gateway, sandbox_gateway):
        data = card_post(window(as_manager, due_invoice), due_invoice, confirmed="")
        response = post(as_manager, due_invoice, data)
        assert "Please confirm the payment of $1,234.00 to Harbor Point IT" in response.text
        assert not Payment.objects.exists()
        assert sales_at_gateway(sandbox_gateway) == []

    def test_declined_shows_the_seed_message_and_a_new_attempt(
        self, as_manager, due_invoice, gateway
    ):
        first = window(as_manager, due_invoice)
        response = post(
            as_manager,
            due_invoice,
            card_post(first, due_invoice, **{"card-card_number": DECLINED_CARD}),
        )
        banner = re.search(
            r'<p class="banner banner--error" role="alert">([^<]+)</p>', response.text
        )
        assert banner.group(1) == DECLINED_MESSAGE
        assert "the card was declined for lack of funds" in banner.group(1)
        # Nothing that helps a card tester: no word of which field was wrong.
        assert not re.search(r"cvv|security code|card number|expir", banner.group(1), re.IGNORECASE)
        assert attempt_key(response) != attempt_key(first)
        assert DECLINED_CARD not in response.text
        retry = post(as_manager, due_invoice, card_post(response, due_invoice))
        assert "Payment has been processed" in retry.text


class TestBadInput:
    def test_errors_next_to_fields_and_typed_values_kept_but_not_the_card(
        self, as_manager, due_invoice, gateway
    ):
        data = card_post(
            window(as_manager, due_invoice),
            due_invoice,
            **{
                "card-card_number": "4111111111111112",
                "card-cvv": "12",
                "card-zip": "9812",
                "card-expiration": "13/29",
            },
        )
        response = post(as_manager, due_invoice, data)
        assert response.status_code == 200
        assert 'id="id_card-card_number_error"' in response.text
        assert "not valid" in response.text
        assert 'id="id_card-cvv_error"' in response.text
        assert 'id="id_card-zip_error"' in response.text
        assert 'id="id_card-expiration_error"' in response.text
        assert 'value="Nancy"' in response.text
        assert 'value="507 20th Ave E"' in response.text
        assert "4111111111111112" not in response.text
        assert 'value="12"' not in response.text  # the CVV
        assert not Payment.objects.exists()

    def test_spaces_in_the_card_number_are_pointed_out(self, as_manager, due_invoice, gateway):
        data = card_post(
            window(as_manager, due_invoice),
            due_invoice,
            **{"card-card_number": "4111 1111 1111 1111"},
        )
        response = post(as_manager, due_invoice, data)
        assert "without any spaces" in response.text
        assert "4111 1111" not in response.text

    def test_expired_card(self, as_manager, due_invoice, gateway):
        data = card_post(
            window(as_manager, due_invoice), due_invoice, **{"card-expiration": "01/20"}
        )
        assert "This card has expired." in post(as_manager, due_invoice, data).text

    def test_amex_needs_four_digits(self, as_manager, due_invoice, gateway):
        data = card_post(
            window(as_manager, due_invoice),
            due_invoice,
            **{"card-card_number": "341111111111111", "card-cvv": "123"},
        )
        assert "Enter the 4-digit security code" in post(as_manager, due_invoice, data).text

    def test_bad_routing_number_and_missing_authorization(self, as_manager, due_invoice, gateway):
        data = {
            "attempt_key": attempt_key(window(as_manager, due_invoice)),
            "amount": "1234.00",
            "method": "new_bank",
            "confirmed": "yes",
            "bank-account_holder_type": "personal",
            "bank-account_type": "checking",
            "bank-name_on_account": "Nancy Davolio",
            "bank-account_number": "24413815",
            "bank-routing_number": "490000017",
            "bank-first_name": "Nancy",
            "bank-last_name": "Davolio",
            "bank-address1": "1 Main St",
            "bank-city": "Seattle",
            "bank-state": "WA",
            "bank-zip": "98122",
            "bank-country": "US",
        }
        response = post(as_manager, due_invoice, data)
        assert "Please authorize the debit" in response.text
        data["authorize"] = "on"
        response = post(as_manager, due_invoice, data)
        assert "routing number is not valid" in response.text
        assert "24413815" not in response.text
        assert 'value="Nancy Davolio"' in response.text
        assert not Payment.objects.exists()


class TestTampering:
    def test_a_posted_amount_is_refused_without_a_gateway_call(
        self, as_manager, due_invoice, gateway, sandbox_gateway
    ):
        data = card_post(window(as_manager, due_invoice), due_invoice, amount="1.00")
        response = post(as_manager, due_invoice, data)
        assert "The amount due is now $1,234.00" in response.text
        assert not Payment.objects.exists()
        assert sales_at_gateway(sandbox_gateway) == []

    def test_another_organizations_invoice_is_not_found(
        self, as_manager, contoso_invoice, due_invoice, gateway, sandbox_gateway
    ):
        data = card_post(window(as_manager, due_invoice), contoso_invoice)
        assert post(as_manager, contoso_invoice, data).status_code == 404
        assert window(as_manager, contoso_invoice).status_code == 404
        assert sales_at_gateway(sandbox_gateway) == []

    def test_another_users_saved_method_is_not_found(
        self, as_manager, northwind, pay, due_invoice, sandbox_gateway
    ):
        colleague = manager_of(northwind, email="colleague@northwind.example")
        theirs = pay(
            make_invoice(northwind, total="5.00"), new_card(), user=colleague, save=True
        ).payment_method
        before = len(sales_at_gateway(sandbox_gateway))
        data = {
            "attempt_key": str(uuid.uuid4()),
            "amount": "1234.00",
            "method": f"saved:{theirs.pk}",
            "confirmed": "yes",
        }
        assert post(as_manager, due_invoice, data).status_code == 404
        assert len(sales_at_gateway(sandbox_gateway)) == before
        assert (
            as_manager.post(reverse("payment_method_delete", args=[theirs.pk])).status_code == 404
        )


class TestSavedMethodsPage:
    def test_remove_deletes_from_the_vault_too(
        self, as_manager, manager, northwind, pay, sandbox_gateway
    ):
        method = pay(make_invoice(northwind, total="5.00"), new_card(), save=True).payment_method
        page = as_manager.get(reverse("payment_methods"))
        assert "Visa •••• 1111" in page.text
        response = as_manager.post(reverse("payment_method_delete", args=[method.pk]), follow=True)
        assert "was removed" in response.text
        method.refresh_from_db()
        assert method.removed_at is not None
        vault = sandbox_gateway.query_xml(
            report_type="customer_vault", customer_vault_id=method.vault_id
        )
        assert "<customer_vault_id>" not in vault or method.vault_id not in vault
        assert "Visa •••• 1111" not in as_manager.get(reverse("payment_methods")).text
