"""Contract tests of the Autotask client against the Autotask sandbox, over HTTP."""

from decimal import Decimal

import pytest

from remit.psa.autotask.client import AutotaskClient, AutotaskError, Credentials
from remit.testing.autotask_sandbox import AutotaskSandboxProcess

ALL = [{"op": "gte", "field": "id", "value": 0}]


@pytest.fixture(scope="module")
def sandbox():
    # 1,200 companies (1,080 customers), a contact each, 1,200 invoices with their lines.
    with AutotaskSandboxProcess(companies=1200, contacts_per_company=1, invoices=1200) as running:
        yield running


@pytest.fixture
def waits():
    return []


@pytest.fixture
def client(sandbox, waits):
    sandbox.set_fault("none")
    sandbox.set_fault("bad_zone", on=False)
    credentials = Credentials(sandbox.username, sandbox.secret, sandbox.integration_code)
    with AutotaskClient(
        credentials,
        zone_lookup_url=sandbox.zone_lookup_url,
        backoff=0.01,
        read_timeout=1.0,
        attempts=4,
        sleep=waits.append,
    ) as autotask:
        yield autotask


def test_zone_discovery_names_the_zone_the_api_lives_in(client, sandbox):
    zone = client.discover_zone()
    assert zone == f"{sandbox.url}/webservices1/atservicesrest"
    assert client.test_connection() == zone


def test_an_unknown_api_user_is_a_zone_error(sandbox):
    credentials = Credentials("nobody@example.com", sandbox.secret, sandbox.integration_code)
    autotask = AutotaskClient(credentials, zone_lookup_url=sandbox.zone_lookup_url)
    with autotask, pytest.raises(AutotaskError) as failure:
        autotask.discover_zone()
    assert failure.value.kind == "zone"
    assert "nobody@example.com" in failure.value.message


@pytest.mark.parametrize("wrong", ["secret", "integration_code"])
def test_wrong_credentials_are_refused_and_named(sandbox, wrong, waits):
    values = {
        "username": sandbox.username,
        "secret": sandbox.secret,
        "integration_code": sandbox.integration_code,
    }
    values[wrong] = "Typed-By-Mistake-7"
    with (
        AutotaskClient(
            Credentials(**values), zone_lookup_url=sandbox.zone_lookup_url, sleep=waits.append
        ) as autotask,
        pytest.raises(AutotaskError) as failure,
    ):
        autotask.test_connection()
    assert failure.value.kind == "auth"
    assert "integration code" in failure.value.message
    assert "Typed-By-Mistake-7" not in failure.value.message  # the secret typed is never echoed
    assert waits == []  # not retried


@pytest.mark.parametrize(
    ("entity", "expected"),
    [("Companies", 1200), ("Contacts", 1200), ("Invoices", 1200)],
)
def test_each_entity_pages_past_500_records(client, sandbox, entity, expected):
    before = sandbox.health()["queries"]
    items = client.query_all(entity, ALL)
    assert len(items) == expected
    assert len({item["id"] for item in items}) == expected
    assert sandbox.health()["queries"] - before == 3  # 500 + 500 + 200: nextPageUrl was followed


def test_billing_items_of_some_invoices_with_in_and_include_fields(client):
    invoices = client.query_all(
        "Invoices", [{"op": "in", "field": "id", "value": [200000, 200001]}]
    )
    items = client.query_all(
        "BillingItems",
        [{"op": "in", "field": "invoiceID", "value": [200000, 200001]}],
        ["invoiceID", "extendedPrice"],
    )
    assert {item["invoiceID"] for item in items} == {200000, 200001}
    assert set(items[0]) == {"id", "invoiceID", "extendedPrice"}
    assert all(isinstance(item["extendedPrice"], Decimal) for item in items)
    for invoice in invoices:
        lines = sum(i["extendedPrice"] for i in items if i["invoiceID"] == invoice["id"])
        assert lines + invoice["totalTaxValue"] == invoice["invoiceTotal"]


def test_filter_operators_and_groups(client):
    customers = client.query_all(
        "Companies",
        [
            {"op": "eq", "field": "isActive", "value": True},
            {"op": "in", "field": "companyType", "value": [1]},
        ],
    )
    assert customers
    assert all(c["companyType"] == 1 and c["isActive"] for c in customers)
    either = client.query_all(
        "Companies",
        [
            {
                "op": "or",
                "items": [
                    {"op": "eq", "field": "id", "value": 1000},
                    {"op": "eq", "field": "id", "value": 1001},
                ],
            }
        ],
    )
    assert [c["id"] for c in either] == [1000, 1001]


def test_an_unknown_operator_is_reported(client):
    with pytest.raises(AutotaskError) as failure:
        client.query_all("Companies", [{"op": "like", "field": "id", "value": 1}])
    assert "like" in failure.value.message


def test_a_429_halfway_waits_retry_after_and_resumes_without_duplicates(client, sandbox, waits):
    sandbox.set_fault("rate_limit", after=1, retry_after=2)
    items = client.query_all("Companies", ALL)
    assert len(items) == len({item["id"] for item in items}) == 1200
    assert waits == [2.0]


@pytest.mark.parametrize("mode", ["http_500", "malformed"])
def test_a_server_error_or_malformed_body_is_retried(client, sandbox, mode, waits):
    sandbox.set_fault(mode, after=1)
    assert len(client.query_all("Invoices", ALL)) == 1200
    assert len(waits) == 1


def test_a_timeout_is_retried(client, sandbox, waits):
    sandbox.set_fault("timeout", delay=2.0)
    assert len(client.query_all("Companies", [{"op": "eq", "field": "id", "value": 1000}])) == 1
    assert len(waits) == 1


@pytest.mark.parametrize(
    ("mode", "kind"),
    [("rate_limit", "rate_limited"), ("http_500", "server"), ("malformed", "malformed")],
)
def test_a_fault_that_persists_is_reported_with_its_kind(client, sandbox, mode, kind, waits):
    sandbox.set_fault(mode, count=10)
    with pytest.raises(AutotaskError) as failure:
        client.query_all("Companies", ALL)
    assert failure.value.kind == kind
    assert failure.value.message.startswith("Companies/query")
    assert len(waits) == 3  # four attempts


def test_an_unreachable_zone_is_named(client, sandbox):
    sandbox.set_fault("bad_zone", on=True)
    with pytest.raises(AutotaskError) as failure:
        client.test_connection()
    assert failure.value.kind == "unreachable"
    assert "127.0.0.1" in failure.value.message


def test_billing_items_page_past_500_records_too(client, sandbox):
    expected = sandbox.health()["BillingItems"]
    assert expected > 1200
    before = sandbox.health()["queries"]
    items = client.query_all("BillingItems", ALL)
    assert len({item["id"] for item in items}) == len(items) == expected
    assert sandbox.health()["queries"] - before == -(-expected // 500)
