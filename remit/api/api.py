"""The integration API: the PSA and the accounting system keep Remit's organizations, users and
invoices in step with theirs, follow payments, and ask for refunds. Mounted at /api/; OpenAPI at
/api/openapi.json, browsable at /api/docs. See docs/api.md."""

from __future__ import annotations

import functools
import logging
import uuid

from django.http import Http404, HttpRequest, HttpResponse
from django.urls import re_path
from ninja import Header, NinjaAPI, Path, Query, Swagger
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.responses import Status

from remit.accounts.models import User
from remit.api.account_services import organization_upsert, user_upsert
from remit.api.auth import ApiKeyAuth
from remit.api.models import Scope
from remit.api.problems import (
    PROBLEM_CONTENT_TYPE,
    PROBLEM_TYPES,
    ApiProblem,
    error_summary,
    field_errors,
    problem,
)
from remit.api.schemas import (
    IDENTIFIER_PATTERN,
    InvoiceIn,
    InvoiceOut,
    OrganizationIn,
    OrganizationOut,
    PaymentOut,
    PaymentPage,
    Problem,
    RefundIn,
    RefundResult,
    UserIn,
    UserOut,
)
from remit.api.selectors import (
    InvalidCursor,
    invoice_data,
    invoice_with_flags,
    organization_data,
    payment_data,
    payment_feed,
    payments_represented,
    refund_data,
    user_data,
)
from remit.api.services import Caller, invoice_upsert, refund_request
from remit.audit.services import client_ip
from remit.payments.models import Payment

logger = logging.getLogger(__name__)

DESCRIPTION = """
Keeps Remit in step with your PSA and accounting system.

**Authentication.** Every operation needs an API key: `Authorization: Bearer rmt_…`. Provider staff
create keys in the back office (or with `remit create-api-key`); each has scopes, and is shown once.
No key, or an unknown or revoked one: **401**. A key without the operation's scope: **403**.
A key writes only organizations it created or was granted by staff, and only their users: anything
else is **403** `organization-not-managed`. It reads the statement of account of those organizations
only: any other is **404**.

**Payments** pay one or more invoices through one sale: `allocations` gives each invoice's share.

**Errors** are [RFC 9457](https://www.rfc-editor.org/rfc/rfc9457) problem documents
(`application/problem+json`) with `type`, `title`, `status`, `detail`, and for invalid input
`errors`: one entry per field, with a JSON `pointer` into the body or the `parameter` or `header`.

**Money and quantities** are decimal strings (`"1234.50"`), never JSON numbers.

**Upserts** (`PUT`) create or update by your identifier and are idempotent: the same request twice
changes nothing the second time. Optional fields you omit are left as they are.
"""


class RemitAPI(NinjaAPI):
    """django-ninja, answering every error under /api/ with a problem document."""

    def set_default_exception_handlers(self) -> None:
        self.add_exception_handler(ApiProblem, lambda request, exc: exc.response())
        self.add_exception_handler(ValidationError, _validation_problem)
        self.add_exception_handler(HttpError, _http_problem)
        self.add_exception_handler(Http404, lambda request, exc: problem(404))
        self.add_exception_handler(Exception, _server_problem)

    def get_openapi_operation_id(self, operation) -> str:
        return operation.view_func.__name__

    def get_openapi_schema(self, *, path_prefix=None, path_params=None):
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        for path_item in schema["paths"].values():
            for operation in path_item.values():
                for status, response in operation["responses"].items():
                    content = response.get("content")
                    if int(status) >= 400 and content:
                        response["content"] = {PROBLEM_CONTENT_TYPE: next(iter(content.values()))}
        return schema

    @property
    def urls(self):
        patterns, app_name, namespace = super().urls
        for pattern in patterns:
            pattern.callback = _problems_for_plain_errors(pattern.callback)
        patterns += [
            re_path(r"^problems/(?P<slug>[a-z-]+)$", problem_type, name="problem-type"),
            re_path(r"^.*$", not_found, name="not-found"),  # any other address under /api/
        ]
        return patterns, app_name, namespace


