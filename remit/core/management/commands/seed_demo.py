"""`remit seed-demo`: the demo provider, two client organizations, their people and invoices.

Safe to run twice: everything is looked up by its natural key first and left alone if it exists."""

import datetime
from decimal import Decimal

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from remit.accounts.emails import normalise_email
from remit.accounts.models import Organization, SecurityLevel, User
from remit.accounts.services import ensure_system_security_levels
from remit.billing.models import Invoice
from remit.billing.services import LineSpec, invoice_create
from remit.core.models import PaymentOptions, Provider

DEMO_PASSWORD = "remit-demo-2026"  # noqa: S105 - documented demo accounts

PEOPLE = [
    # email, first, last, organization, level
    ("manager@northwind.example", "Nancy", "Davolio", "Northwind Traders", SecurityLevel.MANAGER),
    ("user@northwind.example", "Andrew", "Fuller", "Northwind Traders", SecurityLevel.USER),
    ("manager@contoso.example", "Kim", "Abercrombie", "Contoso Ltd", SecurityLevel.MANAGER),
]
STAFF = ("staff@harborpoint.example", "Pat", "Lee")

ORGANIZATIONS = {
    "Northwind Traders": {"prefix": "NW", "billing_email": "ap@northwind.example", "seats": 24},
    "Contoso Ltd": {"prefix": "CT", "billing_email": "accounts@contoso.example", "seats": 11},
}

# (months ago, days past due relative to today or None, state) — twelve invoices in mixed states.
# kind: paid, due, overdue, void
SCHEDULE = [
    (0, "due"),
    (0, "due"),
    (1, "due"),
    (1, "overdue"),
    (2, "overdue"),
    (2, "paid"),
    (3, "void"),
    (3, "paid"),
    (4, "paid"),
    (5, "paid"),
    (6, "overdue"),
    (7, "paid"),
]


def _lines(seats: int, month: datetime.date, n: int) -> tuple[list[LineSpec], Decimal]:
    period = month.strftime("%B %Y")
    lines = [
        LineSpec(f"Managed IT services, per user ({period})", Decimal(seats), Decimal("95.00")),
        LineSpec("Microsoft 365 Business Premium licenses", Decimal(seats), Decimal("22.00")),
        LineSpec("Backup and disaster recovery, server", Decimal(1), Decimal("149.00")),
    ]
    tax = Decimal("0.00")
    if n % 3 == 1:
        lines.append(
            LineSpec("After-hours emergency support (hours)", Decimal("2.5"), Decimal("165.00"))
        )
    if n % 4 == 2:
        hardware = LineSpec(
            "Firewall appliance, 12-month subscription renewal", Decimal(1), Decimal("849.00")
        )
        lines.append(hardware)
        tax = (hardware.amount * Decimal("0.0625")).quantize(Decimal("0.01"))
    return lines, tax


