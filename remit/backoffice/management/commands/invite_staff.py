"""`remit invite-staff EMAIL`: a two-step sign-in set-up link for a staff member, printed here.

For the very first staff member of a fresh install (created as a superuser without a password: they
choose one from the link), or for the only administrator who lost their phone (`--reset`). Everyone
else gets their link from a colleague in the back office (Users → "Send a two-step sign-in set-up
link"), emailed by the worker."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from remit.accounts.models import User
from remit.accounts.services import end_user_sessions
from remit.audit.services import record_event
from remit.backoffice.access import has_confirmed_device
from remit.backoffice.invitations import invitation_url, issue_staff_invitation


class Command(BaseCommand):
    help = "Print a single-use link with which a staff member sets up two-step sign-in."

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("--first-name", default="")
        parser.add_argument("--last-name", default="")
        parser.add_argument(
            "--base-url",
            default="http://127.0.0.1:8000",
            help="Where Remit is reached, e.g. https://portal.example.com",
        )
        parser.add_argument(
            "--reset",
            action="store_true",
            help="Remove the staff member's authenticator app first (a lost phone).",
        )

    def handle(self, *args, email, first_name, last_name, base_url, reset, **options):
        email = User.objects.normalize_email(email).strip().lower()
        with transaction.atomic():
            user = User.objects.filter(email__iexact=email).first()
            if user is None:
                user = User.objects.create_superuser(
                    email, None, first_name=first_name, last_name=last_name
                )
                record_event(
                    "staff.invited",
                    obj=user,
                    summary=f"Superuser {email} created by `remit invite-staff`",
                )
                self.stdout.write(
                    f"Created superuser {email} (they choose a password from the link)."
                )
            elif not user.is_staff:
                raise CommandError(f"{email} is a client user, not provider staff.")
            elif not user.is_active:
                raise CommandError(
                    f"{email} is deactivated; reactivate them in the back office first."
                )
            if reset:
                removed, _ = TOTPDevice.objects.filter(user=user).delete()
                end_user_sessions(user)
                record_event(
                    "auth.mfa_reset",
                    obj=user,
                    summary=f"Reset MFA of {email} with `remit invite-staff --reset`",
                    devices_removed=removed,
                )
            elif has_confirmed_device(user):
                raise CommandError(
                    f"{email} has set up two-step sign-in already. Use --reset if they lost "
                    "their authenticator app."
                )
            token = issue_staff_invitation(user)
        self.stdout.write(
            f"Set-up link for {email} (works once, for {settings.STAFF_INVITATION_HOURS} hours):"
        )
        self.stdout.write(invitation_url(token, base_url=base_url))
