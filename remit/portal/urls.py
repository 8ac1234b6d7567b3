from django.urls import path

from remit.portal import views

urlpatterns = [
    path("", views.home, name="home"),
]
