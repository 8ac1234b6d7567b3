"""Staff turn the card surcharge on within the card networks' rules: each bad value refused next
to its field with a message, every change audited with old and new values."""

import datetime
import re

import pytest
import time_machine

from remit.payments.surcharge_models import SurchargePolicy
from tests.backoffice.conftest import audit

URL = "/backoffice/payments/surchargepolicy/1/change/"
TODAY = datetime.date(2026, 12, 2)
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("provider")]


@pytest.fixture(autouse=True)
def today():
    with time_machine.travel(datetime.datetime(2026, 12, 2, 15, 0, tzinfo=datetime.UTC)):
        yield


def form(**overrides):
    data = {
        "enabled": "on",
        "percent": "3.00",
        "cost_of_acceptance": "3.40",
        "acquirer_notified_on": "2026-10-01",
        "excluded_states": ["CT", "MA", "ME", "PR"],
        "state_caps": "CO 2.00\nOK 2.00",
        "echeck_discount_percent": "",
        "_save": "Save",
    }
    for name, value in overrides.items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value
    return data


def error_next_to(response, field: str) -> str:
    """The message Django's admin shows in the field's row."""
    row = re.search(
        rf'<div class="form-row[^"]*field-{field}[^"]*">(.*?)</div>\s*</div>', response.text, re.S
    )
    assert row, f"no row for {field}"
    found = re.search(r'<ul class="errorlist"[^>]*><li>(.*?)</li>', row.group(1), re.S)
    return found.group(1) if found else ""


def test_off_by_default_with_the_states_prefilled(as_staff):
    page = as_staff.get(URL)
    assert page.status_code == 200
    policy = SurchargePolicy.load()
    assert policy.enabled is False
    assert policy.excluded_states == ["CT", "MA", "ME", "PR"]
    assert policy.state_caps == {"CO": "2.00", "OK": "2.00"}
    assert "CO 2.00" in page.text


def test_staff_turn_it_on_and_the_change_is_audited(as_staff):
    response = as_staff.post(URL, form())
    assert response.status_code == 302
    policy = SurchargePolicy.load()
    assert policy.surcharging_on(TODAY)
    assert str(policy.percent) == "3.00"
    event = audit("settings.surcharge_changed").get()
    assert event.actor.email == "staff@harborpoint.example"
    assert event.details["values"]["enabled"] == [False, True]
    assert event.details["values"]["percent"] == [None, "3.00"]
    # A second change names only what changed.
    as_staff.post(URL, form(percent="2.50"))
    latest = audit("settings.surcharge_changed").order_by("-id").first()
    assert latest.details["fields"] == ["percent"]
    assert latest.details["values"]["percent"] == ["3.00", "2.50"]


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"percent": "3.01"}, "percent", "At most 3.00%."),
        ({"percent": "2.755"}, "percent", "Use at most two decimals, for example 2.75."),
        ({"percent": "0"}, "percent", "At least 0.01%."),
        (
            {"percent": "3.00", "cost_of_acceptance": "2.60"},
            "percent",
            "The surcharge may not be above your cost of acceptance (2.60%).",
        ),
        (
            {"acquirer_notified_on": "2026-11-15"},
            "enabled",
            "Surcharges can be turned on from December 15, 2026: 30 days after your acquirer "
            "was notified.",
        ),
        (
            {"acquirer_notified_on": "2026-12-24"},
            "acquirer_notified_on",
            "This date is in the future.",
        ),
        ({"acquirer_notified_on": ""}, "acquirer_notified_on", "Enter when your acquirer"),
        ({"percent": ""}, "percent", "Enter the surcharge to turn it on."),
        ({"state_caps": "CO two"}, "state_caps", "Write each as a state"),
        ({"state_caps": "XX 2.00"}, "state_caps", "Write each as a state"),
        ({"state_caps": "CO 3.50"}, "state_caps", "CO: a cap is between 0.00 and 3.00%."),
    ],
)
def test_what_the_rules_do_not_allow_is_refused_next_to_its_field(
    as_staff, overrides, field, message
):
    response = as_staff.post(URL, form(**overrides))
    assert response.status_code == 200
    assert error_next_to(response, field).startswith(message.replace("'", "&#x27;"))
    # Nothing saved half-way, nothing audited; what staff typed is still in the form.
    assert SurchargePolicy.load().enabled is False
    assert not audit("settings.surcharge_changed").exists()
    typed = overrides.get("percent")
    if typed:
        assert f'value="{typed}"' in response.text


def test_turned_off_it_may_be_saved_without_a_date(as_staff):
    response = as_staff.post(
        URL, form(enabled=None, percent="", cost_of_acceptance="", acquirer_notified_on="")
    )
    assert response.status_code == 302
    assert not SurchargePolicy.load().surcharging_on(TODAY)
