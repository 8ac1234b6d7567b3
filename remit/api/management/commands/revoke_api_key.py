"""`remit revoke-api-key rmt_Ab3dE9xQ`: revoke by the key's prefix (or the whole key)."""

from django.core.management.base import BaseCommand, CommandError

from remit.api.keys import PREFIX_LENGTH, api_key_revoke
from remit.api.models import ApiKey


class Command(BaseCommand):
    help = "Revoke an API key at once, by its prefix."

    def add_arguments(self, parser):
        parser.add_argument("prefix", help="The key's first 12 characters, e.g. rmt_Ab3dE9xQ.")

    def handle(self, *args, prefix, **options):
        api_key = ApiKey.objects.filter(prefix=prefix[:PREFIX_LENGTH]).first()
        if api_key is None:
            raise CommandError(f"No API key starts with {prefix[:PREFIX_LENGTH]}.")
        if api_key_revoke(api_key):
            self.stdout.write(f"Revoked {api_key}.")
        else:
            self.stdout.write(f"{api_key} was already revoked.")
