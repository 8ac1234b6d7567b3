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


@pytest.fixture
def card_token(sandbox_gateway, gateway):
    """card_token(number=VISA): a payment token from the sandbox's hosted fields, made as
    Collect.js makes it (each field posted as its iframe posts it, then the token asked for)."""

    def make(number: str = VISA, cvv: str = "123") -> str:
        return sandbox_gateway.card_token(number, exp=f"12{NEXT_YEAR:02d}", cvv=cvv)

    return make


CARD_DETAILS = {
    "card-first_name": "Nancy",
    "card-last_name": "Davolio",
    "card-address1": "507 20th Ave E",
    "card-city": "Seattle",
    "card-state": "WA",
    "card-zip": "98122",
    "card-country": "US",
}
BANK_DETAILS = {
    "bank-account_holder_type": "business",
    "bank-account_type": "checking",
    "bank-first_name": "Nancy",
    "bank-last_name": "Davolio",
    "bank-address1": "1 Main St",
    "bank-city": "Seattle",
    "bank-state": "WA",
    "bank-zip": "98122",
    "bank-country": "US",
}


def new_method_post(response, invoice, token: str, method: str, details: dict, overrides: dict):
    """The window's post for a new card or account: its token, the billing details, confirmed."""
    return {
        "attempt_key": attempt_key(response),
        "amount": str(invoice.amount_due),
        "method": method,
        "confirmed": "yes",
        "payment_token": token,
        **details,
        **overrides,
    }


def card_post(response, invoice, token: str, **overrides):
    return new_method_post(response, invoice, token, "new_card", CARD_DETAILS, overrides)


def bank_post(response, invoice, token: str, **overrides):
    return new_method_post(response, invoice, token, "new_bank", BANK_DETAILS, overrides)


def saved_post(response, invoice, method, **overrides):
    """The window's post paying with a saved method, confirmed."""
    return {
        "attempt_key": attempt_key(response),
        "amount": str(invoice.amount_due),
        "method": f"saved:{method.pk}",
        "confirmed": "yes",
        **overrides,
    }


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

    def test_htmx_gets_the_dialog_alone(self, as_manager, due_invoice, northwind, pay):
        pay(make_invoice(northwind, total="10.00"), new_card(), save=True)
        response = as_manager.get(
            reverse("make_payment", args=[due_invoice.pk]), headers={"HX-Request": "true"}
        )
        # A native <dialog>: remit.js opens it with showModal() (modal by the browser, not by
        # an aria-modal promise).
        assert response.text.lstrip().startswith('<dialog class="dialog"')
        assert 'id="payment-dialog"' in response.text
        assert "<html" not in response.text
        assert "Collect.js" not in response.text  # saved methods need no gateway script

    def test_a_new_card_opens_as_a_page_with_the_gateway_fields(
        self, as_manager, due_invoice, gateway, sandbox_gateway
    ):
        url = reverse("make_payment", args=[due_invoice.pk])
        response = as_manager.get(url, headers={"HX-Request": "true"})
        assert response["HX-Redirect"] == f"{url}?add=card"
        page = as_manager.get(url, {"add": "card"})
        script = (
            f'<script src="{sandbox_gateway.url}/token/Collect.js" '
            f'data-tokenization-key="{sandbox_gateway.tokenization_key}" defer></script>'
        )
        assert script in page.text
        assert 'name="payment_token"' in page.text
        for name in ["ccnumber", "ccexp", "cvv"]:
            assert f'id="hosted-{name}"' in page.text
        assert "card_number" not in page.text

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
    def test_card_payment_shows_the_banner(self, as_manager, due_invoice, card_token):
        response = post(
            as_manager,
            due_invoice,
            card_post(window(as_manager, due_invoice), due_invoice, card_token()),
        )
        assert response.status_code == 200
        assert "Payment has been processed" in response.text
        assert response["HX-Trigger"] == "payment-processed"
        assert Payment.objects.get().state == PaymentState.APPROVED
        page = as_manager.get(reverse("invoice_detail", args=[due_invoice.pk]))
        assert "badge--paid" in page.text
        assert "Visa •••• 1111" in page.text  # payment history

    def test_asks_for_confirmation_first(
        self, as_manager, due_invoice, card_token, sandbox_gateway
    ):
        data = card_post(window(as_manager, due_invoice), due_invoice, card_token(), confirmed="")
        response = post(as_manager, due_invoice, data)
        # Everything valid: the server asks, naming the amount (and, for a saved method, the
        # method); only Confirm pays.
        assert "Pay $1,234.00 to Harbor Point IT with a new card?" in response.text
        assert 'name="confirmed" value="yes"' in response.text
        assert not Payment.objects.exists()
        assert sales_at_gateway(sandbox_gateway) == []

    def test_declined_shows_the_seed_message_and_a_new_attempt(
        self, as_manager, due_invoice, card_token
    ):
        first = window(as_manager, due_invoice)
        used = card_token(DECLINED_CARD)
        response = post(as_manager, due_invoice, card_post(first, due_invoice, used))
        banner = re.search(
            r'<p class="banner banner--error" role="alert" data-error-banner>([^<]+)', response.text
        )
        # The kind of method that was declined, then the seed's sentence.
        assert banner.group(1).startswith("The card payment (Visa •••• 0002) was declined. ")
        assert banner.group(1).strip().endswith(DECLINED_MESSAGE)
        assert "the card was declined for lack of funds" in banner.group(1)
        # Nothing that helps a card tester: no word of which field was wrong.
        assert not re.search(r"cvv|security code|card number|expir", banner.group(1), re.IGNORECASE)
        assert attempt_key(response) != attempt_key(first)
        assert used not in response.text  # the token is used up: the page asks for a new one
        assert re.search(r'name="payment_token" value=""', response.text)
        again = post(as_manager, due_invoice, card_post(response, due_invoice, used))
        assert "could not be processed" in again.text  # the gateway refuses a used token
        retry = post(as_manager, due_invoice, card_post(again, due_invoice, card_token()))
        assert "Payment has been processed" in retry.text


