"""The two floor views bench/pages.py measures every page against, served by the same process.

Off unless the bench-only setting `BENCH_FLOOR_VIEWS` (environment `REMIT_BENCH_FLOOR_VIEWS=1`) is
on: remit/urls.py adds `urlpatterns` below only then, so in production these paths are a 404.

- plain: `HttpResponse("ok")` — the cost of the middleware stack and the WSGI server alone;
- signed-in: `login_required` and a one-line template — plus the session, the user and a render.
"""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import path


def plain(request):
    return HttpResponse("ok", content_type="text/plain")


@login_required
def signed_in(request):
    return render(request, "bench/floor.html")


urlpatterns = [
    path("_bench/floor/plain", plain, name="bench_floor_plain"),
    path("_bench/floor/signed-in", signed_in, name="bench_floor_signed_in"),
]
