"""CSV import of invoices: every row is checked first; then all invoices are created in one
transaction, or, if any row is wrong, none, with a report of each problem (row, column, message).

The file: UTF-8 (a byte-order mark is fine), comma-separated, one header row. One row per invoice
line; the rows of one invoice share its invoice_number (they need not be next to each other). Row
numbers count the header as row 1, as a spreadsheet shows them. See COLUMNS and docs/backoffice.md.
"""

from __future__ import annotations

import csv
import datetime
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from remit.accounts.models import Organization
from remit.audit.models import AuditEvent
from remit.audit.services import record_event
from remit.backoffice.models import InvoiceImport
from remit.billing.models import Invoice, InvoiceLine
from remit.billing.services import LineSpec, invoice_create, invoice_totals
from remit.core.money import ZERO

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 20_000
MAX_REPORTED_ERRORS = 1_000
PROGRESS_EVERY = 100
LARGEST_AMOUNT = Decimal("9999999999.99")  # what a money column (12 digits, 2 places) holds


@dataclass(frozen=True)
class Column:
    name: str
    required: bool
    per_invoice: bool  # the same on every row of one invoice (or left empty after the first)
    help: str


COLUMNS = [
    Column(
        "invoice_number",
        True,
        True,
        "Unique; up to 40 characters. Rows with the same number form one invoice.",
    ),
    Column("organization", True, True, "The organization's external id, or its exact name."),
    Column("invoice_date", True, True, "YYYY-MM-DD (or MM/DD/YYYY)."),
    Column("due_date", True, True, "YYYY-MM-DD (or MM/DD/YYYY); not before the invoice date."),
    Column("description", True, False, "The line's description; up to 300 characters."),
    Column("quantity", False, False, "Default 1; more than 0, at most two decimals."),
    Column(
        "unit_price",
        True,
        False,
        "In the invoice's currency, e.g. 95.00; not negative, at most two decimals.",
    ),
    Column("tax", False, True, "The invoice's tax amount; default 0."),
    Column("terms", False, True, "Default Net 30."),
    Column("memo", False, True, "Shown on the invoice."),
    Column("state", False, True, "issued (default) or draft."),
]
COLUMN_NAMES = [column.name for column in COLUMNS]
PER_INVOICE = [column.name for column in COLUMNS if column.per_invoice]


@dataclass
class RowError:
    row: int
    column: str
    message: str

    def as_dict(self) -> dict:
        return {"row": self.row, "column": self.column, "message": self.message}


@dataclass
class InvoiceDraft:
    """One invoice as the file describes it, once every row of it is valid."""

    number: str
    first_row: int
    organization: Organization | None = None
    invoice_date: datetime.date | None = None
    due_date: datetime.date | None = None
    tax: Decimal = ZERO
    terms: str = "Net 30"
    memo: str = ""
    state: str = Invoice.State.ISSUED
    raw: dict[str, str] = field(default_factory=dict)  # the per-invoice values as first given
    lines: list[LineSpec] = field(default_factory=list)


class FileProblem(Exception):
    """The file as a whole cannot be read (encoding, no header)."""


