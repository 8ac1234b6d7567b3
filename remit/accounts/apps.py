from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "remit.accounts"
    label = "accounts"
    verbose_name = "Organizations and users"
