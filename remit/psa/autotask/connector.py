"""The Autotask connector: Autotask's entities (docs/autotask.md) as the PSA records of base.py."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from decimal import Decimal

from remit.psa.autotask.client import AutotaskClient, AutotaskError, Credentials
from remit.psa.base import PsaCompany, PsaConnector, PsaContact, PsaError, PsaInvoice, PsaLine

CHUNK = 200  # ids per `in` filter


def _chunks(ids: list[str], size: int = CHUNK) -> Iterator[list[int]]:
    numbers = sorted({int(value) for value in ids})
    for start in range(0, len(numbers), size):
        yield numbers[start : start + size]


def _date(value) -> datetime.date | None:
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return datetime.date.fromisoformat(value[:10])
    except ValueError:
        return None


def _decimal(value) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    raise ValueError(f"not a number: {value!r}")


class AutotaskConnector(PsaConnector):
    kind = "autotask"

    def __init__(self, client: AutotaskClient) -> None:
        self.client = client
        self._terms: dict[int, tuple[str, int]] | None = None
        self._currencies: dict[int, str] | None = None

    @classmethod
    def from_credentials(
        cls, username: str, secret: str, integration_code: str, *, zone_lookup_url: str, **options
    ) -> AutotaskConnector:
        credentials = Credentials(username, secret, integration_code)
        return cls(AutotaskClient(credentials, zone_lookup_url=zone_lookup_url, **options))

    @property
    def requests(self) -> int:
        return self.client.requests

    @property
    def zone_url(self) -> str:
        return self.client.zone_url

    def close(self) -> None:
        self.client.close()

    def _query(self, entity: str, filter: list[dict], fields: list[str] | None = None):
        try:
            return self.client.query_all(entity, filter, fields)
        except AutotaskError as error:
            raise PsaError(error.message, error.kind) from None

    def test_connection(self) -> str:
        try:
            return self.client.test_connection()
        except AutotaskError as error:
            raise PsaError(error.message, error.kind) from None

    # -- reference data --

    def _payment_terms(self) -> dict[int, tuple[str, int]]:
        if self._terms is None:
            items = self._query("PaymentTerms", [{"op": "gte", "field": "id", "value": 0}])
            self._terms = {
                item["id"]: (str(item.get("name") or ""), int(item.get("paymentDueInDays") or 0))
                for item in items
            }
        return self._terms

    def _currency_names(self) -> dict[int, str]:
        if self._currencies is None:
            items = self._query("Currencies", [{"op": "gte", "field": "id", "value": 0}])
            self._currencies = {item["id"]: str(item.get("name") or "") for item in items}
        return self._currencies

    # -- entities --

    def companies(self, types: list[int]) -> list[PsaCompany]:
        items = self._query(
            "Companies",
            [{"op": "in", "field": "companyType", "value": list(types)}],
            ["companyName", "companyType", "isActive", "currencyID"],
        )
        currencies = self._currency_names()
        return [
            PsaCompany(
                external_id=str(item["id"]),
                name=str(item.get("companyName") or "").strip(),
                is_active=bool(item.get("isActive")),
                # No currency on the company: the instance's internal currency.
                currency=currencies.get(item.get("currencyID"), "USD") or "USD",
            )
            for item in items
        ]

    def contacts(self, company_ids: list[str]) -> list[PsaContact]:
        contacts = []
        for chunk in _chunks(company_ids):
            items = self._query(
                "Contacts",
                [{"op": "in", "field": "companyID", "value": chunk}],
                [
                    "companyID",
                    "emailAddress",
                    "firstName",
                    "lastName",
                    "isActive",
                    "primaryContact",
                ],
            )
            contacts += [
                PsaContact(
                    external_id=str(item["id"]),
                    company_id=str(item.get("companyID")),
                    email=str(item.get("emailAddress") or "").strip(),
                    first_name=str(item.get("firstName") or "").strip(),
                    last_name=str(item.get("lastName") or "").strip(),
                    is_active=bool(item.get("isActive")),
                    is_primary=bool(item.get("primaryContact")),
                )
                for item in items
            ]
        return contacts

    def invoices(self, company_ids: list[str]) -> list[PsaInvoice]:
        terms = self._payment_terms()
        invoices = []
        for chunk in _chunks(company_ids):
            items = self._query(
                "Invoices",
                [{"op": "in", "field": "companyID", "value": chunk}],
                [
                    "companyID",
                    "invoiceNumber",
                    "invoiceDateTime",
                    "invoiceTotal",
                    "totalTaxValue",
                    "isVoided",
                    "paymentTerm",
                    "comments",
                ],
            )
            for item in items:
                name, days = terms.get(item.get("paymentTerm"), ("Net 30", 30))
                try:
                    total, tax = (
                        _decimal(item.get("invoiceTotal")),
                        _decimal(item.get("totalTaxValue") or 0),
                    )
                except ValueError:
                    total, tax = Decimal("-1"), Decimal("0")  # reported by the sync as not a number
                invoices.append(
                    PsaInvoice(
                        external_id=str(item["id"]),
                        company_id=str(item.get("companyID")),
                        # Autotask shows the id where an invoice has no number.
                        number=str(item.get("invoiceNumber") or item["id"]).strip(),
                        invoice_date=_date(item.get("invoiceDateTime")),
                        due_in_days=days,
                        terms=name or f"Net {days}",
                        total=total,
                        tax=tax,
                        is_voided=bool(item.get("isVoided")),
                        memo=str(item.get("comments") or ""),
                    )
                )
        return invoices

    def invoice_lines(self, invoice_ids: list[str]) -> dict[str, list[PsaLine]]:
        lines: dict[str, list[PsaLine]] = {str(value): [] for value in invoice_ids}
        for chunk in _chunks(invoice_ids):
            items = self._query(
                "BillingItems",
                [{"op": "in", "field": "invoiceID", "value": chunk}],
                ["invoiceID", "itemName", "description", "quantity", "rate", "extendedPrice"],
            )
            for item in sorted(items, key=lambda item: item["id"]):
                lines.setdefault(str(item.get("invoiceID")), []).append(
                    PsaLine(
                        description=str(item.get("description") or item.get("itemName") or "")[
                            :300
                        ],
                        quantity=_decimal(item.get("quantity") or 0),
                        unit_price=_decimal(item.get("rate") or 0),
                        amount=_decimal(item.get("extendedPrice") or 0),
                    )
                )
        return lines
