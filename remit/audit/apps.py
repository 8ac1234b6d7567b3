from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "remit.audit"
    label = "audit"
    verbose_name = "Audit log"

    def ready(self) -> None:
        from remit.audit import signals  # noqa: F401
