from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "remit.accounts"
    label = "accounts"
    verbose_name = "Organizations and users"

    def ready(self) -> None:
        from remit.accounts import (
            mfa_state,  # noqa: F401  (the user_logged_in receiver)
            permission_cache,
        )

        permission_cache.connect()
