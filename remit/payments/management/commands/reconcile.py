"""`remit reconcile`: ask the gateway about every payment whose outcome is unknown, every eCheck
waiting to settle and every settled eCheck still within its return window, and finish the records.
The worker runs the same job periodically."""

from django.core.management.base import BaseCommand

from remit.payments.models import Refund, RefundState
from remit.payments.services import payments_to_reconcile, reconcile_payment, reconcile_refund


class Command(BaseCommand):
    help = "Complete payments whose outcome the gateway knows better than we do."

    def handle(self, *args, **options):
        before_after: dict[tuple[str, str], int] = {}
        for payment in payments_to_reconcile().only("pk", "state", "order_id"):
            after = reconcile_payment(payment.pk)
            before_after[(payment.state, after)] = before_after.get((payment.state, after), 0) + 1
        for refund_id in Refund.objects.filter(state=RefundState.UNKNOWN).values_list(
            "pk", flat=True
        ):
            reconcile_refund(refund_id)
        if not before_after:
            self.stdout.write("Nothing to reconcile.")
        for (before, after), count in sorted(before_after.items()):
            change = f"{before} -> {after}" if before != after else f"{before} (unchanged)"
            self.stdout.write(f"{count:>5}  {change}")
