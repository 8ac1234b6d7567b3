"""The Make a Payment window's forms, with the seed's labels. Validated on the server. Card and
account numbers are not among them: they are typed into the gateway's hosted fields, and the
page posts a single-use payment token instead (docs/pci.md)."""

from __future__ import annotations

import functools
import uuid

from django import forms
from localflavor.ca.forms import CAPostalCodeField, CAProvinceSelect
from localflavor.us.forms import USStateSelect, USZipCodeField

from remit.gateway.base import AccountHolderType, AccountType, Billing, PaymentKind, PaymentToken
from remit.payments.hosted import NewToken, ReportedCard
from remit.payments.models import MethodKind, PaymentMethod
from remit.payments.services import PaymentChoice, SavedMethod

NEW_CARD = "new_card"
NEW_BANK = "new_bank"
COUNTRIES = [("US", "United States"), ("CA", "Canada")]


class PayForm(forms.Form):
    """Which method, the attempt key of this window, and the payer's confirmation."""

    attempt_key = forms.UUIDField(widget=forms.HiddenInput)
    amount = forms.DecimalField(max_digits=12, decimal_places=2, widget=forms.HiddenInput)
    method = forms.ChoiceField(label="Pay with", widget=forms.RadioSelect)
    confirmed = forms.CharField(required=False, widget=forms.HiddenInput)
    # From the hosted fields (Collect.js): stands for a new card or account, for one sale.
    payment_token = forms.RegexField(
        regex=r"^[A-Za-z0-9-]{8,100}$", required=False, widget=forms.HiddenInput
    )
    # The hosted fields' BIN look-up of a new card (payment-fields.js): kept only once the gateway's
    # record of the card confirms its BIN (remit.payments.hosted).
    hosted_bin = forms.CharField(required=False, max_length=8, widget=forms.HiddenInput)
    hosted_category = forms.CharField(required=False, max_length=16, widget=forms.HiddenInput)
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
    def reported_card(self) -> ReportedCard:
        data = self.cleaned_data
        return ReportedCard.from_post(data.get("hosted_bin", ""), data.get("hosted_category", ""))

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


@functools.cache
def _regions() -> tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]:
    """(US states, Canadian provinces) as (code, name), built once: localflavor's lists are lazy
    and sorted again each time they are read (names are not translated: USE_I18N is off)."""
    return tuple((code, str(name)) for code, name in USStateSelect().choices), tuple(
        (code, str(name)) for code, name in CAProvinceSelect().choices
    )


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
        us_states, ca_provinces = _regions()
        states = [("", "Choose…"), *us_states, *ca_provinces]
        self.fields["state"].widget = forms.Select(
            choices=states, attrs={"autocomplete": "address-level1"}
        )

    def clean(self):
        cleaned = super().clean()
        country, state, postal = cleaned.get("country"), cleaned.get("state"), cleaned.get("zip")
        us_states, ca_provinces = ({code for code, _ in r} for r in _regions())
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


# The hosted fields of each kind: (Collect.js field, the seed's label, help text). Drawn by the
# gateway in iframes; Remit's page keeps the labels and the messages, never the values.
CARD_HOSTED_FIELDS = [
    ("ccnumber", "Credit Card Number", "Spaces and dashes are fine: they are removed."),
    ("ccexp", "Expiration", "MM/YY"),
    ("cvv", "CVV", "3 digits on the back; 4 on the front for American Express."),
]
BANK_HOSTED_FIELDS = [
    ("checkname", "Name on Account", "The person or business the account belongs to."),
    ("checkaccount", "Account Number", "Typically the second set of numbers on a check."),
    ("checkaba", "Routing Number", "The nine-digit number, usually first on a check."),
]


class CardForm(AddressFields):
    """Add Credit Card: the number, expiry and CVV are the gateway's hosted fields (a token
    arrives instead); the name and billing address are ours."""

    save = forms.BooleanField(
        label="Save payment information",
        required=False,
        help_text="Kept in the gateway's secure vault, not by us, for your next payment.",
    )

    def choice(
        self, *, token: str, email: str = "", reported: ReportedCard | None = None
    ) -> PaymentChoice:
        return NewToken(
            token=PaymentToken(token=token, kind=PaymentKind.CARD),
            billing=self.billing(email=email),
            reported=reported or ReportedCard(),
        )


class BankForm(AddressFields):
    """Add Bank Information (eCheck): name on account, account and routing numbers are hosted
    fields; the holder and account types, name, company and address are ours."""

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
    company = forms.CharField(label="Company", max_length=100, required=False)
    save = forms.BooleanField(
        label="Save payment information",
        required=False,
        help_text="Kept in the gateway's secure vault, not by us, for your next payment.",
    )

    field_order = ["account_holder_type", "account_type"]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("account_holder_type") == AccountHolderType.BUSINESS and not cleaned.get(
            "company"
        ):
            self.add_error("company", "Enter the business's name for a business account.")
        return cleaned

    def choice(
        self, *, token: str, email: str = "", reported: ReportedCard | None = None
    ) -> PaymentChoice:
        data = self.cleaned_data
        return NewToken(
            token=PaymentToken(
                token=token,
                kind=PaymentKind.ECHECK,
                holder_type=AccountHolderType(data["account_holder_type"]),
                account_type=AccountType(data["account_type"]),
            ),
            billing=self.billing(company=data.get("company", ""), email=email),
        )


def saved_choice(method: PaymentMethod) -> PaymentChoice:
    return SavedMethod(method=method)
