from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig


class BackofficeConfig(AppConfig):
    """The back office's own models (invoice imports), templates and static files."""

    name = "remit.backoffice"
    label = "backoffice"
    verbose_name = "Back office"
    default_auto_field = "django.db.models.BigAutoField"


class BackofficeAdminConfig(AdminConfig):
    """Django's admin, as the provider's back office (mounted at /backoffice/)."""

    default_site = "remit.backoffice.site.BackofficeSite"

    def ready(self) -> None:
        super().ready()  # autodiscovers every app's admin module, ours included
        from django.contrib import admin
        from django_otp.plugins.otp_totp.models import TOTPDevice

        # django-otp's own device admin would show secrets and QR codes; staff reset a colleague's
        # MFA from the user's page instead ("Reset MFA").
        if admin.site.is_registered(TOTPDevice):
            admin.site.unregister(TOTPDevice)

        # Staff groups hold back-office permissions: their changes are audited like the rest.
        from django.contrib.auth.models import Group

        from remit.backoffice.admin.accounts import StaffGroupAdmin

        if admin.site.is_registered(Group):
            admin.site.unregister(Group)
        admin.site.register(Group, StaffGroupAdmin)
