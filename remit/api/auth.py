"""`Authorization: Bearer <key>`, checked before anything else: no key, an unknown or a revoked key
is 401; a live key without the operation's scope is 403 (even when the body is invalid too)."""

from __future__ import annotations

from django.http import HttpRequest
from ninja.errors import AuthorizationError
from ninja.security import HttpBearer

from remit.api.keys import api_key_authenticate
from remit.api.models import ApiKey


class ApiKeyAuth(HttpBearer):
    def __init__(self, scope: str) -> None:
        self.scope = scope
        super().__init__()

    def authenticate(self, request: HttpRequest, token: str) -> ApiKey | None:
        api_key = api_key_authenticate(token.strip())
        if api_key is None:
            return None
        if not api_key.has_scope(self.scope):
            raise AuthorizationError(message=f"This API key lacks the {self.scope} scope.")
        return api_key