class TestBadInput:
    def test_errors_next_to_fields_and_typed_values_kept(self, as_manager, due_invoice, card_token):
        data = card_post(
            window(as_manager, due_invoice), due_invoice, card_token(), **{"card-zip": "9812"}
        )
        response = post(as_manager, due_invoice, data)
        assert response.status_code == 200
        assert 'id="id_card-zip_error"' in response.text
        assert 'value="Nancy"' in response.text
        assert 'value="507 20th Ave E"' in response.text
        assert not Payment.objects.exists()

    def test_a_new_card_without_a_token_says_what_to_do(self, as_manager, due_invoice, gateway):
        data = card_post(window(as_manager, due_invoice), due_invoice, "")
        response = post(as_manager, due_invoice, data)
        assert "Enter the card or bank details in the secure fields" in response.text
        assert "needs JavaScript" in response.text
        assert not Payment.objects.exists()

    def test_a_malformed_token_is_refused_without_a_gateway_call(
        self, as_manager, due_invoice, gateway, sandbox_gateway
    ):
        data = card_post(window(as_manager, due_invoice), due_invoice, "<script>")
        response = post(as_manager, due_invoice, data)
        assert response.status_code == 200
        assert not Payment.objects.exists()
        assert sales_at_gateway(sandbox_gateway) == []

    def test_missing_authorization_and_company(
        self, as_manager, due_invoice, sandbox_gateway, gateway
    ):
        token = sandbox_gateway.check_token("24413815", "490000018")
        data = bank_post(window(as_manager, due_invoice), due_invoice, token)
        response = post(as_manager, due_invoice, data)
        assert "Please authorize the debit" in response.text
        data["authorize"] = "on"
        response = post(as_manager, due_invoice, data)
        assert "Enter the business&#x27;s name for a business account." in response.text
        assert 'value="1 Main St"' in response.text
        assert not Payment.objects.exists()
        data["bank-company"] = "Northwind Traders"
        response = post(as_manager, due_invoice, data)
        assert "Payment submitted — pending until your bank settles it" in response.text
        payment = Payment.objects.get()
        assert (payment.state, payment.method_brand, payment.method_last4) == (
            PaymentState.PENDING,
            "checking",
            "3815",
        )


class TestTampering:
    def test_a_posted_amount_is_refused_without_a_gateway_call(
        self, as_manager, due_invoice, card_token, sandbox_gateway
    ):
        data = card_post(window(as_manager, due_invoice), due_invoice, card_token(), amount="1.00")
        response = post(as_manager, due_invoice, data)
        assert "The amount due is now $1,234.00" in response.text
        assert not Payment.objects.exists()
        assert sales_at_gateway(sandbox_gateway) == []

    def test_another_organizations_invoice_is_not_found(
        self, as_manager, contoso_invoice, due_invoice, card_token, sandbox_gateway
    ):
        data = card_post(window(as_manager, due_invoice), contoso_invoice, card_token())
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
