"""`remit create-api-key --name "PSA sync" --scopes organizations:write,invoices:write`

Prints the new key once: Remit stores only its hash."""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from remit.accounts.emails import normalise_email
from remit.accounts.models import User
from remit.api.keys import ApiKeyError, api_key_create, api_key_set_organizations
from remit.api.models import ApiKey, Scope


class Command(BaseCommand):
    help = "Create an API key for an integration and print it (once)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--name", required=True, help="The integration's name, for the audit log."
        )
        parser.add_argument(
            "--scopes",
            required=True,
            help=f"Comma-separated, or 'all'. Known: {', '.join(Scope.values)}.",
        )
        parser.add_argument("--created-by", help="Email of the staff member creating it.")
        parser.add_argument(
            "--organizations-of",
            metavar="PREFIX",
            help="Grant the new key the organizations another key manages (to replace that key).",
        )

    def handle(self, *args, name, scopes, created_by=None, organizations_of=None, **options):
        wanted = (
            list(Scope.values)
            if scopes.strip() == "all"
            else [scope.strip() for scope in scopes.split(",") if scope.strip()]
        )
        user = None
        if created_by:
            user = User.objects.filter(email=normalise_email(created_by), is_staff=True).first()
            if user is None:
                raise CommandError(f"No provider staff member has the email {created_by}.")
        organizations = []
        if organizations_of:
            previous = ApiKey.objects.filter(prefix=organizations_of.strip()).first()
            if previous is None:
                raise CommandError(f"No API key has the prefix {organizations_of}.")
            organizations = list(previous.organizations.all())
        try:
            with transaction.atomic():
                api_key, key = api_key_create(name=name, scopes=wanted, created_by=user)
                api_key_set_organizations(api_key, organizations, acting_user=user)
        except ApiKeyError as error:
            raise CommandError(str(error)) from error
        self.stderr.write(
            f"API key {api_key.name!r} ({api_key.prefix}…) with scopes "
            f"{', '.join(api_key.scopes)}, managing {len(organizations)} organization(s). Shown once; Remit keeps only its hash:"
        )
        self.stdout.write(key)
