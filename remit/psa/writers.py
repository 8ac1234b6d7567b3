"""Writing what a PSA sync read, one record per transaction, through the API's own services
(organization_upsert, user_upsert, invoice_upsert), as the connection's own API key.

Each writer answers one outcome per record: created, updated, skipped (unchanged: nothing is
written), failed (with a reason for the sync history) or flagged (left as it is for staff)."""

from __future__ import annotations

import datetime
import hashlib
import json
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from pydantic import ValidationError

from remit.accounts.models import Organization, User
from remit.api.account_services import organization_upsert, user_upsert
from remit.api.problems import ApiProblem
from remit.api.schemas import InvoiceIn, OrganizationIn, UserIn
from remit.api.services import Caller, invoice_upsert
from remit.billing.models import Invoice, InvoiceLine
from remit.core.money import ZERO, format_money, to_money
from remit.payments.models import Payment
from remit.psa.base import PsaCompany, PsaContact, PsaInvoice
from remit.psa.models import InviteRule, PsaConnection, PsaLink

CREATED, UPDATED, SKIPPED, FAILED, FLAGGED = "created", "updated", "skipped", "failed", "flagged"
VOID_REASON = "Voided in Autotask"


class Outcome(Exception):
    """A record's outcome other than a write: failed or flagged, with the reason."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind, self.reason = kind, reason


def fingerprint(*parts) -> str:
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()[:32]


def organization_ref(company_id: str) -> str:
    return f"autotask:{company_id}"


def contact_ref(contact_id: str) -> str:
    return f"autotask:contact:{contact_id}"


def _problem(error: ApiProblem) -> str:
    errors = error.extra.get("errors") or []
    details = "; ".join(e.get("detail", "") for e in errors if e.get("detail"))
    return (
        f"{error.detail} {details}".strip() if details and details != error.detail else error.detail
    )


def _invalid(error: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(part) for part in e['loc'])}: {e['msg']}" for e in error.errors()
    )


class Writer:
    def __init__(self, connection: PsaConnection, caller: Caller) -> None:
        self.connection, self.caller = connection, caller
        links = PsaLink.objects.filter(connection=connection)
        self.links = {(link.entity, link.external_id): link for link in links}

    def _link(self, entity: str, external_id: str, local_id: int, print_: str) -> None:
        link = self.links.get((entity, external_id))
        if link is None:
            link = PsaLink(connection=self.connection, entity=entity, external_id=external_id)
        link.local_id, link.fingerprint, link.synced_at = local_id, print_, timezone.now()
        link.save()
        self.links[(entity, external_id)] = link

    def unchanged(self, entity: str, external_id: str, print_: str) -> bool:
        link = self.links.get((entity, external_id))
        return link is not None and link.fingerprint == print_

    # -- companies --

    def company(self, company: PsaCompany) -> str:
        print_ = fingerprint(company.name, company.is_active)
        if self.unchanged("company", company.external_id, print_):
            return SKIPPED
        if not company.is_active and ("company", company.external_id) not in self.links:
            return SKIPPED  # never synced, and inactive: nothing to do
        if not company.name:
            raise Outcome(FAILED, "The company has no name.")
        try:
            data = OrganizationIn(name=company.name[:200], is_active=company.is_active)
        except ValidationError as error:
            raise Outcome(FAILED, _invalid(error)) from None
        with transaction.atomic():
            try:
                result = organization_upsert(
                    organization_ref(company.external_id), data, caller=self.caller
                )
            except ApiProblem as error:
                raise Outcome(FAILED, _problem(error)) from None
            self._link("company", company.external_id, result.obj.pk, print_)
        return CREATED if result.created else (UPDATED if result.changes else SKIPPED)

    # -- contacts --

    def contact(self, contact: PsaContact, *, invite) -> str:
        print_ = fingerprint(
            contact.email.lower(),
            contact.first_name,
            contact.last_name,
            contact.company_id,
            contact.is_active,
        )
        if self.unchanged("contact", contact.external_id, print_):
            return SKIPPED
        known = ("contact", contact.external_id) in self.links
        if not contact.is_active and not known:
            return SKIPPED
        if not contact.email:
            raise Outcome(FAILED, "The contact has no email address.")
        invite_now = (
            not known
            and contact.is_active
            and contact.is_primary
            and self.connection.invite_rule == InviteRule.PRIMARY
        )
        try:
            data = UserIn(
                email=contact.email,
                first_name=contact.first_name[:80],
                last_name=contact.last_name[:80],
                organization=organization_ref(contact.company_id),
                # New portal users wait for staff to invite them (or the provider's rule);
                # later syncs leave that choice alone, but an inactive contact is deactivated.
                is_active=(invite_now if not known else None) if contact.is_active else False,
            )
        except ValidationError as error:
            raise Outcome(FAILED, _invalid(error)) from None
        with transaction.atomic():
            try:
                result = user_upsert(contact_ref(contact.external_id), data, caller=self.caller)
            except ApiProblem as error:
                raise Outcome(FAILED, _problem(error)) from None
            self._link("contact", contact.external_id, result.obj.pk, print_)
            if invite_now and result.created:
                invite(result.obj)
        return CREATED if result.created else (UPDATED if result.changes else SKIPPED)

    # -- invoices --

    def invoice_header_print(self, invoice: PsaInvoice) -> str:
        return fingerprint(
            invoice.number,
            invoice.company_id,
            invoice.invoice_date,
            invoice.due_in_days,
            invoice.terms,
            invoice.total,
            invoice.tax,
            invoice.is_voided,
            invoice.memo,
        )

    def needs_lines(self, invoice: PsaInvoice) -> bool:
        link = self.links.get(("invoice", invoice.external_id))
        return link is None or not link.fingerprint.startswith(self.invoice_header_print(invoice))

    def invoice(self, invoice: PsaInvoice, *, currency: str) -> str:
        header = self.invoice_header_print(invoice)
        if not self.needs_lines(invoice):
            return SKIPPED
        if currency != "USD":
            raise Outcome(
                FAILED, f"The company bills in {currency}; Remit takes payments in USD only."
            )
        if invoice.invoice_date is None:
            raise Outcome(FAILED, "The invoice has no invoice date.")
        if invoice.total < ZERO:
            raise Outcome(FAILED, "The invoice total is not a number or below zero.")
        lines = invoice.lines or []
        if not lines:
            raise Outcome(FAILED, "The invoice has no billing items.")
        for line in lines:
            if InvoiceLine.amount_for(line.quantity, line.unit_price) != to_money(line.amount):
                raise Outcome(
                    FAILED,
                    f"The billing item {line.description!r} is {line.quantity} × {line.unit_price}"
                    f" but its extended price is {line.amount}.",
                )
        subtotal = to_money(sum((line.amount for line in lines), ZERO))
        if to_money(subtotal + invoice.tax) != to_money(invoice.total):
            raise Outcome(
                FAILED,
                f"The lines add up to {format_money(subtotal)} + tax {format_money(invoice.tax)},"
                f" but the invoice total is {format_money(invoice.total)}.",
            )
        print_ = header + fingerprint(
            [(line.description, line.quantity, line.unit_price) for line in lines]
        )
        existing = Invoice.objects.filter(number=invoice.number).first()
        link = self.links.get(("invoice", invoice.external_id))
        if existing is not None and (link is None or link.local_id != existing.pk):
            raise Outcome(
                FAILED,
                f"The invoice number {invoice.number} is already used in Remit by another invoice.",
            )
        if existing is not None:
            self._refuse_changing_paid(existing, invoice, subtotal)
        try:
            data = InvoiceIn.model_validate(
                {
                    "organization": organization_ref(invoice.company_id),
                    "invoice_date": invoice.invoice_date.isoformat(),
                    "due_date": (
                        invoice.invoice_date + datetime.timedelta(days=invoice.due_in_days)
                    ).isoformat(),
                    "lines": [
                        {
                            "description": line.description or "Billing item",
                            "quantity": f"{line.quantity:.2f}",
                            "unit_price": f"{line.unit_price:.2f}",
                        }
                        for line in lines
                    ],
                    "terms": invoice.terms[:60],
                    "state": "void" if invoice.is_voided else "issued",
                    "tax": f"{invoice.tax:.2f}",
                    "memo": invoice.memo[:5000],
                    "void_reason": VOID_REASON if invoice.is_voided else "",
                }
            )
        except ValidationError as error:
            raise Outcome(FAILED, _invalid(error)) from None
        with transaction.atomic():
            try:
                result = invoice_upsert(invoice.number, data, caller=self.caller)
            except ApiProblem as error:
                raise Outcome(FAILED, _problem(error)) from None
            self._link("invoice", invoice.external_id, result.obj.pk, print_)
        return CREATED if result.created else (UPDATED if result.changes else SKIPPED)

    @staticmethod
    def _refuse_changing_paid(existing: Invoice, invoice: PsaInvoice, subtotal: Decimal) -> None:
        """Money was paid against it in Remit: its amount is never overwritten from Autotask."""
        if existing.amount_paid <= ZERO and not Payment.objects.filter(invoice=existing).exists():
            return
        wants_void = invoice.is_voided and existing.state != Invoice.State.VOID
        if to_money(invoice.total) != existing.total or wants_void:
            what = (
                "is voided in Autotask"
                if wants_void
                else f"is {format_money(invoice.total)} in Autotask, {format_money(existing.total)} in Remit"
            )
            raise Outcome(
                FLAGGED,
                f"Invoice {existing.number} {what}; it has payments in Remit "
                f"({format_money(existing.amount_paid)} paid), so it was left as it is.",
            )


def organization_for(company_id: str) -> Organization | None:
    return Organization.objects.filter(external_id=organization_ref(company_id)).first()


def portal_user(contact_id: str) -> User | None:
    return User.objects.filter(external_id=contact_ref(contact_id)).first()
