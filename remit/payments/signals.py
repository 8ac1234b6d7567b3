"""`payment_changed` is sent inside the transaction that changed a payment (or one of its refunds),
so a listener that writes rows (webhook deliveries, say) commits or rolls back with it."""

from django.dispatch import Signal

# kwargs: payment, event ("payment.succeeded" | "payment.pending" | "payment.failed" |
#          "payment.returned" | "payment.refunded"), refund (the Refund row behind a refund or a
#          void made through Remit, else None). A void is "payment.refunded" with the payment voided.
payment_changed = Signal()

EVENT_FOR_STATE = {
    "approved": "payment.succeeded",
    "settled": "payment.succeeded",
    "pending": "payment.pending",
    "declined": "payment.failed",
    "failed": "payment.failed",
    "returned": "payment.returned",
    "voided": "payment.refunded",  # a void gives the money back before it settles
}

# kwargs: method. Sent inside the transaction that removed a saved method (autopay ends with it).
payment_method_removed = Signal()