def decode_upload(data: bytes) -> str:
    if len(data) > MAX_BYTES:
        raise FileProblem(f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FileProblem(
            "The file is not UTF-8 text. Save it as CSV UTF-8 and try again."
        ) from None
    if not text.strip():
        raise FileProblem("The file is empty.")
    return text


# --- Values --------------------------------------------------------------------------------------


def _date(value: str) -> datetime.date:
    for parse in (
        datetime.date.fromisoformat,
        lambda v: datetime.datetime.strptime(v, "%m/%d/%Y").date(),  # noqa: DTZ007 (a date)
    ):
        try:
            return parse(value)
        except ValueError:
            continue
    raise ValueError("Not a date: use YYYY-MM-DD.")


def _decimal(value: str, *, what: str, positive: bool = False) -> Decimal:
    cleaned = value.replace(",", "").replace("$", "").strip()
    try:
        number = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError(f"Not a number: {value!r}.") from None
    if not number.is_finite():
        raise ValueError(f"Not a number: {value!r}.")
    if number.as_tuple().exponent < -2 and number != number.quantize(Decimal("0.01")):
        raise ValueError(f"The {what} has more than two decimals.")
    if positive and number <= 0:
        raise ValueError(f"The {what} must be more than 0.")
    if number < 0:
        raise ValueError(f"The {what} must not be negative.")
    if number > LARGEST_AMOUNT:
        raise ValueError(f"The {what} is too large.")
    return number.quantize(Decimal("0.01"))


class _Organizations:
    """Looks organizations up by external id, then by name (case-insensitive), once each."""

    def __init__(self):
        self._cache: dict[str, Organization | str] = {}

    def find(self, value: str) -> Organization:
        key = value.strip()
        if key not in self._cache:
            self._cache[key] = self._lookup(key)
        found = self._cache[key]
        if isinstance(found, str):
            raise ValueError(found)
        return found

    @staticmethod
    def _lookup(key: str) -> Organization | str:
        by_id = Organization.objects.filter(external_id=key).first()
        if by_id is not None:
            found = by_id
        else:
            named = list(
                Organization.objects.annotate(lname=Lower("name")).filter(lname=key.lower())[:2]
            )
            if len(named) > 1:
                return f"More than one organization is named {key!r}: use its external id."
            if not named:
                return f"No organization has the external id or name {key!r}."
            found = named[0]
        if not found.is_active:
            return f"The organization {found.name!r} is deactivated."
        return found


# --- Checking ------------------------------------------------------------------------------------


def check_rows(
    text: str, progress: Callable[[int, int], None] | None = None
) -> tuple[list[InvoiceDraft], list[RowError], int]:
    """Every problem of the file, row by row, and the invoices it describes. (drafts, errors, rows)"""
    reader = csv.reader(io.StringIO(text, newline=""))
    errors: list[RowError] = []
    try:
        header = next(reader)
    except (StopIteration, csv.Error):
        return [], [RowError(1, "", "The file has no header row.")], 0
    names = [name.strip().lower() for name in header]
    seen: set[str] = set()
    for index, name in enumerate(names, start=1):
        if name not in COLUMN_NAMES:
            errors.append(
                RowError(
                    1, header[index - 1], f"Unknown column (expected: {', '.join(COLUMN_NAMES)})."
                )
            )
        elif name in seen:
            errors.append(RowError(1, name, "This column appears twice."))
        seen.add(name)
    for column in COLUMNS:
        if column.required and column.name not in seen:
            errors.append(RowError(1, column.name, "This required column is missing."))
    if errors:
        return [], errors, 0

    try:
        rows = list(reader)
    except csv.Error as error:
        return [], [RowError(reader.line_num, "", f"The file is not valid CSV: {error}.")], 0
    data_rows = [
        (n, row) for n, row in enumerate(rows, start=2) if any(cell.strip() for cell in row)
    ]
    total = len(data_rows)
    if total == 0:
        return [], [RowError(2, "", "The file has a header but no rows.")], 0
    if total > MAX_ROWS:
        return (
            [],
            [RowError(MAX_ROWS + 2, "", f"The file has more than {MAX_ROWS:,} rows; split it.")],
            total,
        )

    organizations = _Organizations()
    drafts: dict[str, InvoiceDraft] = {}
    for done, (row_number, cells) in enumerate(data_rows, start=1):
        if len(cells) != len(names):
            errors.append(
                RowError(
                    row_number, "", f"The row has {len(cells)} fields; the header has {len(names)}."
                )
            )
        else:
            values = {name: cell.strip() for name, cell in zip(names, cells, strict=True)}
            _check_row(row_number, values, drafts, organizations, errors)
        if progress and (done % PROGRESS_EVERY == 0 or done == total):
            progress(done, total)

    existing = set(Invoice.objects.filter(number__in=list(drafts)).values_list("number", flat=True))
    for number, draft in drafts.items():
        if number in existing:
            errors.append(
                RowError(draft.first_row, "invoice_number", f"Invoice {number} already exists.")
            )
        if draft.lines and draft.invoice_date and draft.due_date:
            _, _, total_amount = invoice_totals(draft.lines, draft.tax)
            if total_amount > LARGEST_AMOUNT:
                errors.append(
                    RowError(draft.first_row, "unit_price", "The invoice total is too large.")
                )
    errors.sort(
        key=lambda e: (e.row, COLUMN_NAMES.index(e.column) if e.column in COLUMN_NAMES else -1)
    )
    return list(drafts.values()), errors, total


def _check_row(row_number, values, drafts, organizations, errors) -> None:
    def error(column: str, message: str) -> None:
        errors.append(RowError(row_number, column, message))

    number = values.get("invoice_number", "")
    if not number:
        error("invoice_number", "The invoice number is required.")
        return
    if len(number) > 40:
        error("invoice_number", "The invoice number is longer than 40 characters.")
        return
    draft = drafts.get(number)
    first = draft is None
    if first:
        draft = drafts[number] = InvoiceDraft(number=number, first_row=row_number)
        _check_invoice_fields(draft, values, organizations, error)
    else:
        for name in PER_INVOICE:
            given = values.get(name, "")
            if name != "invoice_number" and given and given != draft.raw.get(name, ""):
                error(
                    name,
                    f"Differs from row {draft.first_row} of invoice {number} ({draft.raw.get(name, '') or 'empty'!r}).",
                )

    description = values.get("description", "")
    if not description:
        error("description", "The description is required.")
    elif len(description) > 300:
        error("description", "The description is longer than 300 characters.")
    quantity_text = values.get("quantity", "") or "1"
    try:
        quantity = _decimal(quantity_text, what="quantity", positive=True)
        if quantity >= Decimal("100000000"):
            raise ValueError("The quantity is too large.")
    except ValueError as problem:
        error("quantity", str(problem))
        quantity = None
    price_text = values.get("unit_price", "")
    if not price_text:
        error("unit_price", "The unit price is required.")
        price = None
    else:
        try:
            price = _decimal(price_text, what="unit price")
        except ValueError as problem:
            error("unit_price", str(problem))
            price = None
    if quantity is not None and price is not None and description and len(description) <= 300:
        line = LineSpec(description, quantity, price)
        if InvoiceLine.amount_for(quantity, price) > LARGEST_AMOUNT:
            error("unit_price", "The line's amount is too large.")
        else:
            draft.lines.append(line)


def _check_invoice_fields(draft: InvoiceDraft, values, organizations, error) -> None:
    draft.raw = {name: values.get(name, "") for name in PER_INVOICE}
    organization = values.get("organization", "")
    if not organization:
        error("organization", "The organization is required.")
    else:
        try:
            draft.organization = organizations.find(organization)
        except ValueError as problem:
            error("organization", str(problem))
    for name in ("invoice_date", "due_date"):
        text = values.get(name, "")
        if not text:
            error(name, "This date is required.")
            continue
        try:
            setattr(draft, name, _date(text))
        except ValueError as problem:
            error(name, str(problem))
    if draft.invoice_date and draft.due_date and draft.due_date < draft.invoice_date:
        error("due_date", "The due date is before the invoice date.")
    if tax := values.get("tax", ""):
        try:
            draft.tax = _decimal(tax, what="tax")
        except ValueError as problem:
            error("tax", str(problem))
    terms = values.get("terms", "")
    if len(terms) > 60:
        error("terms", "The terms are longer than 60 characters.")
    draft.terms = terms or "Net 30"
    draft.memo = values.get("memo", "")
    state = (values.get("state", "") or Invoice.State.ISSUED).lower()
    if state not in (Invoice.State.ISSUED, Invoice.State.DRAFT):
        error("state", "Use issued or draft.")
    draft.state = state


# --- Running an import ---------------------------------------------------------------------------


def process_import(import_id: int) -> str:
    """The task's body. Safe to run twice: only a queued import is started."""
    now = timezone.now()
    claimed = InvoiceImport.objects.filter(pk=import_id, state=InvoiceImport.State.QUEUED).update(
        state=InvoiceImport.State.VALIDATING, started_at=now
    )
    job = InvoiceImport.objects.select_related("created_by").get(pk=import_id)
    if not claimed:
        return job.state

    def progress(done: int, total: int) -> None:
        InvoiceImport.objects.filter(pk=import_id).update(rows_done=done, rows_total=total)

    drafts, errors, total = check_rows(job.content, progress)
    if errors:
        return _finish_failed(job, errors, total)

    InvoiceImport.objects.filter(pk=import_id).update(
        state=InvoiceImport.State.SAVING, rows_total=total, rows_done=total
    )
    try:
        with transaction.atomic():
            taken = set(
                Invoice.objects.select_for_update()
                .filter(number__in=[d.number for d in drafts])
                .values_list("number", flat=True)
            )
            if taken:
                raise _Taken(taken)
            for draft in drafts:
                invoice_create(
                    organization=draft.organization,
                    number=draft.number,
                    invoice_date=draft.invoice_date,
                    due_date=draft.due_date,
                    lines=draft.lines,
                    tax=draft.tax,
                    terms=draft.terms,
                    state=draft.state,
                    memo=draft.memo,
                )
    except _Taken as taken:
        first_rows = {d.number: d.first_row for d in drafts}
        errors = [
            RowError(first_rows[n], "invoice_number", f"Invoice {n} was created meanwhile.")
            for n in sorted(taken.numbers)
        ]
        return _finish_failed(job, errors, total)
    except IntegrityError:
        errors = [
            RowError(0, "", "The invoices could not be saved (a number was taken meanwhile?).")
        ]
        return _finish_failed(job, errors, total)

    job.state = InvoiceImport.State.SUCCEEDED
    job.invoices_created = len(drafts)
    job.rows_total = job.rows_done = total
    job.finished_at = timezone.now()
    job.message = f"Imported {len(drafts)} invoice(s) from {total} row(s)."
    job.save(
        update_fields=[
            "state",
            "invoices_created",
            "rows_total",
            "rows_done",
            "finished_at",
            "message",
        ]
    )
    record_event(
        "invoice_import.succeeded",
        actor=job.created_by,
        summary=f"CSV import {job.filename}: {len(drafts)} invoice(s) created",
        import_id=job.pk,
        invoices=len(drafts),
        numbers=[d.number for d in drafts[:50]],
    )
    return job.state


class _Taken(Exception):
    def __init__(self, numbers: set[str]):
        self.numbers = numbers


def _finish_failed(job: InvoiceImport, errors: list[RowError], total: int) -> str:
    job.state = InvoiceImport.State.FAILED
    job.error_count = len(errors)
    job.errors = [e.as_dict() for e in errors[:MAX_REPORTED_ERRORS]]
    job.rows_total = total
    job.rows_done = total
    job.finished_at = timezone.now()
    job.message = f"{len(errors)} problem(s) found; nothing was imported."
    job.save(
        update_fields=[
            "state",
            "error_count",
            "errors",
            "rows_total",
            "rows_done",
            "finished_at",
            "message",
        ]
    )
    record_event(
        "invoice_import.failed",
        actor=job.created_by,
        outcome=AuditEvent.Outcome.REFUSED,
        summary=f"CSV import {job.filename} rejected: {len(errors)} problem(s), nothing imported",
        import_id=job.pk,
        problems=len(errors),
    )
    return job.state
