from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "remit.billing"
    label = "billing"
    verbose_name = "Invoices"
