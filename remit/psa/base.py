"""The PSA connector interface. A connector reads companies, contacts and invoices (with their
lines) from a PSA and hands them over as these plain records; `remit.psa.sync` writes them through
the same services the API uses. Autotask is the first connector (`remit.psa.autotask`);
ConnectWise Manage or HaloPSA would be another class beside it, with no change to billing code."""

from __future__ import annotations

import abc
import datetime
from dataclasses import dataclass, field
from decimal import Decimal


class PsaError(Exception):
    """Reading from the PSA failed for good (after retries). `kind` names what failed: auth, zone,
    unreachable, rate_limited, server, timeout, malformed, bad_request."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.message, self.kind = message, kind


@dataclass(frozen=True)
class PsaCompany:
    external_id: str
    name: str
    is_active: bool
    currency: str


@dataclass(frozen=True)
class PsaContact:
    external_id: str
    company_id: str
    email: str
    first_name: str
    last_name: str
    is_active: bool
    is_primary: bool


@dataclass(frozen=True)
class PsaLine:
    description: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal  # as the PSA computed it (checked against quantity × unit price)


@dataclass
class PsaInvoice:
    external_id: str
    company_id: str
    number: str
    invoice_date: datetime.date | None
    due_in_days: int
    terms: str
    total: Decimal
    tax: Decimal
    is_voided: bool
    memo: str = ""
    lines: list[PsaLine] | None = field(default=None)  # read separately, only when needed


class PsaConnector(abc.ABC):
    """One PSA account. Every method reads everything it returns (following pages) or raises
    PsaError: a sync never works from half a list."""

    kind: str

    @abc.abstractmethod
    def test_connection(self) -> str:
        """Reach the PSA with the credentials; a short description of where (e.g. the zone)."""

    @abc.abstractmethod
    def companies(self, types: list[int]) -> list[PsaCompany]:
        """Companies of these types, active or not (an inactive one deactivates its organization)."""

    @abc.abstractmethod
    def contacts(self, company_ids: list[str]) -> list[PsaContact]: ...

    @abc.abstractmethod
    def invoices(self, company_ids: list[str]) -> list[PsaInvoice]:
        """The invoices of these companies, without their lines."""

    @abc.abstractmethod
    def invoice_lines(self, invoice_ids: list[str]) -> dict[str, list[PsaLine]]: ...

    @property
    def requests(self) -> int:
        return 0

    def close(self) -> None:  # noqa: B027  (optional)
        pass
