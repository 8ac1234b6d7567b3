from django.urls import path

from remit.portal import (
    page_check,
    pay_several_views,
    payment_views,
    payments_views,
    statement_views,
    views,
)

urlpatterns = [
    path("", views.home, name="home"),
    path("reports/invoices/", views.invoice_list, name="invoice_list"),
    path("invoices/<int:pk>/", views.invoice_detail, name="invoice_detail"),
    path("invoices/<int:pk>/pdf/", views.invoice_pdf, name="invoice_pdf"),
    path("invoices/<int:pk>/pay/", payment_views.make_payment, name="make_payment"),
    path("pay/", pay_several_views.pay_several, name="pay_several"),
    path("payments/", payments_views.payment_list, name="payment_list"),
    path("reports/statement/", statement_views.statement_page, name="statement"),
    path("reports/statement/pdf/", statement_views.statement_pdf, name="statement_pdf"),
    path(
        "payments/<uuid:public_id>/receipt.pdf",
        payments_views.payment_receipt_pdf,
        name="payment_receipt_pdf",
    ),
    path("pay/page-check/<str:sig>/", page_check.payment_page_view, name="payment_page_check"),
    path("payment-methods/", payment_views.payment_methods, name="payment_methods"),
    path(
        "payment-methods/<int:pk>/remove/",
        payment_views.payment_method_delete,
        name="payment_method_delete",
    ),
]
