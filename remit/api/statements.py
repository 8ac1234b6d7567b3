"""An organization's statement of account over the integration API (scope `payments:read`):
GET /api/organizations/{external_id}/statement?as_of=…&start=…. The figures are the portal's
Statement page's (remit/billing/statement.py): open items, the period's payments, the aging buckets."""

from __future__ import annotations

import datetime
from typing import Literal

from django.utils import timezone
from ninja import Query, Schema
from pydantic import Field

from remit.accounts.models import Organization
from remit.api.api import AUTH_ERRORS, ExternalId, _caller, api
from remit.api.auth import ApiKeyAuth
from remit.api.models import ApiKey, Scope
from remit.api.problems import ApiProblem, invalid
from remit.api.schemas import DateIn, Money, PaymentOut, Problem
from remit.api.selectors import payment_data, payments_represented
from remit.billing.models import Invoice
from remit.billing.statement import STATEMENT_ITEMS, statement
from remit.payments.models import Payment

BucketKey = Literal["current", "d1_30", "d31_60", "d61_90", "d90"]
DEFAULT_PERIOD = datetime.timedelta(days=30)  # as the portal's Statement page
EARLIEST = datetime.date(1900, 1, 1)


class AgingBucketOut(Schema):
    """What is open, by how long past due on the statement's date."""

    key: BucketKey = Field(
        description="current (not yet due), d1_30, d31_60, d61_90 or d90 (more than 90 days "
        "past due)."
    )
    label: str = Field(description='As the portal shows it: "Current", "1–30 days", …')
    amount: Money


class OpenItemOut(Schema):
    """An issued invoice not fully paid."""

    invoice_number: str
    invoice_date: datetime.date
    due_date: datetime.date
    days_past_due: int = Field(description="On the statement's date; 0 when not yet due.")
    currency: str
    total: Money = Field(description="The invoice's original amount.")
    amount_due: Money = Field(description="What is still open of it.")


class StatementOut(Schema):
    """An organization's statement of account, as the client's Statement page shows it."""

    organization_external_id: str
    start: datetime.date = Field(description="The period's first day.")
    as_of: datetime.date = Field(description="The period's last day; the aging is as of it.")
    total_open: Money = Field(description="Every open invoice's amount due (the buckets' sum).")
    aging: list[AgingBucketOut] = Field(description="The five buckets, Current first.")
    open_items: list[OpenItemOut] = Field(
        description=f"Open invoices, the oldest due first; at most {STATEMENT_ITEMS} (the "
        "aging and `total_open` count them all)."
    )
    payments: list[PaymentOut] = Field(
        description="Payments made in the period (any state), newest first, with their "
        f"allocations; at most {STATEMENT_ITEMS}."
    )


AsOf = Query(None, description="The statement's date (YYYY-MM-DD); omit for today.")
Start = Query(
    None, description="The period's first day (YYYY-MM-DD); omit for 30 days before as_of."
)


def organization_for_key(api_key: ApiKey, external_id: str) -> Organization:
    """The organization a key reads an account of: one it manages (created, or was granted by
    staff). Any other, like one that does not exist, is a 404: the answer does not tell them
    apart."""
    organization = api_key.organizations.filter(external_id=external_id).first()
    if organization is None:
        raise ApiProblem(
            404,
            f"This API key reaches no organization with the external id {external_id}. "
            "Provider staff can grant an organization to a key in the back office "
            "(Integration API → API keys).",
        )
    return organization


def _period(as_of: datetime.date | None, start: datetime.date | None):
    for name, value in (("as_of", as_of), ("start", start)):
        if value is not None and value < EARLIEST:  # and the aging's arithmetic stays in range
            detail = f"must be on or after {EARLIEST.isoformat()}"
            raise invalid([{"detail": detail, "parameter": name, "code": "too_early"}])
    as_of = as_of or timezone.localdate()
    start = start or as_of - DEFAULT_PERIOD
    if start > as_of:
        raise invalid(
            [
                {
                    "detail": "must be on or before as_of",
                    "parameter": "start",
                    "code": "start_after_as_of",
                }
            ]
        )
    return start, as_of


@api.get(
    "/organizations/{external_id}/statement",
    response={200: StatementOut, 404: Problem, **AUTH_ERRORS},
    auth=ApiKeyAuth(Scope.PAYMENTS_READ),
    tags=["Organizations"],
    summary="Get an organization's statement of account and aging",
)
def organization_statement(
    request,
    external_id: str = ExternalId,
    as_of: DateIn | None = AsOf,
    start: DateIn | None = Start,
):
    """Scope `payments:read`, for an organization the key manages (else 404). Open items with
    their original and open amounts, the payments of the period from `start` to `as_of`, and the
    aging of what is open today by how long past due it is on `as_of`: Current (not yet due),
    1–30, 31–60, 61–90 and 90+ days."""
    caller = _caller(request, "as_of", "start")
    organization = organization_for_key(caller.api_key, external_id)
    start, as_of = _period(as_of, start)
    data = statement(
        Invoice.objects.filter(organization=organization),
        payments_represented(Payment.objects.filter(organization=organization)),
        start=start,
        as_of=as_of,
    )
    return {
        "organization_external_id": organization.external_id,
        "start": start,
        "as_of": as_of,
        "total_open": data["total_open"],
        "aging": [
            {"key": bucket.key, "label": bucket.label, "amount": bucket.amount}
            for bucket in data["buckets"]
        ],
        "open_items": [
            {
                "invoice_number": invoice.number,
                "invoice_date": invoice.invoice_date,
                "due_date": invoice.due_date,
                "days_past_due": max((as_of - invoice.due_date).days, 0),
                "currency": invoice.currency,
                "total": invoice.total,
                "amount_due": invoice.amount_due,
            }
            for invoice in data["items"]
        ],
        "payments": [payment_data(payment) for payment in data["payments"]],
    }
