"""Endpoints the provider registers, and one delivery row per event per endpoint."""

from __future__ import annotations

import secrets
import uuid

from django.db import models
from django.utils import timezone


class EventType(models.TextChoices):
    PAYMENT_SUCCEEDED = "payment.succeeded", "payment.succeeded — approved card, settled eCheck"
    PAYMENT_PENDING = "payment.pending", "payment.pending — eCheck approved, not settled yet"
    PAYMENT_FAILED = "payment.failed", "payment.failed — declined or refused"
    PAYMENT_RETURNED = "payment.returned", "payment.returned — eCheck returned by the bank"
    PAYMENT_REFUNDED = "payment.refunded", "payment.refunded — refunded or voided"
    AUTOPAY_ENROLLED = "autopay.enrolled", "autopay.enrolled — an organization enrolled in autopay"
    AUTOPAY_CANCELLED = (
        "autopay.cancelled",
        "autopay.cancelled — an autopay enrolment ended (cancelled, replaced, method removed, "
        "user deactivated)",
    )
    SYNC_FINISHED = "sync.finished", "sync.finished — a PSA (Autotask) sync run ended"


def new_secret() -> str:
    return f"whsec_{secrets.token_urlsafe(32)}"


class WebhookEndpoint(models.Model):
    url = models.URLField("URL", max_length=500)
    description = models.CharField(max_length=200, blank=True)
    # Kept as is (not hashed): Remit signs with it. Shown to staff to set up the receiver.
    secret = models.CharField(max_length=100, default=new_secret)
    events = models.JSONField(default=list, blank=True, help_text="Empty: every event.")
    is_active = models.BooleanField("active", default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "webhook endpoint"
        ordering = ["url", "id"]

    def __str__(self) -> str:
        return self.description or self.url

    def wants(self, event_type: str) -> bool:
        return not self.events or event_type in self.events


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"  # waiting for its first attempt or a retry
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"  # gave up after the last attempt


class WebhookDelivery(models.Model):
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event_id = models.UUIDField(default=uuid.uuid4, db_index=True)  # the body's id, Webhook-Id
    event_type = models.CharField(max_length=40, choices=EventType)
    payment = models.ForeignKey(
        "payments.Payment", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    body = models.TextField(help_text="Exactly the bytes sent (UTF-8), the same on every attempt.")
    status = models.CharField(max_length=10, choices=DeliveryStatus, default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_response = models.TextField(blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    resent_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "webhook delivery"
        verbose_name_plural = "webhook deliveries"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="webhook_delivery_due")]

    def __str__(self) -> str:
        return f"{self.event_type} to {self.endpoint} ({self.status})"
