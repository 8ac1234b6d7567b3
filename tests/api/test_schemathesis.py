"""Schemathesis fuzzes every operation of the OpenAPI document that /api/openapi.json serves,
in-process through Django's WSGI app, with a key holding every scope: no 5xx, every answer as
documented (status, content type, body schema, headers), schema-invalid input refused. Examples
are bounded and drawn deterministically, so the run is short and the same on every machine."""

import datetime

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.utils import timezone
from hypothesis import HealthCheck, settings

from remit.accounts.models import Organization
from remit.api.api import api as ninja_api
from remit.api.keys import api_key_create
from remit.api.models import Scope
from remit.core.models import Provider
from tests.api.test_payment_list import make_payment
from tests.factories import OrganizationFactory, make_invoice

CONFIG = """
base-url = "http://localhost"

[generation]
deterministic = true

[checks]
# 422 is documented and right for input the schema allows but the data refuses: an organization
# that does not exist, a due date before the invoice date, lines adding up to less than zero.
positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "422"]
"""

# The document /api/openapi.json serves (test_it_is_the_served_document checks they are equal);
# built here, at collection, because the served one needs the database to answer.
schema = schemathesis.openapi.from_dict(
    ninja_api.get_openapi_schema(path_prefix="/api/"),
    config=schemathesis.config.SchemathesisConfig.from_str(CONFIG),
)


@pytest.fixture
def wsgi_app(db, settings):
    """Django's WSGI app, keeping the test's connection open between requests (as Django's own
    test client does): every example runs inside the test's transaction."""
    settings.API_PAYMENT_FEED_LAG_SECONDS = 0
    Provider.load()
    OrganizationFactory(external_id="0")  # something for references to find now and then
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield get_wsgi_application()
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def bearer(db):
    api_key, key = api_key_create(name="Schemathesis", scopes=Scope.values)
    api_key.organizations.add(*Organization.objects.filter(external_id="0"))
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def account(wsgi_app):
    """Organization "0" with open invoices in every aging bucket and a payment of two of them."""
    organization = Organization.objects.get(external_id="0")
    today = timezone.localdate()
    invoices = [
        make_invoice(
            organization,
            total="120.50",
            invoice_date=today - datetime.timedelta(days=late + 30),
            due_date=today - datetime.timedelta(days=late),
        )
        for late in (-5, 10, 45, 75, 120)
    ]
    make_payment(*invoices[:2], state="pending", amount="20.25")
    return organization


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
def test_api(case, wsgi_app, account, bearer):
    case.operation.schema.app = wsgi_app  # the checks' own probes go through it too
    case.call_and_validate(app=wsgi_app, headers=bearer)


@pytest.mark.parametrize(
    ("path", "path_parameters", "query", "payments"),
    [
        ("/api/organizations/{external_id}/statement", {"external_id": "0"}, {}, 1),
        (
            "/api/organizations/{external_id}/statement",
            {"external_id": "0"},
            {"as_of": "2099-01-01"},
            0,
        ),
        ("/api/payments", {}, {"limit": 5}, 1),
    ],
)
def test_answers_with_allocations_and_aging_match_the_document(
    wsgi_app, account, bearer, path, path_parameters, query, payments
):
    """The generated requests rarely name organization "0": a full statement and a page of
    payments with allocations, checked against the document like every generated answer."""
    operation = schema[path]["GET"]
    operation.schema.app = wsgi_app
    case = operation.Case(path_parameters=path_parameters, query=query)
    body = case.call_and_validate(app=wsgi_app, headers=bearer).json()
    listed = body["payments"] if "payments" in body else body["items"]
    assert len(listed) == payments
    for payment in listed:
        assert [a["amount"] for a in payment["allocations"]] == ["20.25", "20.25"]
    if "aging" in body:
        assert len(body["open_items"]) == 5
        assert body["total_open"] == "602.50"
