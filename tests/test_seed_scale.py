"""`remit seed-scale`: consistent money, mixed statuses, safe to run twice, reproducible."""

import datetime
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.db.models import Count, Sum

from remit.accounts.models import Organization, SecurityLevel, User
from remit.billing.models import Invoice, InvoiceLine, InvoiceStatus
from remit.core.money import ZERO

# A fixed "today" (noon in New York), so the statuses the seed produces never depend on the date.
TODAY = datetime.datetime(2026, 11, 20, 17, 0, tzinfo=datetime.UTC)


def seed_scale(organizations: int = 3, invoices: int = 200, **options) -> str:
    out = StringIO()
    call_command(
        "seed_scale",
        organizations=organizations,
        invoices=invoices,
        verbosity=0,
        stdout=out,
        **options,
    )
    return out.getvalue()


def snapshot() -> list[tuple]:
    return list(
        Invoice.objects.order_by("number").values_list(
            "number",
            "organization__name",
            "invoice_date",
            "due_date",
            "state",
            "total",
            "amount_paid",
        )
    )


@pytest.fixture(autouse=True)
def frozen_today():
    with time_machine.travel(TODAY, tick=False):
        yield


@pytest.mark.django_db
class TestSeedScale:
    def test_it_creates_organizations_people_and_invoices(self):
        output = seed_scale()

        assert Organization.objects.count() == 3
        assert Invoice.objects.count() == 200
        for organization in Organization.objects.annotate(invoice_count=Count("invoices")):
            assert organization.invoice_count > 0
            assert organization.billing_email.endswith(".example")
            levels = organization.users.values_list("security_level__name", flat=True)
            assert sorted(levels) == [SecurityLevel.MANAGER, SecurityLevel.USER]
        manager = User.objects.filter(security_level__name=SecurityLevel.MANAGER).first()
        assert manager.check_password("remit-scale-2026")
        assert manager.can_view_financials
        assert "remit-scale-2026" in output

    def test_every_total_is_its_lines_plus_tax(self):
        seed_scale(lines_per_invoice=(1, 4))

        invoices = Invoice.objects.annotate(
            lines_sum=Sum("lines__amount"), line_count=Count("lines")
        )
        for invoice in invoices:
            assert 1 <= invoice.line_count <= 4
            assert invoice.total == invoice.subtotal + invoice.tax
            assert invoice.subtotal == invoice.lines_sum
            assert invoice.total == invoice.lines_sum + invoice.tax
            assert ZERO <= invoice.amount_paid <= invoice.total
            assert invoice.amount_due == invoice.total - invoice.amount_paid
            assert invoice.due_date >= invoice.invoice_date
            assert invoice.total.as_tuple().exponent == -2
        for line in InvoiceLine.objects.all():
            assert line.amount == InvoiceLine.amount_for(line.quantity, line.unit_price)
        assert Invoice.objects.filter(tax__gt=0).exists()

    def test_statuses_are_mixed_and_mostly_paid(self):
        seed_scale(invoices=400)

        today = datetime.date(2026, 11, 20)
        statuses = [invoice.status_on(today) for invoice in Invoice.objects.all()]
        assert set(statuses) == {
            InvoiceStatus.PAID,
            InvoiceStatus.DUE,
            InvoiceStatus.OVERDUE,
            InvoiceStatus.VOID,
        }
        assert statuses.count(InvoiceStatus.PAID) > len(statuses) * 0.8
        assert Invoice.objects.filter(amount_paid__gt=0, amount_due__gt=0).exists()

    def test_running_twice_adds_without_colliding(self):
        seed_scale()
        seed_scale()

        assert Organization.objects.count() == 6
        assert User.objects.count() == 12
        assert Invoice.objects.count() == 400
        assert Invoice.objects.filter(number__startswith="S01-").count() == 200
        assert Invoice.objects.filter(number__startswith="S02-").count() == 200
        names = list(Organization.objects.values_list("name", flat=True))
        assert len(set(names)) == len(names)

    def test_it_skips_a_prefix_already_in_use(self):
        seed_scale(organizations=1, invoices=5)
        Organization.objects.update(external_id=None)  # as if the first run left no trace

        seed_scale(organizations=1, invoices=5)

        assert Invoice.objects.filter(number__startswith="S02-").count() == 5

    def test_the_same_seed_gives_the_same_data(self):
        seed_scale(seed=7)
        first = snapshot()
        InvoiceLine.objects.all().delete()
        Invoice.objects.all().delete()
        User.objects.all().delete()
        Organization.objects.all().delete()

        seed_scale(seed=7)

        assert snapshot() == first
        seed_scale(seed=8)
        assert snapshot()[200:] != first
