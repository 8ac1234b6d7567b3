"""The back office's dashboard: collected this month and last, eChecks waiting to settle, failed
and returned payments of the last 7 days and the aging of every organization, each figure linking
to the list of exactly what it adds up; several currencies never added together; a fixed number of
queries; only staff who may view payments / invoices see them."""

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils.html import escape

from remit.accounts.models import User
from remit.core.money import format_money
from tests.backoffice.conftest import NY, listed, make_payment, sign_in_verified
from tests.factories import PASSWORD, OrganizationFactory, make_invoice

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 6, 15)


def at(day: str, hour: int = 12, minute: int = 0) -> datetime.datetime:
    return datetime.datetime.combine(
        datetime.date.fromisoformat(day), datetime.time(hour, minute), tzinfo=NY
    )


def paid(org, payer, amount, when, *, state="approved", kind="card", **fields):
    """A payment of its own invoice, made at `when` (New York time, the provider's)."""
    invoice = make_invoice(org, total=amount, invoice_date=datetime.date(2026, 3, 1))
    return make_payment(
        invoice, payer, state=state, amount=amount, kind=kind, created_at=when, **fields
    )


@pytest.fixture
def payments(on_june_15, northwind, manager):
    made = {
        "june": [
            paid(northwind, manager, "100.00", at("2026-06-02")),
            paid(
                northwind,
                manager,
                "250.00",
                at("2026-06-10"),
                state="settled",
                kind="echeck",
                refunded_amount=Decimal("50.00"),
            ),
            paid(northwind, manager, "10.00", at("2026-06-01", 0, 30)),  # 04:30 UTC
        ],
        "may": [
            paid(northwind, manager, "300.00", at("2026-05-20"), state="settled"),
            paid(northwind, manager, "20.00", at("2026-05-31", 23, 30)),  # June 1st in UTC
        ],
        "pending": [
            paid(northwind, manager, "400.00", at("2026-06-14"), state="pending", kind="echeck")
        ],
        "failed": [
            paid(northwind, manager, "70.00", at("2026-06-09", 0, 5), state="declined"),
            paid(northwind, manager, "30.00", at("2026-06-14"), state="failed"),
        ],
        "returned": [
            paid(
                northwind,
                manager,
                "80.00",
                at("2026-06-01"),
                state="returned",
                kind="echeck",
                returned_at=at("2026-06-12"),
            )
        ],
    }
    # Outside every figure: April, declined 8 days ago, returned long ago, voided.
    paid(northwind, manager, "999.00", at("2026-04-30", 23, 30))
    paid(northwind, manager, "5.00", at("2026-06-08", 23, 55), state="declined")
    paid(
        northwind,
        manager,
        "7.00",
        at("2026-05-01"),
        state="returned",
        kind="echeck",
        returned_at=at("2026-06-01"),
    )
    paid(northwind, manager, "9.00", at("2026-06-03"), state="voided")
    return made


def test_the_payment_figures_and_the_lists_behind_them(as_staff, payments):
    page = as_staff.get("/backoffice/")
    (usd,) = page.context["figures"]["payments"]
    assert usd.currency == "USD"
    assert usd.collected_this_month.amount == Decimal("310.00")  # net of the $50 refund
    assert usd.collected_last_month.amount == Decimal("320.00")
    assert (usd.pending_echecks.count, usd.pending_echecks.amount) == (1, Decimal("400.00"))
    assert (usd.failed.count, usd.failed.amount) == (2, Decimal("100.00"))
    assert (usd.returned.count, usd.returned.amount) == (1, Decimal("80.00"))
    text = page.text
    for figure in ["$310.00", "$320.00", "Collected in June", "Collected in May", "$400.00"]:
        assert figure in text
    assert text.count('<svg class="chart"') == 2  # the collected chart and the aging chart

    expected = [
        (usd.collected_this_month, payments["june"]),
        (usd.collected_last_month, payments["may"]),
        (usd.pending_echecks, payments["pending"]),
        (usd.failed, payments["failed"]),
        (usd.returned, payments["returned"]),
    ]
    for figure, rows in expected:
        assert f'href="{escape(figure.url)}"' in text
        assert listed(as_staff, figure.url) == {p.pk for p in rows}, figure.label


