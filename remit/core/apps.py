from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "remit.core"
    label = "core"
    verbose_name = "Remit"

    def ready(self) -> None:
        from remit.core import provider_cache, stale_plans

        provider_cache.connect()
        stale_plans.connect()
