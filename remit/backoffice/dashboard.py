"""What the back office's home page shows above the list of pages: the money figures and aging
(remit.backoffice.figures), and what needs a look today."""

from __future__ import annotations

import datetime

from django.utils import timezone

from remit.backoffice.figures import figures
from remit.backoffice.models import InvoiceImport
from remit.billing.models import Invoice
from remit.gateway import gateway_configured
from remit.payments.models import IN_FLIGHT_STATES, Payment, PaymentBlock, PaymentState, Refund


def dashboard(request) -> dict:
    now = timezone.now()
    today = datetime.datetime.combine(
        timezone.localdate(), datetime.time.min, tzinfo=timezone.get_current_timezone()
    )
    provider = request.provider
    return {
        "figures": figures(request),
        "dashboard": {
            "payments_today": Payment.objects.filter(created_at__gte=today).count(),
            "being_confirmed": Payment.objects.filter(state=PaymentState.UNKNOWN).count(),
            "in_flight": Payment.objects.filter(state__in=IN_FLIGHT_STATES).count(),
            "refunds_being_confirmed": Refund.objects.filter(state="unknown").count(),
            "active_blocks": PaymentBlock.objects.filter(
                lifted_at__isnull=True, expires_at__gt=now
            ).count(),
            "drafts": Invoice.objects.filter(state=Invoice.State.DRAFT).count(),
            "imports_running": InvoiceImport.objects.filter(
                state__in=InvoiceImport.RUNNING_STATES
            ).count(),
            "gateway_configured": gateway_configured(provider),
            "payments_offered": provider.get_payment_options_display(),
            "online_payments": provider.online_payments_available,
        },
    }
