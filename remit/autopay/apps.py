from django.apps import AppConfig


class AutopayConfig(AppConfig):
    name = "remit.autopay"
    verbose_name = "Autopay and reminders"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from remit.autopay import signals  # noqa: F401  (ends enrolments with their method / user)
        from remit.autopay.emails import register_builders

        register_builders()
