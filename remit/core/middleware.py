from django.utils import timezone

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
