from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "remit.payments"
    label = "payments"
    verbose_name = "Payments"

    def ready(self) -> None:
        from remit.core import flag_cache
        from remit.payments.surcharge import ANY_ADJUSTMENT
        from remit.payments.surcharge_models import SurchargePolicy

        # Whether the settings could change any payment's amount, cached; renewed on every save.
        flag_cache.invalidate_on_change(ANY_ADJUSTMENT, SurchargePolicy)