class Command(BaseCommand):
    help = "Load the demo provider, organizations, people and invoices (safe to run twice)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--autopay",
            action="store_true",
            help="Only the autopay set-up (remit/autopay/demo.py), once the sandbox gateway runs: "
            "Contoso's manager saves the test Visa and enrols; an invoice of each organization "
            "falls due today (charged, reminded by the worker).",
        )

    def handle(self, *args, **options):
        if options["autopay"]:
            from remit.autopay.demo import prepare_autopay_demo

            done = prepare_autopay_demo()
            if options["verbosity"]:
                enrolment = done["enrolment"]
                self.stdout.write(
                    f"Autopay: {enrolment.organization} with {enrolment.payment_method.label}; "
                    f"invoice {done['charged_invoice'].number} is charged by the worker, "
                    f"{done['reminded_invoice'].number} reminded."
                )
            return
        self._seed(**options)

    @transaction.atomic
    def _seed(self, **options):
        provider = Provider.load()
        if provider.name == Provider._meta.get_field("name").default:
            provider.name = "Harbor Point IT"
            provider.country = "US"
            provider.internal_currency = "USD"
            provider.time_zone = "America/New_York"
            provider.payment_options = PaymentOptions.BOTH
            provider.support_email = "billing@harborpoint.example"
            provider.support_phone = "(555) 010-4477"
            # Autopay and reminders (docs/autopay.md), so the demo shows them.
            provider.autopay_enabled = True
            provider.autopay_on_due_date = True
            provider.autopay_days_after_invoice = "15"
            provider.reminders_enabled = True
            provider.reminder_on_due_date = True
            provider.save()

        levels = ensure_system_security_levels()
        organizations = {}
        for name, info in ORGANIZATIONS.items():
            organizations[name], _ = Organization.objects.get_or_create(
                name=name, defaults={"billing_email": info["billing_email"]}
            )
        created_people = 0
        for email, first, last, org_name, level in PEOPLE:
            if not User.objects.filter(email=normalise_email(email)).exists():
                User.objects.create_user(
                    email,
                    DEMO_PASSWORD,
                    first_name=first,
                    last_name=last,
                    organization=organizations[org_name],
                    security_level=levels[level],
                )
                created_people += 1
        if not User.objects.filter(email=normalise_email(STAFF[0])).exists():
            User.objects.create_superuser(
                STAFF[0], DEMO_PASSWORD, first_name=STAFF[1], last_name=STAFF[2]
            )
            created_people += 1

        created_invoices = 0
        today = timezone.localdate(timezone=provider.zone)
        for name, info in ORGANIZATIONS.items():
            organization = organizations[name]
            for n, (months_ago, kind) in enumerate(SCHEDULE, start=1):
                number = f"{info['prefix']}-{1000 + n}"
                if Invoice.objects.filter(number=number).exists():
                    continue
                invoice_date, due_date = self._dates(today, months_ago, kind, n)
                lines, tax = _lines(info["seats"], invoice_date, n)
                invoice = invoice_create(
                    organization=organization,
                    number=number,
                    invoice_date=invoice_date,
                    due_date=due_date,
                    lines=lines,
                    tax=tax,
                    state=Invoice.State.VOID if kind == "void" else Invoice.State.ISSUED,
                )
                if kind == "paid":
                    Invoice.objects.filter(pk=invoice.pk).update(amount_paid=invoice.total)
                created_invoices += 1

        from remit.psa.demo import connect_demo_sandbox

        first_sync = connect_demo_sandbox()
        if options["verbosity"] == 0:
            return
        if first_sync is not None:
            self.stdout.write(f"Connected to the Autotask sandbox; sync #{first_sync.pk} queued.")
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data ready ({created_people} people and {created_invoices} invoices added). "
                f"Sign in with any of these, password {DEMO_PASSWORD}:"
            )
        )
        for email, _first, _last, org_name, level in PEOPLE:
            self.stdout.write(f"  {email:<28} {level:<8} {org_name}")
        self.stdout.write(
            f"  {STAFF[0]:<28} provider staff (back office; `remit invite-staff {STAFF[0]}` "
            "prints the link that sets up their authenticator app)"
        )
        if not settings.GATEWAY_URL and not provider.gateway_url:
            self.stdout.write(
                "No gateway configured: set GATEWAY_URL (make demo starts the sandbox gateway)."
            )

    @staticmethod
    def _dates(
        today: datetime.date, months_ago: int, kind: str, n: int
    ) -> tuple[datetime.date, datetime.date]:
        if kind == "due":
            invoice_date = today - datetime.timedelta(days=3 + 9 * n % 20)
            return invoice_date, max(
                invoice_date + datetime.timedelta(days=30), today + datetime.timedelta(days=2)
            )
        if kind == "overdue":
            due = today - datetime.timedelta(days=5 + 30 * max(months_ago - 1, 0) + n)
            return due - datetime.timedelta(days=30), due
        invoice_date = today - datetime.timedelta(days=30 * months_ago + n)
        return invoice_date, invoice_date + datetime.timedelta(days=30)
