"""RFC 9457 problem documents: every error under /api/ is one, with `application/problem+json`.

    {"type": "about:blank", "title": "Not Found", "status": 404, "detail": "No invoice INV-9."}

`type` is `about:blank` when the HTTP status says it all, else `/api/problems/<slug>` (a relative
reference, explained at that address and in docs/api.md). Validation problems add `errors`, one
entry per offending field: `{"detail": ..., "pointer": "#/lines/0/quantity"}` for the body,
`{"detail": ..., "parameter": "limit"}` for the query or path, `{"detail": ..., "header": ...}`."""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from django.http import HttpResponse

PROBLEM_CONTENT_TYPE = "application/problem+json"

# slug -> (title, explanation). The explanations are served at /api/problems/<slug>.
PROBLEM_TYPES: dict[str, tuple[str, str]] = {
    "validation-error": (
        "Your request is not valid",
        "Some fields are missing, of the wrong type, or outside their limits. `errors` lists each "
        "one with a JSON pointer into the body or the name of the parameter or header.",
    ),
    "malformed-request": (
        "The request body could not be read",
        "The body is not well-formed JSON.",
    ),
    "invalid-cursor": (
        "The cursor is not valid",
        "Pass back a `next_cursor` exactly as an earlier page returned it, or no cursor at all.",
    ),
    "unknown-reference": (
        "A referenced object does not exist",
        "The body names an organization or security level Remit does not know.",
    ),
    "conflict": (
        "The change conflicts with Remit's data",
        "For instance an email address used by another user.",
    ),
    "organization-not-managed": (
        "The organization is not managed by this API key",
        "An API key updates only the organizations it created and those provider staff granted it, "
        "and creates, links, updates or moves only users within them. Staff grant an organization "
        "to a key on the key's page in the back office (Integration API → API keys).",
    ),
    "invoice-has-payments": (
        "The invoice has payments",
        "The change would break an invoice that money was paid against or is being paid against: "
        "a total below what is paid, voiding or re-drafting with money applied, a change while a "
        "payment is in flight, or moving it to another organization.",
    ),
    "payment-not-refundable": (
        "The payment cannot be refunded",
        "Only a settled payment can be refunded. A payment that has not settled yet can be voided "
        "from the back office.",
    ),
    "refund-in-progress": (
        "A refund of this payment is in progress",
        "Wait for it to finish, then try again. Retrying with the same Idempotency-Key is safe.",
    ),
    "refund-amount-invalid": (
        "The refund amount is not possible",
        "The amount must be more than zero and at most what is still applied from the payment.",
    ),
    "idempotency-key-reused": (
        "The Idempotency-Key was used for a different request",
        "A key names one request. Use a new key for a new refund.",
    ),
    "gateway-unavailable": (
        "The payment gateway is not set up",
        "The provider has not configured a payment gateway, so no money can move.",
    ),
}


def problem(
    status: int,
    detail: str = "",
    *,
    slug: str | None = None,
    title: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> HttpResponse:
    if slug is not None:
        type_, default_title = f"/api/problems/{slug}", PROBLEM_TYPES[slug][0]
    else:
        type_, default_title = "about:blank", HTTPStatus(status).phrase
    body: dict[str, Any] = {"type": type_, "title": title or default_title, "status": status}
    if detail:
        body["detail"] = detail
    if errors is not None:
        body["errors"] = errors
    body.update(extra)
    response = HttpResponse(
        json.dumps(body), status=status, content_type=PROBLEM_CONTENT_TYPE, headers=headers
    )
    return response


class ApiProblem(Exception):
    """Raised by API code to answer with a problem document."""

    def __init__(self, status: int, detail: str = "", *, slug: str | None = None, **extra: Any):
        super().__init__(detail)
        self.status, self.detail, self.slug, self.extra = status, detail, slug, extra

    def response(self) -> HttpResponse:
        return problem(self.status, self.detail, slug=self.slug, **self.extra)


def error_summary(errors: list[dict[str, Any]]) -> str:
    """A problem's `detail` for invalid input: where and what, for the first few fields."""
    return "; ".join(
        f"{error.get('pointer') or error.get('parameter') or error.get('header')}: {error['detail']}"
        for error in errors[:5]
    )


def invalid(errors: list[dict[str, Any]]) -> ApiProblem:
    """422 `validation-error`, one entry per field, as django-ninja's own validation reads."""
    return ApiProblem(422, error_summary(errors), slug="validation-error", errors=errors)


def field_errors(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """django-ninja's validation errors (pydantic's, with a location) as problem `errors`."""
    result = []
    for error in errors:
        loc = list(error.get("loc", ()))
        source = loc[0] if loc else "body"
        entry: dict[str, Any] = {"detail": _message(error), "code": error.get("type", "invalid")}
        if source == "body":
            # ("body", "<argument name>", field, index, field ...): the argument name is ours
            parts = loc[2:]
            entry["pointer"] = "#/" + "/".join(str(part) for part in parts) if parts else "#"
        elif source == "header":
            entry["header"] = str(loc[1]) if len(loc) > 1 else ""
        else:
            entry["parameter"] = str(loc[-1]) if len(loc) > 1 else ""
        result.append(entry)
    return result


def _message(error: dict[str, Any]) -> str:
    message = str(error.get("msg", "Invalid value"))
    # pydantic prefixes errors raised by our validators; the reader does not need to know.
    return message.removeprefix("Value error, ")
