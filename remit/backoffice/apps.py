from django.contrib.admin.apps import AdminConfig


class BackofficeAdminConfig(AdminConfig):
    """Django's admin, as the provider's back office (mounted at /backoffice/)."""

    default_site = "remit.backoffice.site.BackofficeSite"

    def ready(self) -> None:
        super().ready()
        from remit.backoffice import admin  # noqa: F401  (registers the model admins)
