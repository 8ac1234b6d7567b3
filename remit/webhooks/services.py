"""Webhook deliveries: written in the transaction that changed the payment (so one exists exactly
when the change does), sent by the background worker, retried with exponential backoff.

    deliveries_for_payment_change  the payment_changed listener: one delivery per endpoint
    delivery_attempt               one HTTP POST; 2xx is delivered, anything else is retried
    delivery_resend                staff ask again: a new delivery of the same event and body

Settings (optional): WEBHOOK_MAX_ATTEMPTS (12), WEBHOOK_RETRY_BASE_SECONDS (30, doubled after each
failure), WEBHOOK_RETRY_MAX_SECONDS (6 hours), WEBHOOK_TIMEOUT_SECONDS (10)."""

from __future__ import annotations

import datetime
import json
import logging
import uuid
from collections.abc import Callable

import httpx
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from remit.audit.services import record_event
from remit.core import flag_cache
from remit.payments.models import Payment, Refund
from remit.webhooks import signing
from remit.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint

logger = logging.getLogger(__name__)

USER_AGENT = "Remit-Webhooks/1"
ANY_ACTIVE = "webhooks.any_active"  # flag_cache name
RESPONSE_KEPT = 2000  # characters of the receiver's answer kept for staff to read


def _setting(name: str, default: float) -> float:
    return getattr(settings, name, default)


def retry_delay(attempts: int) -> datetime.timedelta:
    """30 s, 1 min, 2 min, 4 min … up to 6 hours: twelve attempts span about 15 hours."""
    base = _setting("WEBHOOK_RETRY_BASE_SECONDS", 30)
    ceiling = _setting("WEBHOOK_RETRY_MAX_SECONDS", 6 * 3600)
    return datetime.timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), ceiling))


def event_body(event_id: uuid.UUID, event_type: str, payment: Payment, refund: Refund | None):
    """The JSON sent: {id, type, created, data: {<the payment exactly as the API shows it, with
    its allocations>, refund}}. Masked like the API: the method is its label, never a card or
    account number."""
    from ninja.responses import NinjaJSONEncoder

    from remit.api.schemas import PaymentOut, RefundOut
    from remit.api.selectors import payment_data, payments_represented, refund_data

    # Read again inside the change's transaction: the payment as it is now stored, with its
    # allocations and refunds (the object the services hold may carry older, prefetched ones).
    payment = payments_represented().get(pk=payment.pk)
    data = PaymentOut.model_validate(payment_data(payment)).model_dump()
    data["refund"] = (
        RefundOut.model_validate(refund_data(refund, payment)).model_dump()
        if refund is not None
        else None
    )
    body = {"id": str(event_id), "type": event_type, "created": timezone.now(), "data": data}
    # The API's own encoder, so timestamps and amounts read the same in both.
    return json.dumps(body, cls=NinjaJSONEncoder, separators=(",", ":"))


def _any_active() -> bool:
    return WebhookEndpoint.objects.filter(is_active=True).exists()


def active_endpoints(event: str) -> list[WebhookEndpoint]:
    """The active endpoints that want `event`; no query when the shared cache knows there is no
    active endpoint at all (remit/core/flag_cache.py, renewed when an endpoint is saved)."""
    if not flag_cache.cached(ANY_ACTIVE, _any_active):
        return []
    return [e for e in WebhookEndpoint.objects.filter(is_active=True) if e.wants(event)]


def deliveries_for_payment_change(
    sender, *, payment: Payment, event: str, refund: Refund | None = None, **kwargs
) -> list[WebhookDelivery]:
    """The payment_changed listener (runs inside the payment's transaction). One read of the
    active endpoints, none when the cache knows there is none (the usual case); with none that
    want the event, nothing more. `batch`: the change's writes not sent yet, sent before the
    payment is read for the body."""
    endpoints = active_endpoints(event)
    if not endpoints:
        return []
    if batch := kwargs.get("batch"):
        batch.flush()
    try:
        # A savepoint: should building the deliveries ever fail, the payment's own change still
        # commits. Money recorded matters more than a notification; the error is logged loudly.
        with transaction.atomic():
            return _deliveries_create(payment, event, refund, endpoints)
    except Exception:
        logger.exception("webhook deliveries for payment %s (%s) failed", payment.pk, event)
        return []


def _deliveries_create(payment: Payment, event: str, refund: Refund | None, endpoints):
    from remit.webhooks.tasks import deliver_webhook

    event_id = uuid.uuid4()
    body = event_body(event_id, event, payment, refund)
    deliveries = []
    for endpoint in endpoints:
        delivery = WebhookDelivery.objects.create(
            endpoint=endpoint, event_id=event_id, event_type=event, payment=payment, body=body
        )
        deliver_webhook.enqueue(delivery.pk)  # the job row commits with the payment's change
        deliveries.append(delivery)
    return deliveries


