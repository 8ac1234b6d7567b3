from django.urls import include, path

from remit.core.views import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("", include("remit.accounts.urls")),
    path("", include("remit.portal.urls")),
]
