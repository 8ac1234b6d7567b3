"""Removing the saved method, or deactivating its owner, ends the enrolment that charges it (both
sides are emailed that it ended and why), however it happens: the portal, the back office, the API."""

from django.db.models.signals import post_save
from django.dispatch import receiver

from remit.autopay.events import EndReason
from remit.payments.models import PaymentMethod
from remit.payments.signals import payment_method_removed


@receiver(payment_method_removed, dispatch_uid="autopay_method_removed")
def method_removed(sender, method, **kwargs):
    _end(payment_method=method, reason=f"{method.label} was removed", code=EndReason.METHOD_REMOVED)


@receiver(post_save, sender=PaymentMethod, dispatch_uid="autopay_method_saved_removed")
def method_saved_removed(sender, instance, **kwargs):
    if instance.removed_at is not None:  # removed by a save (the back office, a script)
        _end(
            payment_method=instance,
            reason=f"{instance.label} was removed",
            code=EndReason.METHOD_REMOVED,
        )


@receiver(post_save, sender="accounts.User", dispatch_uid="autopay_user_deactivated")
def user_deactivated(sender, instance, **kwargs):
    if not instance.is_active:
        _end(
            user=instance,
            reason=f"{instance.email} was deactivated",
            code=EndReason.USER_DEACTIVATED,
        )


def _end(*, reason: str, code: str, **filters) -> None:
    from remit.autopay.models import Enrolment
    from remit.autopay.services import end_enrolments

    enrolments = Enrolment.objects.filter(ended_at__isnull=True, **filters)
    if enrolments.exists():
        end_enrolments(enrolments, reason=reason, code=code)