def deliveries_for_event(event: str, data: Callable[[], dict]) -> list[WebhookDelivery]:
    """An event not about a payment (`sync.finished`, `autopay.*`): {id, type, created, data},
    one delivery per endpoint that wants it, written in the caller's transaction. `data` is
    called only when an endpoint wants the event."""
    from ninja.responses import NinjaJSONEncoder

    from remit.webhooks.tasks import deliver_webhook

    endpoints = active_endpoints(event)
    if not endpoints:
        return []
    event_id = uuid.uuid4()
    body = json.dumps(
        {"id": str(event_id), "type": event, "created": timezone.now(), "data": data()},
        cls=NinjaJSONEncoder,
        separators=(",", ":"),
    )
    deliveries = []
    for endpoint in endpoints:
        delivery = WebhookDelivery.objects.create(
            endpoint=endpoint, event_id=event_id, event_type=event, body=body
        )
        deliver_webhook.enqueue(delivery.pk)
        deliveries.append(delivery)
    return deliveries


def delivery_resend(delivery: WebhookDelivery, *, acting_user, ip_address=None) -> WebhookDelivery:
    """Send the same event again (same id and body, a fresh signature) as a new delivery."""
    from remit.webhooks.tasks import deliver_webhook

    with transaction.atomic():
        again = WebhookDelivery.objects.create(
            endpoint=delivery.endpoint,
            event_id=delivery.event_id,
            event_type=delivery.event_type,
            payment_id=delivery.payment_id,
            body=delivery.body,
            resent_from=delivery,
        )
        deliver_webhook.enqueue(again.pk)
        record_event(
            "webhook.resent",
            actor=acting_user,
            obj=again,
            ip_address=ip_address,
            summary=f"Webhook {delivery.event_type} {delivery.event_id} resent to "
            f"{delivery.endpoint.url}",
            original_delivery=delivery.pk,
        )
    return again


def failed_not_resent():
    """Deliveries that gave up and were not sent again since: what the back office's badge counts."""
    from django.db.models import Exists, OuterRef

    resent = WebhookDelivery.objects.filter(resent_from=OuterRef("pk"))
    return WebhookDelivery.objects.filter(status=DeliveryStatus.FAILED).filter(~Exists(resent))


def delivery_attempt(delivery_id: int) -> str:
    """One attempt. Returns the delivery's status afterwards."""
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(of=("self",))
            .select_related("endpoint")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None or delivery.status != DeliveryStatus.PENDING:
            return delivery.status if delivery else "gone"
        endpoint = delivery.endpoint
        if not endpoint.is_active:
            delivery.status = DeliveryStatus.FAILED
            delivery.next_attempt_at = None
            delivery.last_error = "The endpoint was deactivated."
            delivery.save()
            return delivery.status

    status_code, text, error = _post(endpoint, delivery)  # no transaction open meanwhile

    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery_id)
        now = timezone.now()
        delivery.attempts += 1
        delivery.last_attempt_at = now
        delivery.last_status_code = status_code
        delivery.last_response = text
        delivery.last_error = error[:300]
        if status_code is not None and 200 <= status_code < 300:
            delivery.status = DeliveryStatus.DELIVERED
            delivery.delivered_at = now
            delivery.next_attempt_at = None
        elif delivery.attempts >= _setting("WEBHOOK_MAX_ATTEMPTS", 12):
            delivery.status = DeliveryStatus.FAILED
            delivery.next_attempt_at = None
            logger.warning("webhook delivery %s failed for good: %s", delivery.pk, error or text)
            record_event(
                "webhook.failed",
                actor_label="webhooks",
                outcome="failure",
                obj=delivery,
                summary=f"Webhook {delivery.event_type} to {endpoint.url} failed after "
                f"{delivery.attempts} attempts: {(error or text)[:120]}",
            )
        else:
            from remit.webhooks.tasks import deliver_webhook

            delivery.next_attempt_at = now + retry_delay(delivery.attempts)
            deliver_webhook.using(run_after=delivery.next_attempt_at).enqueue(delivery.pk)
        delivery.save()
    return delivery.status


def _post(endpoint: WebhookEndpoint, delivery: WebhookDelivery) -> tuple[int | None, str, str]:
    """(status code or None, the start of the answer, what went wrong)."""
    body = delivery.body.encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        signing.ID_HEADER: str(delivery.event_id),
        signing.SIGNATURE_HEADER: signing.sign(endpoint.secret, body),
    }
    timeout = _setting("WEBHOOK_TIMEOUT_SECONDS", 10)
    try:
        with (
            httpx.Client(timeout=timeout, follow_redirects=False) as client,
            client.stream("POST", endpoint.url, content=body, headers=headers) as response,
        ):
            received = b""
            for chunk in response.iter_bytes():
                received += chunk
                if len(received) >= RESPONSE_KEPT:
                    break
            text = received[:RESPONSE_KEPT].decode("utf-8", "replace")
            error = "" if response.is_success else f"HTTP {response.status_code}"
            return response.status_code, _printable(text), error
    except httpx.TimeoutException:
        return None, "", f"No answer within {timeout:g} seconds."
    except Exception as exc:  # a refused connection, a bad address, TLS: all retried
        return None, "", f"{type(exc).__name__}: {exc}"


def _printable(text: str) -> str:
    return "".join(ch if ch.isprintable() or ch in "\n\t" else "?" for ch in text)
