"""Bad input anywhere under /api/ gets a 4xx problem document (RFC 9457), never a 500 or a page."""

import pytest

from remit.accounts.models import Organization
from tests.api.conftest import assert_problem


class TestBadInput:
    def test_malformed_json(self, api):
        response = api.put("/api/organizations/CW-1", '{"name": "Fabrikam",')
        problem = assert_problem(response, 400, "malformed-request")
        assert "JSON" in problem["detail"]

    @pytest.mark.parametrize("body", ["[]", '"a string"', "null", "42"])
    def test_json_that_is_not_an_object(self, api, body):
        assert_problem(api.put("/api/organizations/CW-1", body), 422, "validation-error")

    def test_an_empty_body(self, api):
        problem = assert_problem(api.put("/api/organizations/CW-1", ""), 422, "validation-error")
        assert problem["errors"]

    def test_wrong_types_are_listed_field_by_field(self, api):
        response = api.put(
            "/api/invoices/INV-1",
            {
                "organization": 7,
                "invoice_date": "31/01/2025",
                "due_date": 20250131,
                "lines": [{"description": "Support", "quantity": 2, "unit_price": "ten"}],
                "tax": 1.5,
            },
        )
        problem = assert_problem(response, 422, "validation-error")
        pointers = {error["pointer"] for error in problem["errors"]}
        assert pointers == {
            "#/organization",
            "#/invoice_date",
            "#/due_date",
            "#/lines/0/quantity",
            "#/lines/0/unit_price",
            "#/tax",
        }
        assert all(error["detail"] for error in problem["errors"])
        assert "decimal string" in next(
            e["detail"] for e in problem["errors"] if e["pointer"] == "#/tax"
        )

    def test_strings_are_not_booleans(self, api):
        response = api.put("/api/organizations/CW-1", {"name": "Fabrikam", "is_active": "yes"})
        problem = assert_problem(response, 422, "validation-error")
        assert problem["errors"][0]["pointer"] == "#/is_active"

    def test_unknown_fields_are_refused(self, api):
        response = api.put("/api/organizations/CW-1", {"name": "Fabrikam", "colour": "red"})
        problem = assert_problem(response, 422, "validation-error")
        assert problem["errors"][0]["pointer"] == "#/colour"
        assert not Organization.objects.exists()

    @pytest.mark.parametrize("name", ["nul\x00byte", "line\nbreak", "\ud800", "   "])
    def test_control_characters_and_blanks_are_refused(self, api, name):
        response = api.put("/api/organizations/CW-1", {"name": name})
        assert_problem(response, 422, "validation-error")

    def test_query_parameters(self, api):
        problem = assert_problem(api.get("/api/payments", {"limit": "0"}), 422, "validation-error")
        assert problem["errors"][0]["parameter"] == "limit"
        assert_problem(api.get("/api/payments", {"limit": "ten"}), 422, "validation-error")

    def test_path_parameters(self, api):
        problem = assert_problem(api.get("/api/payments/not-a-uuid"), 422, "validation-error")
        assert problem["errors"][0]["parameter"] == "payment_id"
        too_long = "X" * 41
        assert_problem(api.put(f"/api/invoices/{too_long}", {}), 422, "validation-error")

    def test_headers(self, api):
        url = "/api/payments/5b8e6f0e-57a6-4d8c-9f58-6f2d1c1c9a11/refunds"
        problem = assert_problem(api.post(url, {}), 422, "validation-error")
        assert problem["errors"][0]["header"] == "Idempotency-Key"


class TestAddresses:
    @pytest.mark.parametrize("path", ["/api/", "/api/nothing", "/api/payments/x/y/z", "/api"])
    def test_unknown_addresses_are_404_problems(self, api, path):
        response = api.get(path)
        if response.status_code == 301:  # /api -> /api/ (APPEND_SLASH)
            response = api.get(response["Location"])
        assert_problem(response, 404)

    def test_a_wrong_method_is_a_405_problem(self, api):
        response = api.client.delete("/api/payments", headers=api._headers(None))
        problem = assert_problem(response, 405)
        assert response["Allow"] == "GET"
        assert "DELETE" in problem["detail"]

    def test_problem_types_explain_themselves(self, client, db):
        response = client.get("/api/problems/invoice-has-payments")
        assert response.status_code == 200
        assert "payments" in response.content.decode()
        assert_problem(client.get("/api/problems/no-such-thing"), 404)

    def test_openapi_document(self, client, db):
        response = client.get("/api/openapi.json")
        assert response.status_code == 200
        schema = response.json()
        assert schema["openapi"].startswith("3.")
        operations = {
            (method.upper(), path) for path, item in schema["paths"].items() for method in item
        }
        assert operations == {
            ("PUT", "/api/organizations/{external_id}"),
            ("GET", "/api/organizations/{external_id}/statement"),
            ("GET", "/api/organizations/{external_id}/autopay"),
            ("PUT", "/api/users/{external_id}"),
            ("PUT", "/api/invoices/{number}"),
            ("GET", "/api/payments"),
            ("GET", "/api/payments/{payment_id}"),
            ("POST", "/api/payments/{payment_id}/refunds"),
            ("GET", "/api/syncs"),
            ("GET", "/api/syncs/{run_id}"),
        }
        refunds = schema["paths"]["/api/payments/{payment_id}/refunds"]["post"]
        assert list(refunds["responses"]["409"]["content"]) == ["application/problem+json"]
        assert schema["components"]["securitySchemes"]["ApiKeyAuth"]["scheme"] == "bearer"

    def test_docs_page_loads_its_files_from_us(self, client, db):
        response = client.get("/api/docs")
        assert response.status_code == 200
        html = response.content.decode()
        assert "/static/ninja/swagger-ui-bundle.js" in html
        assert "cdn" not in html.lower()
        csp = response["Content-Security-Policy"]
        assert "script-src 'self'" in csp
        assert "unsafe" not in csp


def test_unknown_query_parameters_are_refused(api):
    problem = assert_problem(api.get("/api/payments", {"limt": "10"}), 422, "validation-error")
    assert problem["errors"] == [
        {"detail": "Unknown parameter.", "parameter": "limt", "code": "extra_forbidden"}
    ]
