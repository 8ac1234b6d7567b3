"""A total typed for several invoices (partial payments on): applied oldest due first when the
lines are left as shown, the lines' own amounts when they were changed, an over-payment refused
next to the total, and whatever the server filled in shown for the payer to confirm before any
charge. With partial payments off a posted total changes nothing."""

import datetime
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.urls import reverse
from django.utils import timezone

from remit.payments.models import Payment, PaymentAllocation
from tests.factories import make_invoice
from tests.payments.conftest import sales_at_gateway
from tests.payments.test_make_payment_view import NEXT_YEAR, card_post

pytestmark = pytest.mark.django_db

URL = reverse("pay_several")


class _Fields(HTMLParser):
    """The form's fields as a browser would post them (no submit button, radios as checked)."""

    def __init__(self):
        super().__init__()
        self.data: list[tuple[str, str]] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag != "input" or not a.get("name") or a.get("type") in ("checkbox", "submit"):
            return
        if a.get("type") == "radio" and "checked" not in a:
            return
        self.data.append((a["name"], a.get("value") or ""))


def fields(response, **overrides) -> dict:
    parser = _Fields()
    parser.feed(response.text)
    data: dict = {}
    for name, value in parser.data:
        if name == "invoice":
            data.setdefault("invoice", []).append(value)
        else:
            data[name] = value
    data.pop("csrfmiddlewaretoken", None)
    data.update(overrides)
    return data


@pytest.fixture
def partial(provider):
    provider.partial_payments_allowed = True
    provider.save()
    return provider


@pytest.fixture
def invoices(northwind):
    today = timezone.localdate()
    return [
        make_invoice(northwind, total=total, number=number, due_date=today + datetime.timedelta(d))
        for number, total, d in (
            ("NW-7102", "250.00", 5),
            ("NW-7101", "100.00", -10),
            ("NW-7103", "75.25", 20),
        )
    ]


@pytest.fixture
def token(sandbox_gateway, gateway):
    return lambda: sandbox_gateway.card_token("4111111111111111", exp=f"12{NEXT_YEAR:02d}")


def billing(page, invoices) -> dict:
    """The new card's billing fields, as the single-invoice window's tests fill them in."""
    return {k: v for k, v in card_post(page, invoices[0], "").items() if k.startswith("card-")}


def open_page(client, invoices):
    return client.get(URL, {"invoice": [i.pk for i in invoices], "add": "card"})


def amounts(payment) -> dict:
    return {a.invoice.number: a.amount for a in payment.allocations.select_related("invoice")}


def test_a_typed_total_is_applied_oldest_due_first_and_confirmed_before_the_charge(
    as_manager, invoices, partial, token, sandbox_gateway
):
    page = open_page(as_manager, invoices)
    assert 'name="total"' in page.text
    # The lines come oldest due first: NW-7101, NW-7102, NW-7103.
    assert page.text.index("NW-7101") < page.text.index("NW-7102") < page.text.index("NW-7103")
    asked = as_manager.post(
        URL,
        fields(
            page, total="150.00", confirmed="yes", payment_token=token(), **billing(page, invoices)
        ),
    )
    assert "$150.00 is applied to the invoices due first." in asked.text
    assert "Pay $150.00 to" in asked.text  # asked again: the server filled the lines in
    assert not Payment.objects.exists()
    assert sales_at_gateway(sandbox_gateway) == []
    lines = fields(asked)
    assert lines[f"amount-{invoices[1].pk}"] == "100.00"
    assert lines[f"amount-{invoices[0].pk}"] == "50.00"
    assert lines[f"amount-{invoices[2].pk}"] == "0.00"
    done = as_manager.post(URL, fields(asked, confirmed="yes", **billing(page, invoices)))
    assert "Payment has been processed" in done.text, done.text
    payment = Payment.objects.get()
    assert payment.amount == Decimal("150.00")
    assert amounts(payment) == {"NW-7101": Decimal("100.00"), "NW-7102": Decimal("50.00")}
    assert len(sales_at_gateway(sandbox_gateway)) == 1


def test_changed_lines_win_over_a_typed_total(as_manager, invoices, partial, token):
    page = open_page(as_manager, invoices)
    data = fields(
        page,
        total="150.00",
        confirmed="yes",
        payment_token=token(),
        **{f"amount-{invoices[2].pk}": "20.00"},
        **billing(page, invoices),
    )
    done = as_manager.post(URL, data)
    assert "Payment has been processed" in done.text, done.text
    assert amounts(Payment.objects.get()) == {
        "NW-7101": Decimal("100.00"),
        "NW-7102": Decimal("250.00"),
        "NW-7103": Decimal("20.00"),
    }


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("425.26", "That is more than the selected invoices&#x27; balance, $425.25."),
        ("10.001", "Enter an amount with at most two decimals."),
        ("-5", "The amount must be more than zero."),
        ("abc", "Enter an amount such as 125.00."),
    ],
)
def test_a_bad_total_is_refused_next_to_it_and_nothing_is_charged(
    as_manager, invoices, partial, token, sandbox_gateway, typed, message
):
    page = open_page(as_manager, invoices)
    answer = as_manager.post(
        URL,
        fields(
            page, total=typed, confirmed="yes", payment_token=token(), **billing(page, invoices)
        ),
    )
    assert answer.status_code == 200
    assert 'id="id_total_error"' in answer.text
    assert message in answer.text
    assert f'value="{typed}"' in answer.text  # what the payer typed is kept
    assert not PaymentAllocation.objects.exists()
    assert sales_at_gateway(sandbox_gateway) == []


def test_with_partial_payments_off_a_posted_total_changes_nothing(as_manager, invoices, token):
    page = open_page(as_manager, invoices)
    assert 'name="total"' not in page.text
    done = as_manager.post(
        URL,
        fields(
            page, total="1.00", confirmed="yes", payment_token=token(), **billing(page, invoices)
        ),
    )
    assert "Payment has been processed" in done.text, done.text
    assert Payment.objects.get().amount == Decimal("425.25")


def test_a_saved_method_is_confirmed_by_the_server_first(
    as_manager, invoices, manager, gateway, sandbox_gateway
):
    # A card saved by an earlier payment of the first invoice.
    import uuid

    from remit.payments.services.several import pay_invoices
    from tests.payments.conftest import new_card

    pay_invoices(
        user=manager,
        selection=[(invoices[1].pk, None)],
        attempt_key=uuid.uuid4(),
        choice=new_card(),
        save_method=True,
        gateway=gateway,
    )
    page = as_manager.get(URL, {"invoice": [invoices[0].pk, invoices[2].pk]})
    asked = as_manager.post(URL, fields(page))
    assert "Pay $325.25 to" in asked.text
    assert "with Visa •••• 1111?" in asked.text
    assert Payment.objects.count() == 1
    done = as_manager.post(URL, fields(asked, confirmed="yes"))
    assert "Payment has been processed" in done.text, done.text
    assert Payment.objects.count() == 2
    assert len(sales_at_gateway(sandbox_gateway)) == 2
