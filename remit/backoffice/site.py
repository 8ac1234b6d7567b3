from django.contrib import admin

from remit.core.models import Provider


class BackofficeSite(admin.AdminSite):
    """The provider's back office. Only active provider staff get in; client users never do."""

    site_url = None
    index_title = "Back office"

    def each_context(self, request):
        context = super().each_context(request)
        name = getattr(getattr(request, "provider", None), "name", None) or Provider.load().name
        context.update(site_header=f"{name} back office", site_title=f"{name} back office")
        return context

    def has_permission(self, request) -> bool:
        user = request.user
        return user.is_active and user.is_staff and user.organization_id is None
