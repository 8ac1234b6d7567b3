from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "remit.payments"
    label = "payments"
    verbose_name = "Payments"

    def ready(self) -> None:
        from remit.core import flag_cache
        from remit.payments.surcharge_models import CACHED, SurchargePolicy

        # The settings, cached for pages and for whether a payment reads them; renewed on save.
        flag_cache.invalidate_on_change(CACHED, SurchargePolicy)
