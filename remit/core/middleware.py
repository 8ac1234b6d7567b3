from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.functional import SimpleLazyObject

from remit.core.models import Provider


class ProviderMiddleware:
    """Loads the provider once per request and shows every date in the provider's time zone."""

    def __init__(self, get_response):
        self.get_response = get_response

    # The health check must answer even when the database cannot.
    exempt_paths = frozenset({"/healthz"})

    def __call__(self, request):
        if request.path in self.exempt_paths:
            return self.get_response(request)
        request.provider = Provider.load()
        timezone.activate(request.provider.zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


class NoStoreMiddleware:
    """`Cache-Control: no-store, private` on every response Remit renders itself.

    Nearly every page and file shows financial data to a signed-in person (Home, invoices, their
    PDFs, Make a Payment, payment methods, the back office, the API), and a shared browser or a
    proxy must not keep a copy. One rule for every dynamic response — rather than a decorator per
    view — means a new page cannot forget it. Static files are served by WhiteNoise, which sits
    before this middleware and answers first, so they keep their long cache lifetimes."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        # Merges with what a view set (Django's never_cache adds no-cache, max-age=0; private
        # drops a `public`), so the strictest directives win.
        patch_cache_control(response, no_store=True, private=True)
        return response


class ResolvedUserMiddleware:
    """`request.user` as the user itself, not Django's lazy proxy of it.

    AuthenticationMiddleware and OTPMiddleware each wrap the user in a SimpleLazyObject, so that a
    request which never asks does not read the session. Every request Remit renders asks (the
    two-step gate after this reads it first), and every attribute read through the two proxies
    costs extra Python calls: several hundred for a payment's window and post (the gate, the
    views, the templates). Here, right after OTPMiddleware, the proxy is resolved once and
    replaced by what it stands for; what OTPMiddleware sets (`otp_device`, `is_verified`) is on
    the user object itself. The health check is left alone (it must answer without a database)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if request.path not in ProviderMiddleware.exempt_paths:
            resolved = user
            while isinstance(resolved, SimpleLazyObject):  # OTPMiddleware's proxy wraps Django's
                resolved.is_authenticated  # noqa: B018 (resolves it, as the gate would)
                resolved = resolved._wrapped
            if resolved is not user:
                request.user = resolved
        return self.get_response(request)