def _validation_problem(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = field_errors(exc.errors)
    return problem(422, error_summary(errors), slug="validation-error", errors=errors)


def _http_problem(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if isinstance(exc, AuthenticationError):
        return problem(
            401,
            "Send a valid API key: Authorization: Bearer <key>.",
            headers={"WWW-Authenticate": 'Bearer realm="remit"'},
        )
    if exc.status_code == 400:
        return problem(400, "The body is not valid JSON.", slug="malformed-request")
    return problem(exc.status_code, str(exc))


def _server_problem(request: HttpRequest, exc: Exception) -> HttpResponse:
    logger.exception("API error on %s %s", request.method, request.path)
    return problem(500, "Something went wrong on our side. It has been logged.")


def _problems_for_plain_errors(view):
    """django-ninja answers a wrong method with a bare 405, and its root with Django's 404 page."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            response = view(request, *args, **kwargs)
        except Http404:
            return problem(404)
        if response.status_code == 405 and response.get("Content-Type") != PROBLEM_CONTENT_TYPE:
            return problem(
                405,
                f"{request.method} is not allowed here.",
                headers={"Allow": response["Allow"]},
            )
        return response

    return wrapper


def not_found(request: HttpRequest) -> HttpResponse:
    return problem(404, "There is no such address in the API. See /api/docs.")


def problem_type(request: HttpRequest, slug: str) -> HttpResponse:
    if slug not in PROBLEM_TYPES:
        return problem(404)
    title, explanation = PROBLEM_TYPES[slug]
    return HttpResponse(f"{title}\n\n{explanation}\n", content_type="text/plain; charset=utf-8")


not_found.csrf_exempt = True  # type: ignore[attr-defined]
problem_type.csrf_exempt = True  # type: ignore[attr-defined]


api = RemitAPI(
    title="Remit integration API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api",
    docs=Swagger(
        # No deep links: they put a link inside the button that opens an operation (nested controls).
        settings={"defaultModelsExpandDepth": 0, "deepLinking": False}
    ),
)

AUTH_ERRORS = {401: Problem, 403: Problem, 422: Problem}
BODY_ERRORS = {400: Problem, **AUTH_ERRORS}
ExternalId = Path(
    ..., min_length=1, max_length=100, pattern=IDENTIFIER_PATTERN, description="Your identifier."
)
InvoiceNumber = Path(..., min_length=1, max_length=40, pattern=IDENTIFIER_PATTERN)


def _caller(request: HttpRequest, *query: str) -> Caller:
    """Who calls; and a misspelt query parameter (?limt=10) is an error, not silently ignored."""
    unknown = sorted(set(request.GET) - set(query))
    if unknown:
        errors = [
            {"detail": "Unknown parameter.", "parameter": name, "code": "extra_forbidden"}
            for name in unknown
        ]
        raise ApiProblem(
            422,
            f"Unknown query parameter(s): {', '.join(unknown)}.",
            slug="validation-error",
            errors=errors,
        )
    return Caller(api_key=request.auth, ip_address=client_ip(request))


def _put_result(upserted, data):
    return Status(201 if upserted.created else 200, data)


# --- Organizations -------------------------------------------------------------------------------


@api.put(
    "/organizations/{external_id}",
    response={200: OrganizationOut, 201: OrganizationOut, 409: Problem, **BODY_ERRORS},
    auth=ApiKeyAuth(Scope.ORGANIZATIONS_WRITE),
    tags=["Organizations"],
    summary="Create or update an organization",
)
def organization_put(request, payload: OrganizationIn, external_id: str = ExternalId):
    """Scope `organizations:write`. 201 when created, 200 when updated or unchanged."""
    upserted = organization_upsert(external_id, payload, caller=_caller(request))
    return _put_result(upserted, organization_data(upserted.obj))


# --- Users ---------------------------------------------------------------------------------------


@api.put(
    "/users/{external_id}",
    response={200: UserOut, 201: UserOut, 409: Problem, **BODY_ERRORS},
    auth=ApiKeyAuth(Scope.USERS_WRITE),
    tags=["Users"],
    summary="Create or update a portal user",
)
def user_put(request, payload: UserIn, external_id: str = ExternalId):
    """Scope `users:write`. A client user of an organization, by your identifier. A portal user
    who already has this email address and no external id yet is linked, not duplicated. The user's
    organization, and the one asked for, must be managed by the key (else 403); a move between two
    of them signs the user out everywhere. A new
    user has no password: they set one with "Forgot password". `is_active: false` ends their
    sessions. 201 when created, 200 when updated or unchanged."""
    upserted = user_upsert(external_id, payload, caller=_caller(request))
    user = User.objects.select_related("organization", "security_level").get(pk=upserted.obj.pk)
    return _put_result(upserted, user_data(user))


# --- Invoices ------------------------------------------------------------------------------------


@api.put(
    "/invoices/{number}",
    response={200: InvoiceOut, 201: InvoiceOut, 409: Problem, **BODY_ERRORS},
    auth=ApiKeyAuth(Scope.INVOICES_WRITE),
    tags=["Invoices"],
    summary="Create or update an invoice",
)
def invoice_put(request, payload: InvoiceIn, number: str = InvoiceNumber):
    """Scope `invoices:write`. By invoice number. Remit computes line amounts, subtotal and total
    (quantity × unit price, in cents, half up). Refused with 409 when it would break an invoice that
    has payments: a total below what is paid, voiding or re-drafting it with money applied, any
    change of total or state while a payment is being processed, moving it to another
    organization. 201 when created, 200 when updated or unchanged."""
    upserted = invoice_upsert(number, payload, caller=_caller(request))
    return _put_result(upserted, invoice_data(invoice_with_flags(upserted.obj.number)))


# --- Payments ------------------------------------------------------------------------------------


@api.get(
    "/payments",
    response={200: PaymentPage, **AUTH_ERRORS},
    auth=ApiKeyAuth(Scope.PAYMENTS_READ),
    tags=["Payments"],
    summary="List payments changed since a cursor",
)
def payment_list(
    request,
    cursor: str = Query(
        None,
        max_length=200,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="`next_cursor` from the previous page; omit to start from the beginning.",
    ),
    limit: int = Query(50, ge=1, le=200),
):
    """Scope `payments:read`. Every payment whose state or amounts changed after the cursor,
    oldest change first. A payment changes again when it settles, is returned or refunded, so it
    can appear again later. Keep `next_cursor` and poll with it; `has_more` says whether to ask at
    once. Changes show up here a few seconds after they happen."""
    _caller(request, "cursor", "limit")
    try:
        page, next_cursor, has_more = payment_feed(cursor=cursor, limit=limit)
    except InvalidCursor as invalid:
        raise ApiProblem(
            422,
            str(invalid),
            slug="invalid-cursor",
            errors=[{"detail": str(invalid), "parameter": "cursor", "code": "invalid_cursor"}],
        ) from None
    return {
        "items": [payment_data(payment) for payment in page],
        "next_cursor": next_cursor,
        "has_more": has_more,
    }


def _payment(payment_id: uuid.UUID, *, represented: bool = True) -> Payment:
    payments = Payment.objects.select_related("invoice", "organization", "payer")
    if represented:  # all that payment_data reads, at once
        payments = payments_represented(payments)
    payment = payments.filter(public_id=payment_id).first()
    if payment is None:
        raise ApiProblem(404, f"No payment has the id {payment_id}.")
    return payment


@api.get(
    "/payments/{payment_id}",
    response={200: PaymentOut, 404: Problem, **AUTH_ERRORS},
    auth=ApiKeyAuth(Scope.PAYMENTS_READ),
    tags=["Payments"],
    summary="Get a payment",
)
def payment_get(request, payment_id: uuid.UUID):
    """Scope `payments:read`."""
    _caller(request)
    return payment_data(_payment(payment_id))


@api.post(
    "/payments/{payment_id}/refunds",
    response={
        200: RefundResult,
        201: RefundResult,
        404: Problem,
        409: Problem,
        503: Problem,
        **BODY_ERRORS,
    },
    auth=ApiKeyAuth(Scope.REFUNDS_WRITE),
    tags=["Payments"],
    summary="Refund a settled payment",
)
def refund_create(
    request,
    response: HttpResponse,
    payment_id: uuid.UUID,
    payload: RefundIn,
    idempotency_key: str = Header(
        ...,
        alias="Idempotency-Key",
        min_length=1,
        max_length=64,
        pattern=r"^[\u0021-\u007e]+$",
        description="Your unique name for this refund (e.g. a UUID). Sending the same key again "
        "returns the first refund and moves no money.",
    ),
):
    """Scope `refunds:write`. Refunds `amount` (omit it for all that is still applied) of a
    settled payment through the gateway, restoring the invoices' amounts due (`invoices` first, in
    that order, then the newest; the refund's `invoices` say which). 201 with the refund
    (its `state` is `succeeded`, `failed` when the gateway refused, or `unknown` while it is being
    confirmed); 200 with the same refund when the Idempotency-Key was seen before. 409 when the
    payment has not settled (it can be voided from the back office) or another refund is in
    progress; 422 when the amount is more than what is applied."""
    caller = _caller(request)
    payment = _payment(payment_id, represented=False)  # the refund reads it afresh, locked
    refund, replayed = refund_request(
        payment,
        amount=payload.amount,
        reason=payload.reason,
        idempotency_key=idempotency_key,
        caller=caller,
        invoices=payload.invoices,
    )
    if replayed:
        response["Idempotent-Replayed"] = "true"
    payment = _payment(payment_id)
    return Status(
        200 if replayed else 201, {**refund_data(refund, payment), "payment": payment_data(payment)}
    )


# The statement (remit/api/statements.py), autopay (remit/autopay/api.py) and the PSA sync history
# (remit/psa/api.py) register their operations on this API.
from remit.api import statements as _statements  # noqa: E402, F401
from remit.autopay import api as _autopay_api  # noqa: E402, F401
from remit.psa import api as _psa_api  # noqa: E402, F401
