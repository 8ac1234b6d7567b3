from django.apps import AppConfig


class OutboxConfig(AppConfig):
    name = "remit.outbox"
    label = "outbox"
    verbose_name = "Outgoing email"
