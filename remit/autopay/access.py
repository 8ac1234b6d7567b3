"""The one way views find autopay rows on behalf of a client user: their own organization's, and
only with "View invoices and financial data" (else a 404)."""

from django.http import Http404

from remit.autopay.models import Attempt, Enrolment


def enrolment_for(user) -> Enrolment | None:
    if not (user.is_authenticated and user.is_active and user.can_view_financials):
        raise Http404("No autopay here.")
    return (
        Enrolment.objects.active()
        .select_related("payment_method", "user")
        .filter(organization_id=user.organization_id)
        .first()
    )


def attempts_for(user):
    if not (user.is_authenticated and user.is_active and user.can_view_financials):
        raise Http404("No autopay here.")
    return Attempt.objects.filter(invoice__organization_id=user.organization_id).select_related(
        "invoice", "enrolment__payment_method"
    )
