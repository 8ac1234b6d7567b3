"""`remit check-payment-page [--base-url URL] [--approve]`: compare the payment page's scripts and
security headers with the approved set; alert staff on a change (docs/pci.md)."""

from django.core.management.base import BaseCommand, CommandError

from remit.portal.page_check import approve_snapshot, check_payment_page


class Command(BaseCommand):
    help = "Check the payment page's scripts and security headers against the approved set."

    def add_arguments(self, parser):
        parser.add_argument(
            "--base-url",
            default=None,
            help="fetch the page over HTTP from this address (default: PAYMENT_PAGE_CHECK_URL, "
            "else in-process)",
        )
        parser.add_argument(
            "--approve",
            action="store_true",
            help="approve what the page loads now (after a deployment you made)",
        )

    def handle(self, *args, base_url=None, approve=False, **options):
        try:
            result = check_payment_page(base_url=base_url, alert=not approve)
        except Exception as error:  # an unreachable page is a finding, not a traceback
            raise CommandError(f"could not check the payment page: {error}") from None
        inventory = result.snapshot.inventory
        for script in inventory["scripts"]:
            self.stdout.write(f"script {script.get('src') or 'inline'} {script.get('sha384', '')}")
        for name, value in inventory["headers"].items():
            self.stdout.write(f"header {name}: {value}")
        if approve and result.snapshot.approved_at is None:
            approve_snapshot(result.snapshot, user=None)
            self.stdout.write(self.style.SUCCESS(f"approved set {result.snapshot.digest[:12]}"))
            return
        if result.status == "unchanged":
            self.stdout.write(self.style.SUCCESS("unchanged: the approved set"))
            return
        for line in result.differences:
            self.stdout.write(self.style.WARNING(line))
        raise CommandError(
            f"{result.status}: staff were alerted; approve set {result.snapshot.digest[:12]} in "
            "the back office if the change is yours"
        )
