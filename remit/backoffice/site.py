from functools import update_wrapper

from django.contrib import admin
from django.urls import path
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect

from remit.backoffice import aging, invitations, mfa
from remit.backoffice.access import is_backoffice_staff, is_verified
from remit.core.models import Provider


def attention() -> dict[str, int]:
    """The header's badges (and the home page's tiles): what went wrong and waits for staff."""
    from remit.outbox.admin import failed_not_resent as failed_emails
    from remit.payments.reconcile import stuck_alerted
    from remit.webhooks.services import failed_not_resent as failed_webhooks

    return {
        "stuck_payments": stuck_alerted().count(),
        "failed_emails": failed_emails().count(),
        "failed_webhooks": failed_webhooks().count(),
    }


class BackofficeSite(admin.AdminSite):
    """The provider's back office. Only active provider staff who entered a TOTP code in this session
    get in; client users get a 404 (BackofficeAccessMiddleware); anyone else is sent to sign in."""

    site_url = None
    index_title = "Back office"
    index_template = "backoffice/index.html"
    # The header's menu replaces the admin's sidebar: list pages get the whole width.
    enable_nav_sidebar = False

    def each_context(self, request):
        context = super().each_context(request)
        name = getattr(getattr(request, "provider", None), "name", None) or Provider.load().name
        context.update(
            site_header=f"{name} back office",
            site_title=f"{name} back office",
            provider_name=name,
        )
        if self.has_permission(request):
            context["attention"] = attention()
        return context

    # The home page lists the daily pages first, the technical ones last, each under a plain name.
    APP_ORDER = [
        "payments",
        "billing",
        "accounts",
        "core",
        "api",
        "webhooks",
        "outbox",
        "audit",
        "backoffice",
        "auth",
        "axes",
    ]
    APP_NAMES = {
        "core": "Settings",
        "axes": "Sign-in lockouts",
        "auth": "Staff groups",
        "django_tasks_database": "Background tasks",
    }
    MODEL_NAMES = {"Provider": "Provider settings", "DBTaskResult": "Task results"}

    def get_app_list(self, request, app_label=None):
        apps = super().get_app_list(request, app_label)
        for app in apps:
            app["name"] = self.APP_NAMES.get(app["app_label"], app["name"])
            for model in app["models"]:
                model["name"] = self.MODEL_NAMES.get(model["object_name"], model["name"])
        order = {label: n for n, label in enumerate(self.APP_ORDER)}
        return sorted(apps, key=lambda app: order.get(app["app_label"], len(order)))

    def has_permission(self, request) -> bool:
        return is_backoffice_staff(request.user) and is_verified(request.user)

    def admin_view(self, view, cacheable=False):
        inner = super().admin_view(view, cacheable)

        def wrapper(request, *args, **kwargs):
            # Signed in with a password but no code yet: MFA first, whatever was asked for.
            if is_backoffice_staff(request.user) and not is_verified(request.user):
                return mfa.redirect_to_mfa(request, request.get_full_path())
            return inner(request, *args, **kwargs)

        wrapper.admin_site = self
        return update_wrapper(wrapper, view)

    def index(self, request, extra_context=None):
        from remit.backoffice.dashboard import dashboard

        return super().index(request, {**dashboard(request), **(extra_context or {})})

    def login(self, request, extra_context=None):
        return mfa.login_view(
            request, context={**self.each_context(request), **(extra_context or {})}
        )

    def get_urls(self):
        def plain(view):
            """Pages for signed-in but not yet verified staff: no admin_view permission check."""

            def wrapper(request, *args, **kwargs):
                return view(request, *args, context=self.each_context(request), **kwargs)

            return csrf_protect(never_cache(update_wrapper(wrapper, view)))

        def report(view):
            """A back-office page of our own: verified staff only, like the admin's pages."""

            def wrapper(request, *args, **kwargs):
                return view(request, *args, context=self.each_context(request), **kwargs)

            return self.admin_view(update_wrapper(wrapper, view))

        return [
            # Before the admin's own logout, which needs a verified session: staff half-way through
            # signing in may sign out too.
            path("logout/", csrf_protect(never_cache(self.logout)), name="logout"),
            path("mfa/setup/", plain(mfa.mfa_setup), name="mfa_setup"),
            path("mfa/verify/", plain(mfa.mfa_verify), name="mfa_verify"),
            path(
                "invitation/set-up/",
                plain(invitations.invitation_setup),
                name="staff_invitation_setup",
            ),
            path(
                "invitation/<str:token>/",
                plain(invitations.open_invitation),
                name="staff_invitation",
            ),
            path("reports/aging/", report(aging.aging_report), name="aging_report"),
            path("reports/aging.csv", report(aging.aging_csv), name="aging_report_csv"),
            *super().get_urls(),
        ]
