from django.urls import path

from remit.portal import views

urlpatterns = [
    path("", views.home, name="home"),
    path("reports/invoices/", views.invoice_list, name="invoice_list"),
    path("invoices/<int:pk>/", views.invoice_detail, name="invoice_detail"),
    path("invoices/<int:pk>/pdf/", views.invoice_pdf, name="invoice_pdf"),
]
