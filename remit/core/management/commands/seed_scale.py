"""`remit seed-scale`: bulk data for measuring Remit at a realistic size.

    remit seed-scale --organizations 1000 --invoices 1000000 [--lines-per-invoice 1-4] [--seed 42]

Each run adds N client organizations (a Manager and a User each) and M invoices spread unevenly over
them: one managed-services invoice a month per organization, plus project and hardware invoices,
over the last five years, numbered in date order. Most are paid; recent ones are due or overdue,
some partly paid, about 1% void. Amounts are whole cents, so every invoice's total is exactly the
sum of its lines plus tax, as `invoice_create` would compute it.

A run is numbered (its invoice numbers start `S01-`, `S02-`, ...; its organizations' external ids
`SCALE-01-...`), so running again adds more without colliding with earlier runs or the demo. The
same `--seed` on the same database and day generates the same data.

On PostgreSQL invoices and lines are streamed with COPY (about a million invoices in a few
minutes); elsewhere they are inserted with `bulk_create` in batches, which is fine for small runs.
"""

from __future__ import annotations

import calendar
import datetime
import random
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.utils import timezone
from django.utils.text import slugify
from tqdm import tqdm

from remit.accounts.emails import normalise_email
from remit.accounts.models import Organization, SecurityLevel, User
from remit.billing.models import Invoice, InvoiceLine
from remit.core.models import Provider

SCALE_PASSWORD = "remit-scale-2026"  # noqa: S105 - printed; for generated test accounts only
HISTORY_MONTHS = 60
BATCH_INVOICES = 10_000

# --- Vocabulary ---------------------------------------------------------------------------------

PLACES = [
    "Harbor", "Summit", "Cedar", "Granite", "Riverbend", "Bluewater", "Northgate", "Pinecrest",
    "Lakeside", "Ironwood", "Maple", "Oakridge", "Silverline", "Redstone", "Brightwater",
    "Eastfield", "Westbrook", "Highland", "Stonebridge", "Clearview", "Fairhaven", "Goldleaf",
    "Meadowbrook", "Sterling", "Willow Creek", "Crescent", "Beacon", "Copperfield", "Evergreen",
    "Foxhill", "Bayview", "Kingsley", "Ashford", "Blackstone", "Cypress", "Driftwood", "Elmwood",
    "Franklin", "Glenview", "Hawthorne", "Juniper", "Keystone", "Larkspur", "Millbrook", "Newport",
    "Orchard", "Prairie", "Quarry", "Ridgeline", "Sandpiper",
]  # fmt: skip
TRADES = [
    "Dental", "Logistics", "Legal", "Accounting", "Engineering", "Veterinary Clinic", "Realty",
    "Construction", "Insurance", "Family Medicine", "Architects", "Manufacturing",
    "Wealth Advisors", "Property Management", "Auto Group", "Orthodontics", "Title & Escrow",
    "Landscaping", "Physical Therapy", "Distribution", "Foods", "Plumbing & Heating", "Pediatrics",
    "Marine Supply", "Capital", "Design Studio", "Freight", "Eye Care", "Builders", "Outfitters",
]  # fmt: skip
LEGAL_FORMS = ["LLC", "Inc.", "Group", "Partners", "& Co.", "", "PC", "LLP"]
FIRST_NAMES = [
    "Olivia", "Liam", "Emma", "Noah", "Ava", "Elijah", "Sophia", "James", "Isabella", "Lucas",
    "Mia", "Mateo", "Amelia", "Benjamin", "Harper", "Henry", "Evelyn", "Daniel", "Abigail", "Jack",
    "Priya", "Wei", "Fatima", "Diego", "Aisha", "Kenji", "Sofia", "Omar", "Grace", "Samuel",
    "Chloe", "David", "Nora", "Carlos", "Hannah", "Ethan", "Leah", "Marcus", "Ruth", "Tomás",
]  # fmt: skip
LAST_NAMES = [
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson",
    "Martin", "Lee", "Nguyen", "Patel", "Kim", "Chen", "Okafor", "Schmidt", "Rossi", "Cohen",
    "Murphy", "O'Brien", "Walker", "Hall", "Young", "King", "Wright", "Scott", "Green", "Baker",
]  # fmt: skip
BILLING_MAILBOXES = ["accounts", "ap", "billing", "finance", "invoices"]
# Sales tax on hardware, in thousandths of a percent (6.25% = 6250), by the client's state.
TAX_RATES = [0, 0, 4000, 5000, 6000, 6250, 7000, 7250, 8250, 8875]
TERMS = [("Net 30", 30)] * 7 + [("Net 15", 15), ("Net 45", 45), ("Due on receipt", 0)]
SEAT_PRICES = [8500, 9500, 11000, 12500, 14500, 16500]  # cents per user per month
PROJECTS = [
    "server migration", "Microsoft 365 tenant migration", "firewall replacement", "office move",
    "Wi-Fi survey and upgrade", "Windows 11 rollout", "phone system cut-over",
    "backup restore test", "network cabling, second floor",
]  # fmt: skip
VOID_REASONS = ["Duplicate invoice", "Billed to the wrong organization", "Reissued with changes"]


