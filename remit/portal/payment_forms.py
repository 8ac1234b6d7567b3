"""The Make a Payment window's forms, with the seed's labels. Validated on the server; the card
number, CVV and account number are never written back into a page."""

from __future__ import annotations

import uuid

from django import forms
from django.utils import timezone
from localflavor.ca.forms import CAPostalCodeField, CAProvinceSelect
from localflavor.us.forms import USStateSelect, USZipCodeField

from remit.gateway.base import AccountHolderType, AccountType, BankAccount, Billing, Card
from remit.payments import cards
from remit.payments.models import MethodKind, PaymentMethod
from remit.payments.services import NewBankAccount, NewCard, PaymentChoice, SavedMethod

NEW_CARD = "new_card"
NEW_BANK = "new_bank"
COUNTRIES = [("US", "United States"), ("CA", "Canada")]


class SensitiveInput(forms.TextInput):
    """A text input that never renders its value back: what was typed is not echoed in the page."""

    def format_value(self, value):
        return None


class PayForm(forms.Form):
    """Which method, the attempt key of this window, and the payer's confirmation."""

    attempt_key = forms.UUIDField(widget=forms.HiddenInput)
    amount = forms.DecimalField(max_digits=12, decimal_places=2, widget=forms.HiddenInput)
    method = forms.ChoiceField(label="Pay with", widget=forms.RadioSelect)
    confirmed = forms.CharField(required=False, widget=forms.HiddenInput)
    authorize = forms.BooleanField(required=False)

    def __init__(
        self, *args, methods: list[PaymentMethod], offers_card: bool, offers_echeck: bool, **kwargs
    ):
        super().__init__(*args, **kwargs)
        self.methods = {str(method.pk): method for method in methods}
        choices = [(f"saved:{pk}", method.label) for pk, method in self.methods.items()]
        if offers_card:
            choices.append((NEW_CARD, "New credit card"))
        if offers_echeck:
            choices.append((NEW_BANK, "New bank account (eCheck)"))
        self.fields["method"].choices = choices
        self.fields["method"].error_messages["invalid_choice"] = "Choose how to pay."
        self.fields["method"].error_messages["required"] = "Choose how to pay."

    @property
    def saved_method(self) -> PaymentMethod | None:
        value = self.cleaned_data.get("method", "")
        return (
            self.methods.get(value.removeprefix("saved:")) if value.startswith("saved:") else None
        )

    @property
    def kind(self) -> str | None:
        value = self.cleaned_data.get("method", "")
        if value == NEW_CARD:
            return MethodKind.CARD
        if value == NEW_BANK:
            return MethodKind.ECHECK
        method = self.saved_method
        return method.kind if method else None

    def clean(self):
        cleaned = super().clean()
        if self.kind == MethodKind.ECHECK and not cleaned.get("authorize"):
            self.add_error("authorize", "Please authorize the debit from your bank account.")
        return cleaned

    @staticmethod
    def new_attempt_key() -> uuid.UUID:
        return uuid.uuid4()


class AddressFields(forms.Form):
    """Name and billing address, shared by both kinds of method."""

    first_name = forms.CharField(
        label="First Name", max_length=60, widget=forms.TextInput({"autocomplete": "given-name"})
    )
    last_name = forms.CharField(
        label="Last Name", max_length=60, widget=forms.TextInput({"autocomplete": "family-name"})
    )
    address1 = forms.CharField(
        label="Street address",
        max_length=120,
        widget=forms.TextInput({"autocomplete": "address-line1"}),
    )
    address2 = forms.CharField(
        label="Apartment, suite (optional)",
        max_length=120,
        required=False,
        widget=forms.TextInput({"autocomplete": "address-line2"}),
    )
    city = forms.CharField(
        label="City", max_length=60, widget=forms.TextInput({"autocomplete": "address-level2"})
    )
    state = forms.CharField(label="State", max_length=2)
    zip = forms.CharField(
        label="ZIP code", max_length=10, widget=forms.TextInput({"autocomplete": "postal-code"})
    )
    country = forms.ChoiceField(label="Country", choices=COUNTRIES, initial="US")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        states = [("", "Choose…"), *USStateSelect().choices, *CAProvinceSelect().choices]
        self.fields["state"].widget = forms.Select(
            choices=states, attrs={"autocomplete": "address-level1"}
        )

    def clean(self):
        cleaned = super().clean()
        country, state, postal = cleaned.get("country"), cleaned.get("state"), cleaned.get("zip")
        us_states = {code for code, _ in USStateSelect().choices}
        ca_provinces = {code for code, _ in CAProvinceSelect().choices}
        if country == "US":
            if state and state not in us_states:
                self.add_error("state", "Choose a US state.")
            if postal:
                try:
                    cleaned["zip"] = USZipCodeField().clean(postal)
                except forms.ValidationError:
                    self.add_error("zip", "Enter a ZIP code: 5 digits, or 9 as 12345-6789.")
        elif country == "CA":
            if state and state not in ca_provinces:
                self.add_error("state", "Choose a Canadian province or territory.")
            if postal:
                try:
                    cleaned["zip"] = CAPostalCodeField().clean(postal)
                except forms.ValidationError:
                    self.add_error("zip", "Enter a postal code like K1A 0B1.")
        return cleaned

    def billing(self, *, company: str = "", email: str = "") -> Billing:
        data = self.cleaned_data
        return Billing(
            first_name=data["first_name"],
            last_name=data["last_name"],
            company=company,
            address1=data["address1"],
            address2=data.get("address2", ""),
            city=data["city"],
            state=data["state"],
            zip=data["zip"],
            country=data["country"],
            email=email,
        )


