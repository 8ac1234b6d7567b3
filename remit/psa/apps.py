from django.apps import AppConfig
from django.core import checks


class PsaConfig(AppConfig):
    name = "remit.psa"
    label = "psa"
    verbose_name = "PSA connection"

    def ready(self) -> None:
        checks.register(encryption_key_check, checks.Tags.security, deploy=True)


def encryption_key_check(app_configs, **kwargs):
    from remit.core.encryption import ENV_NAME, key_is_derived

    if key_is_derived():
        return [
            checks.Warning(
                f"{ENV_NAME} is not set: PSA secrets are encrypted with a key derived from "
                "SECRET_KEY, and changing SECRET_KEY would make them unreadable.",
                hint=f"Set {ENV_NAME} to a Fernet key (docs/autotask.md, 'Secrets at rest').",
                id="remit.psa.W001",
            )
        ]
    return []