@dataclass(frozen=True)
class Item:
    """A catalogue line. Quantity and price are in hundredths (quantity 2.5 → 250; $95 → 9500)."""

    description: str
    kind: str  # seats, devices, servers, hours, units, one
    unit_price: int
    taxable: bool = False


MONTHLY_ITEMS = [
    Item("Microsoft 365 Business Premium licences", "seats", 2200),
    Item("Endpoint detection and response, per device", "devices", 750),
    Item("Backup and disaster recovery, per server", "servers", 14900),
    Item("Email security and archiving, per mailbox", "seats", 325),
    Item("Security awareness training, per user", "seats", 300),
    Item("Microsoft Azure consumption", "usage", 0),
    Item("Firewall subscription (UTM bundle)", "one", 8900),
]
PROJECT_ITEMS = [
    Item("Project labour: {project} (hours)", "hours", 16500),
    Item("After-hours emergency support (hours)", "hours", 22500),
    Item("On-site visit", "one", 15000),
    Item("New starter set-up", "units", 12000),
    Item("Dell Latitude 5550 laptop", "units", 124900, taxable=True),
    Item("Dell OptiPlex 7020 desktop", "units", 89900, taxable=True),
    Item('Dell P2725H 27" monitor', "units", 24999, taxable=True),
    Item("Ubiquiti UniFi U7 Pro access point", "units", 18900, taxable=True),
    Item("Fortinet FortiGate 60F firewall", "one", 109500, taxable=True),
    Item("APC Smart-UPS 1500VA", "one", 67900, taxable=True),
    Item("Yealink T54W desk phone", "units", 21900, taxable=True),
]


# --- What gets generated ------------------------------------------------------------------------


@dataclass
class ClientProfile:
    """What an organization buys, fixed for the run so its invoices look alike month to month."""

    name: str
    domain: str
    billing_email: str
    external_id: str
    seats: int
    servers: int
    seat_price: int
    tax_rate: int
    terms: tuple[str, int]
    monthly_items: list[Item]
    joined: datetime.date
    pk: int | None = None


@dataclass
class LineRow:
    position: int
    description: str
    quantity: int  # hundredths
    unit_price: int  # cents
    amount: int  # cents


@dataclass
class InvoiceRow:
    organization_id: int
    number: str
    state: str
    invoice_date: datetime.date
    due_date: datetime.date
    terms: str
    subtotal: int  # cents, like every amount here
    tax: int
    total: int
    amount_paid: int
    memo: str
    void_reason: str
    voided_on: datetime.date | None
    lines: list[LineRow] = field(default_factory=list)


def cents(value: int) -> Decimal:
    """Whole cents as a two-place Decimal (exact: 12345 → Decimal('123.45'))."""
    return Decimal(value).scaleb(-2)


