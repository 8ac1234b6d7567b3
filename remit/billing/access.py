"""The one way any view, API call or job finds invoices on behalf of a client user.

An invoice the user may not see is simply not found (404): it belongs to another organization, it is
still a draft, or the user's security level lacks "View invoices and financial data"."""

from django.db.models import QuerySet
from django.http import Http404

from remit.billing.models import Invoice
from remit.billing.selectors import with_payment_pending


def check_can_view(user) -> None:
    """Http404 unless `user` may see invoices at all."""
    if not (user.is_authenticated and user.is_active and user.can_view_financials):
        raise Http404("No invoices here.")


def visible_invoices(organization_id) -> QuerySet[Invoice]:
    """The organization's invoices a client sees: all but drafts, with `payment_pending`.
    (remit/billing/page_queries.py prepares its queries from this too.)"""
    invoices = Invoice.objects.filter(organization_id=organization_id)
    return with_payment_pending(invoices.exclude(state=Invoice.State.DRAFT))


def invoices_for(user) -> QuerySet[Invoice]:
    check_can_view(user)
    return visible_invoices(user.organization_id)


def get_invoice_for(user, pk: int | str) -> Invoice:
    try:
        return invoices_for(user).get(pk=int(pk))
    except (Invoice.DoesNotExist, ValueError, TypeError):
        raise Http404("No such invoice.") from None
