from django.conf import settings
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

if settings.BENCH_FLOOR_VIEWS:  # bench/pages.py only: never on in production (see the module)
    from remit.core import bench_floor

    urlpatterns += bench_floor.urlpatterns