def cents_text(value: int) -> str:
    return f"{value // 100}.{value % 100:02d}"


def line_amount(quantity: int, unit_price: int) -> int:
    """quantity (hundredths) × price (cents), rounded half up to the cent, as `to_money` does."""
    return (quantity * unit_price + 50) // 100


def months_back(today: datetime.date, count: int) -> list[datetime.date]:
    """The first day of each of the last `count` months, oldest first, this month last."""
    index = today.year * 12 + today.month - 1
    return [
        datetime.date((index - back) // 12, (index - back) % 12 + 1, 1)
        for back in range(count - 1, -1, -1)
    ]


class ScaleGenerator:
    """Generates organizations and invoices deterministically from `random.Random(seed)`."""

    def __init__(self, *, rng: random.Random, today: datetime.date, lines: tuple[int, int]):
        self.rng = rng
        self.today = today
        self.min_lines, self.max_lines = lines
        self.months = months_back(today, HISTORY_MONTHS)

    # Organizations ---------------------------------------------------------------------------

    def profiles(
        self, count: int, *, run: int, taken_names: set[str], taken_domains: set[str]
    ) -> list[ClientProfile]:
        rng = self.rng
        combos = [(p, t, f) for p in PLACES for t in TRADES for f in LEGAL_FORMS]
        rng.shuffle(combos)
        profiles = []
        cycle = 0
        while len(profiles) < count:
            for place, trade, form in combos:
                if len(profiles) == count:
                    break
                name = " ".join(part for part in (place, trade, form) if part)
                if cycle:  # more organizations than names: "Harbor Dental LLC 2"
                    name = f"{name} {cycle + 1}"
                if name in taken_names:
                    continue
                taken_names.add(name)
                profiles.append(
                    self._profile(name, place, trade, run, len(profiles), taken_domains)
                )
            cycle += 1
        return profiles

    def _profile(
        self, name: str, place: str, trade: str, run: int, index: int, taken_domains: set[str]
    ) -> ClientProfile:
        rng = self.rng
        base = slugify(f"{place} {trade}".replace("&", "and"))
        domain, suffix = f"{base}.example", 1
        while domain in taken_domains:
            suffix += 1
            domain = f"{base}{suffix}.example"
        taken_domains.add(domain)
        seats = max(3, min(400, round(rng.lognormvariate(3.0, 0.8))))
        months_active = rng.randint(12, HISTORY_MONTHS)
        return ClientProfile(
            name=name,
            domain=domain,
            billing_email=f"{rng.choice(BILLING_MAILBOXES)}@{domain}",
            external_id=f"SCALE-{run:02d}-{index + 1:05d}",
            seats=seats,
            servers=max(1, seats // 25 + rng.randint(0, 2)),
            seat_price=rng.choice(SEAT_PRICES),
            tax_rate=rng.choice(TAX_RATES),
            terms=rng.choice(TERMS),
            monthly_items=rng.sample(MONTHLY_ITEMS, len(MONTHLY_ITEMS)),
            joined=self.months[HISTORY_MONTHS - months_active],
        )

    def person(self, domain: str, taken_emails: set[str]) -> tuple[str, str, str]:
        while True:
            first, last = self.rng.choice(FIRST_NAMES), self.rng.choice(LAST_NAMES)
            # Tomás O'Brien → tomas.obrien; bulk_create skips User.save, so normalised here.
            email = normalise_email(f"{slugify(first)}.{slugify(last)}@{domain}")
            if email not in taken_emails:
                taken_emails.add(email)
                return first, last, email

    # Invoices --------------------------------------------------------------------------------

    def invoice_counts(self, profiles: list[ClientProfile], total: int) -> list[list[int]]:
        """How many invoices each organization gets in each month: a share of `total` in proportion
        to its size, at most one managed-services invoice a month, the rest project work."""
        rng = self.rng
        weights = [p.seats * rng.uniform(0.5, 1.5) for p in profiles]
        scale = total / sum(weights)
        shares = [w * scale for w in weights]
        counts = [int(s) for s in shares]
        by_remainder = sorted(range(len(shares)), key=lambda i: shares[i] - counts[i], reverse=True)
        for i in by_remainder[: total - sum(counts)]:
            counts[i] += 1

        per_month = []
        for profile, count in zip(profiles, counts, strict=True):
            first = self.months.index(profile.joined)
            active = list(range(first, HISTORY_MONTHS))
            if count < len(active):  # a young client: only its latest months
                active = active[len(active) - count :]
            months = [0] * HISTORY_MONTHS
            for month in active:
                months[month] = 1
            for month in rng.choices(active, k=count - len(active)) if active else []:
                months[month] += 1
            per_month.append(months)
        return per_month

    def invoices(
        self, profiles: list[ClientProfile], per_month: list[list[int]], prefix: str
    ) -> Iterator[InvoiceRow]:
        """Every invoice, month by month, numbered in date order."""
        rng = self.rng
        number = 0
        for month_index, month in enumerate(self.months):
            last_day = calendar.monthrange(month.year, month.month)[1]
            if month_index == HISTORY_MONTHS - 1:
                last_day = self.today.day
            dated = []
            for org in range(len(profiles)):
                count = per_month[org][month_index]
                if not count:
                    continue
                dated.append((month, org, True))
                for _ in range(count - 1):
                    day = month.replace(day=rng.randint(1, last_day))
                    dated.append((day, org, False))
            dated.sort(key=lambda item: (item[0], item[1]))
            for invoice_date, org, monthly in dated:
                number += 1
                yield self._invoice(
                    profiles[org], f"{prefix}{number:07d}", invoice_date, monthly=monthly
                )

    def _invoice(
        self, profile: ClientProfile, number: str, invoice_date: datetime.date, *, monthly: bool
    ) -> InvoiceRow:
        rng = self.rng
        count = rng.randint(self.min_lines, self.max_lines)
        period = f"{calendar.month_name[invoice_date.month]} {invoice_date.year}"
        if monthly:
            services = f"Managed IT services, per user ({period})"
            lines = [(services, profile.seats * 100, profile.seat_price, False)]
            lines += [self._line(item, profile) for item in profile.monthly_items[: count - 1]]
            memo = f"Monthly managed services, {period}"
        else:
            items = rng.sample(PROJECT_ITEMS, count)
            project = rng.choice(PROJECTS)
            lines = [self._line(item, profile, project=project) for item in items]
            is_project = any("{project}" in item.description for item in items)
            memo = f"Project: {project}" if is_project else ""
        taxable = 0
        rows = []
        for position, (description, quantity, unit_price, taxed) in enumerate(lines, start=1):
            amount = line_amount(quantity, unit_price)
            if taxed:
                taxable += amount
            rows.append(LineRow(position, description, quantity, unit_price, amount))
        subtotal = sum(row.amount for row in rows)
        tax = (taxable * profile.tax_rate + 50_000) // 100_000
        total = subtotal + tax

        terms, days = profile.terms
        due_date = invoice_date + datetime.timedelta(days=days)
        state, paid, voided_on, void_reason = self._settlement(total, invoice_date, due_date)
        return InvoiceRow(
            organization_id=profile.pk,
            number=number,
            state=state,
            invoice_date=invoice_date,
            due_date=due_date,
            terms=terms,
            subtotal=subtotal,
            tax=tax,
            total=total,
            amount_paid=paid,
            memo=memo,
            void_reason=void_reason,
            voided_on=voided_on,
            lines=rows,
        )

    def _line(
        self, item: Item, profile: ClientProfile, project: str = ""
    ) -> tuple[str, int, int, bool]:
        """(description, quantity in hundredths, unit price in cents, taxable)"""
        rng = self.rng
        price = item.unit_price
        match item.kind:
            case "seats":
                quantity = profile.seats * 100
            case "devices":
                quantity = (profile.seats + profile.servers) * 100
            case "servers":
                quantity = profile.servers * 100
            case "hours":
                quantity = rng.randint(2, 96) * 25  # quarter hours, 0.5 to 24 hours
            case "units":
                quantity = rng.randint(1, max(2, profile.seats // 8)) * 100
            case "usage":
                quantity, price = 100, rng.randint(18_000, 240_000)
            case _:
                quantity = 100
        description = item.description.replace("{project}", project)
        return description, quantity, price, item.taxable

    def _settlement(
        self, total: int, invoice_date: datetime.date, due_date: datetime.date
    ) -> tuple[str, int, datetime.date | None, str]:
        """(state, amount paid, voided on, void reason): old invoices are almost all paid, recent
        ones often open; some are part paid; about 1% are void."""
        rng = self.rng
        roll = rng.random()
        if roll < 0.01:
            voided_on = min(invoice_date + datetime.timedelta(days=rng.randint(0, 5)), self.today)
            return Invoice.State.VOID, 0, voided_on, rng.choice(VOID_REASONS)
        late = (self.today - due_date).days
        if late < 0:
            unpaid, part_paid = 0.60, 0.05
        elif late <= 30:
            unpaid, part_paid = 0.30, 0.05
        elif late <= 90:
            unpaid, part_paid = 0.10, 0.03
        else:
            unpaid, part_paid = 0.012, 0.004
        roll = rng.random()
        if roll < unpaid:
            return Invoice.State.ISSUED, 0, None, ""
        if roll < unpaid + part_paid and total > 1:
            return Invoice.State.ISSUED, rng.randint(1, total - 1), None, ""
        return Invoice.State.ISSUED, total, None, ""


# --- Writing ------------------------------------------------------------------------------------


def _at(day: datetime.date) -> datetime.datetime:
    """Invoices go out at 14:00 UTC (morning in the Americas)."""
    return datetime.datetime.combine(day, datetime.time(14, 0), tzinfo=datetime.UTC)


# Never amount_due: the database computes it.
INVOICE_COLUMNS = (
    "id", "organization_id", "number", "state", "invoice_date", "due_date", "terms", "currency",
    "subtotal", "tax", "total", "amount_paid", "memo", "issued_at", "voided_at", "void_reason",
    "created_at", "updated_at",
)  # fmt: skip
LINE_COLUMNS = ("invoice_id", "position", "description", "quantity", "unit_price", "amount")


def _copy_text(value: str) -> str:
    """Escape for COPY's text format."""
    return (
        value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    )


class PostgresWriter:
    """Streams invoices and lines with COPY, invoice ids taken from the table's own sequence."""

    def __init__(self, now: datetime.datetime):
        self.now = now.isoformat()
        self.cursor = connection.cursor()
        table, lines = Invoice._meta.db_table, InvoiceLine._meta.db_table
        self.cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
        self.sequence = self.cursor.fetchone()[0]
        self.copy_invoices = f"COPY {table} ({', '.join(INVOICE_COLUMNS)}) FROM STDIN"
        self.copy_lines = f"COPY {lines} ({', '.join(LINE_COLUMNS)}) FROM STDIN"

    def write(self, batch: list[InvoiceRow]) -> None:
        cursor = self.cursor
        cursor.execute(
            "SELECT nextval(%s) FROM generate_series(1, %s)", [self.sequence, len(batch)]
        )
        ids = [row[0] for row in cursor.fetchall()]
        now = self.now
        invoice_text, line_text = [], []
        for pk, inv in zip(ids, batch, strict=True):
            issued = f"{inv.invoice_date.isoformat()} 14:00:00+00"
            voided = f"{inv.voided_on.isoformat()} 15:00:00+00" if inv.voided_on else r"\N"
            invoice_text.append(
                f"{pk}\t{inv.organization_id}\t{inv.number}\t{inv.state}\t{inv.invoice_date}\t"
                f"{inv.due_date}\t{inv.terms}\tUSD\t{cents_text(inv.subtotal)}\t"
                f"{cents_text(inv.tax)}\t{cents_text(inv.total)}\t{cents_text(inv.amount_paid)}\t"
                f"{_copy_text(inv.memo)}\t{issued}\t{voided}\t{_copy_text(inv.void_reason)}\t"
                f"{issued}\t{now}\n"
            )
            for line in inv.lines:
                line_text.append(
                    f"{pk}\t{line.position}\t{_copy_text(line.description)}\t"
                    f"{cents_text(line.quantity)}\t{cents_text(line.unit_price)}\t"
                    f"{cents_text(line.amount)}\n"
                )
        raw = cursor.cursor  # psycopg 3's own cursor, under Django's wrapper
        with raw.copy(self.copy_invoices) as copy:
            copy.write("".join(invoice_text))
        with raw.copy(self.copy_lines) as copy:
            copy.write("".join(line_text))

    def finish(self) -> None:
        for model in (Organization, User, Invoice, InvoiceLine):
            self.cursor.execute(f"ANALYZE {model._meta.db_table}")
        self.cursor.close()


class OrmWriter:
    """`bulk_create` in batches, for SQLite (small runs: tests, a laptop)."""

    def __init__(self, now: datetime.datetime):
        self.now = now

    def write(self, batch: list[InvoiceRow]) -> None:
        invoices = Invoice.objects.bulk_create(
            Invoice(
                organization_id=inv.organization_id,
                number=inv.number,
                state=inv.state,
                invoice_date=inv.invoice_date,
                due_date=inv.due_date,
                terms=inv.terms,
                currency="USD",
                subtotal=cents(inv.subtotal),
                tax=cents(inv.tax),
                total=cents(inv.total),
                amount_paid=cents(inv.amount_paid),
                memo=inv.memo,
                issued_at=_at(inv.invoice_date),
                voided_at=_at(inv.voided_on) if inv.voided_on else None,
                void_reason=inv.void_reason,
                created_at=_at(inv.invoice_date),
            )
            for inv in batch
        )
        InvoiceLine.objects.bulk_create(
            (
                InvoiceLine(
                    invoice_id=invoice.pk,
                    position=line.position,
                    description=line.description,
                    quantity=cents(line.quantity),
                    unit_price=cents(line.unit_price),
                    amount=cents(line.amount),
                )
                for invoice, inv in zip(invoices, batch, strict=True)
                for line in inv.lines
            ),
            batch_size=1000,
        )

    def finish(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


# --- The command --------------------------------------------------------------------------------


def line_range(value: str) -> tuple[int, int]:
    match = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", value)
    if not match:
        raise ValueError(value)
    low = int(match[1])
    high = int(match[2] or low)
    if not 1 <= low <= high <= len(PROJECT_ITEMS):
        raise ValueError(value)
    return low, high


class Command(BaseCommand):
    help = "Add N organizations and M invoices of realistic bulk data (COPY on PostgreSQL)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--organizations", type=int, required=True, metavar="N")
        parser.add_argument("--invoices", type=int, required=True, metavar="M")
        parser.add_argument(
            "--lines-per-invoice",
            type=line_range,
            default=(1, 4),
            metavar="MIN-MAX",
            help=f"Line items per invoice, e.g. 3 or 1-4 (default), at most {len(PROJECT_ITEMS)}.",
        )
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument(
            "--password",
            default=SCALE_PASSWORD,
            help=f"Password of every generated user (default {SCALE_PASSWORD}).",
        )

    def handle(self, *args, organizations: int, invoices: int, **options) -> None:
        if organizations < 1 or invoices < 0:
            raise CommandError("Give at least one organization and zero or more invoices.")
        started = time.monotonic()
        provider = Provider.load()
        today = timezone.localdate(timezone=provider.zone)
        now = timezone.now()
        postgres = connection.vendor == "postgresql"

        with transaction.atomic():
            if postgres:  # two runs at once would pick the same run number
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_xact_lock(hashtext('remit seed-scale'))")
            run = self._next_run()
            prefix = f"S{run:02d}-"
            rng = random.Random(f"{options['seed']}:{run}")  # noqa: S311 - reproducible, not secret
            generator = ScaleGenerator(rng=rng, today=today, lines=options["lines_per_invoice"])
            profiles = self._create_organizations(generator, organizations, run)
            users = self._create_people(generator, profiles, options["password"])
            per_month = generator.invoice_counts(profiles, invoices)

            writer = PostgresWriter(now) if postgres else OrmWriter(now)
            batch: list[InvoiceRow] = []
            lines = 0
            with tqdm(
                total=invoices,
                unit=" invoices",
                unit_scale=True,
                disable=options["verbosity"] == 0,
                desc=f"Run {run} ({prefix}…)",
            ) as progress:
                for invoice in generator.invoices(profiles, per_month, prefix):
                    batch.append(invoice)
                    lines += len(invoice.lines)
                    if len(batch) == BATCH_INVOICES:
                        writer.write(batch)
                        progress.update(len(batch))
                        batch = []
                if batch:
                    writer.write(batch)
                    progress.update(len(batch))
        writer.finish()  # ANALYZE, once the rows are committed

        largest = max(zip(profiles, map(sum, per_month), strict=True), key=lambda pair: pair[1])[0]
        manager = next(
            u.email
            for u in users
            if u.organization_id == largest.pk and u.security_level.name == SecurityLevel.MANAGER
        )
        elapsed = time.monotonic() - started
        self.stdout.write(
            self.style.SUCCESS(
                f"Run {run}: {organizations:,} organizations, {len(users):,} users, "
                f"{invoices:,} invoices ({prefix}…) with {lines:,} lines in {elapsed:.1f} s."
            )
        )
        self.stdout.write(
            f"Every generated user's password is {options['password']}. The largest organization "
            f"is {largest.name}; its Manager is {manager}."
        )

    @staticmethod
    def _next_run() -> int:
        """One more than any earlier run, and past any invoice numbers already using the prefix."""
        runs = [
            int(match[1])
            for external_id in Organization.objects.filter(
                external_id__startswith="SCALE-"
            ).values_list("external_id", flat=True)
            if (match := re.match(r"SCALE-(\d+)-", external_id))
        ]
        run = max(runs, default=0) + 1
        while Invoice.objects.filter(number__startswith=f"S{run:02d}-").exists():
            run += 1
        return run

    @staticmethod
    def _create_organizations(
        generator: ScaleGenerator, count: int, run: int
    ) -> list[ClientProfile]:
        taken_names = set(Organization.objects.values_list("name", flat=True))
        emails = User.objects.values_list("email", flat=True)
        taken_domains = {email.rpartition("@")[2] for email in emails}
        profiles = generator.profiles(
            count, run=run, taken_names=taken_names, taken_domains=taken_domains
        )
        created = Organization.objects.bulk_create(
            [
                Organization(
                    name=p.name,
                    external_id=p.external_id,
                    billing_email=p.billing_email,
                    created_at=_at(p.joined),
                )
                for p in profiles
            ],
            batch_size=1000,
        )
        for profile, organization in zip(profiles, created, strict=True):
            profile.pk = organization.pk
        return profiles

    @staticmethod
    def _create_people(
        generator: ScaleGenerator, profiles: list[ClientProfile], password: str
    ) -> list[User]:
        """A Manager and a User per organization, sharing one password hash (argon2 per user would
        take minutes)."""
        levels = {level.name: level for level in SecurityLevel.objects.all()}
        password_hash = make_password(password)
        taken_emails = set(User.objects.values_list("email", flat=True))  # stored normalised
        users = []
        for profile in profiles:
            for level in (SecurityLevel.MANAGER, SecurityLevel.USER):
                first, last, email = generator.person(profile.domain, taken_emails)
                users.append(
                    User(
                        email=email,
                        password=password_hash,
                        first_name=first,
                        last_name=last,
                        organization_id=profile.pk,
                        security_level=levels[level],
                        date_joined=_at(profile.joined),
                    )
                )
        return User.objects.bulk_create(users, batch_size=1000)
