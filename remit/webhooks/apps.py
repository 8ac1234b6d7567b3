from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "remit.webhooks"
    label = "webhooks"
    verbose_name = "Webhooks"

    def ready(self) -> None:
        from remit.core import flag_cache
        from remit.payments.signals import payment_changed
        from remit.webhooks.models import WebhookEndpoint
        from remit.webhooks.services import ANY_ACTIVE, deliveries_for_payment_change

        # Whether any endpoint is active, cached; renewed whenever an endpoint is saved or deleted.
        flag_cache.invalidate_on_change(ANY_ACTIVE, WebhookEndpoint)

        # Inside the transaction that changed the payment: the deliveries commit with it.
        payment_changed.connect(deliveries_for_payment_change, dispatch_uid="webhooks")
