"""The one way views, API calls and jobs find payment methods on behalf of a client user: a
method belongs to the person who saved it; anyone else gets a 404."""

from django.db.models import QuerySet
from django.http import Http404

from remit.payments.models import PaymentMethod


def payment_methods_for(user) -> QuerySet[PaymentMethod]:
    if not (user.is_authenticated and user.is_active and user.can_view_financials):
        raise Http404("No payment methods here.")
    return PaymentMethod.objects.filter(owner=user).active().default_first()


def get_payment_method_for(user, pk: int | str) -> PaymentMethod:
    try:
        return payment_methods_for(user).get(pk=int(pk))
    except (PaymentMethod.DoesNotExist, ValueError, TypeError):
        raise Http404("No such payment method.") from None


def payments_for(user) -> QuerySet:
    """The organization's payments (anyone with "View invoices and financial data" sees them)."""
    from remit.payments.models import Payment

    if not (user.is_authenticated and user.is_active and user.can_view_financials):
        raise Http404("No payments here.")
    return Payment.objects.filter(organization_id=user.organization_id)


def get_payment_for(user, public_id) -> "Payment":  # noqa: F821
    from remit.payments.models import Payment

    try:
        return payments_for(user).select_related("payer", "organization").get(public_id=public_id)
    except (Payment.DoesNotExist, ValueError, TypeError):
        raise Http404("No such payment.") from None