class CardForm(AddressFields):
    """Add Credit Card."""

    card_number = forms.CharField(
        label="Credit Card Number",
        strip=False,
        max_length=40,
        help_text="Enter the credit card number without any spaces.",
        widget=SensitiveInput({"autocomplete": "cc-number", "inputmode": "numeric"}),
    )
    expiration = forms.CharField(
        label="Expiration",
        max_length=7,
        help_text="MM/YY",
        widget=forms.TextInput(
            {"autocomplete": "cc-exp", "placeholder": "MM/YY", "inputmode": "numeric"}
        ),
    )
    cvv = forms.CharField(
        label="CVV",
        strip=False,
        max_length=4,
        help_text="3 digits on the back; 4 on the front for American Express.",
        widget=SensitiveInput({"autocomplete": "cc-csc", "inputmode": "numeric"}),
    )
    save = forms.BooleanField(
        label="Save payment information",
        required=False,
        help_text="Kept in the gateway's secure vault, not by us, for your next payment.",
    )

    field_order = ["card_number", "expiration", "cvv", "first_name", "last_name"]

    def clean_card_number(self):
        number = self.cleaned_data["card_number"]
        if problem := cards.card_number_problem(number):
            raise forms.ValidationError(problem)
        return number

    def clean_expiration(self):
        parsed = cards.parse_expiry(self.cleaned_data["expiration"], timezone.localdate())
        if isinstance(parsed, str):
            raise forms.ValidationError(parsed)
        return parsed

    def clean(self):
        cleaned = super().clean()
        number, cvv = cleaned.get("card_number"), cleaned.get("cvv", "")
        if number and cvv is not None:
            expected = cards.cvv_length(cards.card_brand(number))
            if not (cvv.isdigit() and len(cvv) == expected):
                self.add_error("cvv", f"Enter the {expected}-digit security code from your card.")
        elif cvv is not None and not (cvv.isdigit() and len(cvv) in (3, 4)):
            self.add_error("cvv", "Enter the 3- or 4-digit security code from your card.")
        return cleaned

    def choice(self, *, email: str = "") -> PaymentChoice:
        month, year = self.cleaned_data["expiration"]
        card = Card(
            number=self.cleaned_data["card_number"],
            exp_month=month,
            exp_year=year,
            cvv=self.cleaned_data["cvv"],
        )
        return NewCard(card=card, billing=self.billing(email=email))


class BankForm(AddressFields):
    """Add Bank Information (eCheck)."""

    account_holder_type = forms.ChoiceField(
        label="Account Holder Type",
        choices=[
            (AccountHolderType.PERSONAL, "Personal"),
            (AccountHolderType.BUSINESS, "Business"),
        ],
        widget=forms.RadioSelect,
        initial=AccountHolderType.PERSONAL,
    )
    account_type = forms.ChoiceField(
        label="Account Type",
        choices=[(AccountType.CHECKING, "Checking"), (AccountType.SAVINGS, "Savings")],
        widget=forms.RadioSelect,
        initial=AccountType.CHECKING,
    )
    name_on_account = forms.CharField(
        label="Name on Account",
        max_length=100,
        help_text="The person or business the account belongs to.",
    )
    account_number = forms.CharField(
        label="Account Number",
        strip=False,
        max_length=30,
        help_text="Typically the second set of numbers on a check.",
        widget=SensitiveInput({"inputmode": "numeric", "autocomplete": "off"}),
    )
    routing_number = forms.CharField(
        label="Routing Number",
        max_length=20,
        help_text="The nine-digit number, usually first on a check.",
        widget=forms.TextInput({"inputmode": "numeric", "autocomplete": "off"}),
    )
    company = forms.CharField(label="Company", max_length=100, required=False)
    save = forms.BooleanField(
        label="Save payment information",
        required=False,
        help_text="Kept in the gateway's secure vault, not by us, for your next payment.",
    )

    field_order = [
        "account_holder_type",
        "account_type",
        "name_on_account",
        "account_number",
        "routing_number",
    ]

    def clean_account_number(self):
        number = self.cleaned_data["account_number"]
        if problem := cards.account_number_problem(number):
            raise forms.ValidationError(problem)
        return number

    def clean_routing_number(self):
        number = self.cleaned_data["routing_number"].strip()
        if problem := cards.routing_number_problem(number):
            raise forms.ValidationError(problem)
        return number

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("account_holder_type") == AccountHolderType.BUSINESS and not cleaned.get(
            "company"
        ):
            self.add_error("company", "Enter the business's name for a business account.")
        return cleaned

    def choice(self, *, email: str = "") -> PaymentChoice:
        data = self.cleaned_data
        account = BankAccount(
            routing_number=data["routing_number"],
            account_number=data["account_number"],
            name_on_account=data["name_on_account"],
            holder_type=AccountHolderType(data["account_holder_type"]),
            account_type=AccountType(data["account_type"]),
        )
        return NewBankAccount(
            account=account, billing=self.billing(company=data.get("company", ""), email=email)
        )


def saved_choice(method: PaymentMethod) -> PaymentChoice:
    return SavedMethod(method=method)
