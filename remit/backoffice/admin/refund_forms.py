"""The back office's refund and void forms. A payment of several invoices lists each invoice
(newest first, the order a refund reduces them in unless staff say otherwise) with what it
received and what can still be refunded, and an amount per invoice for staff who choose which
invoices a partial refund reduces; remit.payments.services checks the same again under the
payment's lock."""

from __future__ import annotations

import uuid
from decimal import Decimal

from django import forms

from remit.core.money import ZERO, format_money, to_money
from remit.payments.models import Payment
from remit.payments.services.refunds import split_refund

LINE_PREFIX = "invoice-"


class RefundForm(forms.Form):
    amount = forms.DecimalField(label="Amount to refund", max_digits=12, decimal_places=2)
    reason = forms.CharField(label="Reason", max_length=200)
    request_key = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(self, *args, payment: Payment, **kwargs):
        super().__init__(*args, **kwargs)
        self.payment = payment
        self.fields["amount"].initial = payment.applied_amount
        self.fields[
            "amount"
        ].help_text = f"Up to {format_money(payment.applied_amount, payment.currency)} (what is still applied)."
        self.fields["request_key"].initial = uuid.uuid4()
        # Newest first: the order split_refund reduces them in by default.
        allocations = list(
            payment.allocations.select_related("invoice").order_by(
                "-invoice__invoice_date", "-invoice_id"
            )
        )
        self.lines = []
        if len(allocations) > 1:
            for allocation in allocations:
                name = f"{LINE_PREFIX}{allocation.invoice_id}"
                self.fields[name] = forms.DecimalField(
                    label=f"Refund on invoice {allocation.invoice.number}",
                    required=False,
                    min_value=Decimal("0.00"),
                    max_digits=12,
                    decimal_places=2,
                )
                self.lines.append({"allocation": allocation, "name": name})
        self.split: dict[int, Decimal] = {}
        self.chosen = False  # True when staff entered the amounts per invoice

    def line_fields(self):
        """(allocation, bound field) for the template, newest invoice first."""
        return [(line["allocation"], self[line["name"]]) for line in self.lines]

    def clean_amount(self) -> Decimal:
        amount = to_money(self.cleaned_data["amount"])
        if amount <= 0:
            raise forms.ValidationError("Enter an amount more than zero.")
        if amount > self.payment.applied_amount:
            raise forms.ValidationError(
                f"At most {format_money(self.payment.applied_amount)} can be refunded."
            )
        return amount

    def clean(self):
        data = super().clean()
        amount = data.get("amount")
        entered = {
            line["allocation"].invoice_id: data.get(line["name"])
            for line in self.lines
            if data.get(line["name"]) is not None
        }
        for line in self.lines:
            value, allocation = data.get(line["name"]), line["allocation"]
            if value is not None and to_money(value) > allocation.applied_amount:
                self.add_error(
                    line["name"],
                    f"At most {format_money(allocation.applied_amount)} can be refunded on "
                    f"invoice {allocation.invoice.number}.",
                )
        if amount is None or self.errors:
            return data
        if entered:
            total = to_money(sum(entered.values(), ZERO))
            if total != amount:
                self.add_error(
                    "amount",
                    f"The amounts per invoice add up to {format_money(total)}; they must add up "
                    f"to the refund, {format_money(amount)}.",
                )
                return data
            self.chosen = True
            self.split = {k: to_money(v) for k, v in entered.items() if v > ZERO}
        else:
            self.split = split_refund(self.payment, amount, None)
        return data

    def split_lines(self):
        """The confirmation's list: each invoice this refund reduces, by how much."""
        numbers = {line["allocation"].invoice_id: line["allocation"].invoice for line in self.lines}
        return [(numbers[k], v) for k, v in self.split.items() if k in numbers]


class VoidForm(forms.Form):
    reason = forms.CharField(label="Reason", max_length=200)
    request_key = forms.UUIDField(widget=forms.HiddenInput, initial=uuid.uuid4)
