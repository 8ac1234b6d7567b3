from django.contrib import admin
from django.urls import include, path

from remit.api.api import api
from remit.core.views import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("backoffice/", admin.site.urls),
    path("api/", api.urls),
    path("", include("remit.accounts.urls")),
    path("", include("remit.portal.urls")),
    path("", include("remit.autopay.urls")),
]