def test_the_aging_of_all_organizations_by_currency(as_staff, open_invoices):
    page = as_staff.get("/backoffice/")
    usd, cad = page.context["figures"]["aging"]
    assert usd.currency == "USD"
    assert cad.currency == "CAD"
    assert [(b.key, b.amount) for b in usd.buckets] == [
        ("current", Decimal("100.00")),
        ("d1_30", Decimal("150.00")),
        ("d31_60", Decimal("300.00")),
        ("d61_90", Decimal("0.00")),
        ("d90", Decimal("500.00")),
    ]
    assert usd.total.amount == Decimal("1050.00")  # the CAD invoice is not added in
    assert [b.amount for b in cad.buckets] == [0, 0, 0, Decimal("42.00"), 0]
    assert format_money(Decimal("42.00"), "CAD") in page.text

    for (bucket, url), key in zip(
        usd.linked, ["current", "d1_30", "d31_60", None, "d90"], strict=True
    ):
        assert f'href="{escape(url)}"' in page.text
        expected = {open_invoices[key].pk} if key else set()
        assert listed(as_staff, url) == expected, bucket.label
    assert listed(as_staff, usd.total.url) == {
        open_invoices[k].pk for k in ["current", "d1_30", "d31_60", "d90"]
    }
    assert listed(as_staff, cad.linked[3][1]) == {open_invoices["cad"].pk}


def test_with_nothing_at_all_the_dashboard_shows_zeros(as_staff, on_june_15):
    page = as_staff.get("/backoffice/")
    (usd,) = page.context["figures"]["payments"]
    assert usd.collected_this_month.amount == 0
    assert usd.failed.count == 0
    (aging,) = page.context["figures"]["aging"]
    assert aging.total.amount == 0
    assert "$0.00" in page.text


def queries(client) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/backoffice/").status_code == 200
    return len(captured)


def test_the_dashboard_makes_the_same_queries_whatever_the_number_of_invoices(
    as_staff, on_june_15, northwind, manager
):
    make_invoice(northwind, total="10.00")
    paid(northwind, manager, "10.00", at("2026-06-02"))
    queries(as_staff)  # warm the caches every request reads (the provider row)
    few = queries(as_staff)
    for n in range(12):
        org = OrganizationFactory()
        for days in (-10, 5, 40, 70, 120):
            make_invoice(
                org,
                total="10.00",
                invoice_date=datetime.date(2026, 1, 1),
                due_date=TODAY - datetime.timedelta(days=days),
            )
        paid(org, manager, "20.00", at("2026-05-10"), state=["approved", "declined"][n % 2])
    paid(northwind, manager, "30.00", at("2026-06-12"), state="pending", kind="echeck")
    assert queries(as_staff) == few


def limited_staff(email: str, codename: str) -> User:
    """Staff (not a superuser) with one view permission."""
    person = User.objects.create_user(email, PASSWORD, is_staff=True)
    person.user_permissions.add(Permission.objects.get(codename=codename))
    return person


def test_staff_who_may_view_invoices_only_see_the_aging(client, payments, open_invoices):
    sign_in_verified(client, limited_staff("clerk@harborpoint.example", "view_invoice"))
    page = client.get("/backoffice/")
    assert page.context["figures"]["payments"] is None
    assert "Collected in June" not in page.text
    assert "Aging of all organizations" in page.text
    assert client.get("/backoffice/reports/aging/").status_code == 200


def test_staff_who_may_view_payments_only_see_no_aging(client, payments, open_invoices):
    sign_in_verified(client, limited_staff("payments@harborpoint.example", "view_payment"))
    page = client.get("/backoffice/")
    assert "Collected in June" in page.text
    assert page.context["figures"]["aging"] is None
    assert "Aging of all organizations" not in page.text
    assert client.get("/backoffice/reports/aging/").status_code == 403
    assert client.get("/backoffice/reports/aging.csv").status_code == 403
