from django.urls import path

from remit.autopay import views

urlpatterns = [
    path("payment-methods/autopay/", views.autopay_page, name="autopay"),
    path("payment-methods/autopay/cancel/", views.autopay_cancel, name="autopay_cancel"),
    path("payment-methods/reminders/", views.reminders_preference, name="autopay_reminders"),
]
