"""Client users who turned two-step sign-in on enter their code before any portal page opens; those
the provider requires to have it (they see invoices) set it up first. Staff are the back office's
business (remit.backoffice.site); API calls authenticate with keys, not sessions."""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from remit.accounts.mfa_state import SESSION_PENDING, has_authenticator, mfa_required
from remit.backoffice.access import is_verified

EXEMPT_PREFIXES = ("/static/", "/api/", "/backoffice/", "/healthz")


class ClientMFAMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self._gate(request) or self.get_response(request)

    def _gate(self, request: HttpRequest) -> HttpResponse | None:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or not user.is_client or is_verified(user):
            return None
        path = request.path_info
        if path.startswith(EXEMPT_PREFIXES) or path == reverse("logout"):
            return None
        # Set at sign-in (signals.py) when the user has an authenticator app: no query here.
        if request.session.get(SESSION_PENDING):
            target = reverse("login_mfa")
        elif mfa_required(user, getattr(request, "provider", None)):
            # A session from before the app was set up elsewhere owes the code, not a set-up.
            target = reverse("login_mfa" if has_authenticator(user) else "account_mfa_setup")
        else:
            return None
        if path == target:
            return None
        if request.method == "GET" and path != reverse("home"):
            target = f"{target}?{urlencode({'next': request.get_full_path()})}"
        if getattr(request, "htmx", False):
            return HttpResponse(status=204, headers={"HX-Redirect": target})
        return HttpResponseRedirect(target)
