"""The one way views, API calls and jobs find payment methods on behalf of a client user: a
method belongs to the person who saved it; anyone else gets a 404."""

from django.db.models import QuerySet
from django.http import Http404

from remit.core.prepared import Prepared, Slot
from remit.payments.models import PaymentMethod


def _check_can_pay(user) -> None:
    if not (user.is_authenticated and user.is_active and user.can_view_financials):
        raise Http404("No payment methods here.")


def _methods_of(owner) -> QuerySet[PaymentMethod]:
    return PaymentMethod.objects.filter(owner=owner).active().default_first()


_methods = Prepared(_methods_of, on_server=True, owner=Slot(PaymentMethod, "owner"))


def payment_methods_for(user) -> QuerySet[PaymentMethod]:
    _check_can_pay(user)
    return _methods_of(user)


def saved_methods_of(user) -> list[PaymentMethod]:
    """list(payment_methods_for(user)), its query built once per process (the Make a Payment
    window reads it on every open and post)."""
    _check_can_pay(user)
    methods = _methods.instances(owner=user.pk)
    for method in methods:
        method.owner = user
    return methods


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
