from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "remit.webhooks"
    label = "webhooks"
    verbose_name = "Webhooks"

    def ready(self) -> None:
        from remit.payments.signals import payment_changed
        from remit.webhooks.services import deliveries_for_payment_change

        # Inside the transaction that changed the payment: the deliveries commit with it.
        payment_changed.connect(deliveries_for_payment_change, dispatch_uid="webhooks")
