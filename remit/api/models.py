"""API keys: one per integration (the PSA, the accounting system), scoped and revocable.

Only a SHA-256 hash of the secret is stored; the full key is shown once, when it is created."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Scope(models.TextChoices):
    ORGANIZATIONS_WRITE = "organizations:write", "Create and update organizations"
    USERS_WRITE = "users:write", "Create and update portal users"
    INVOICES_WRITE = "invoices:write", "Create and update invoices"
    PAYMENTS_READ = "payments:read", "Read payments and refunds"
    REFUNDS_WRITE = "refunds:write", "Request refunds"
    SYNCS_READ = "syncs:read", "Read the PSA sync history"


class ApiKey(models.Model):
    name = models.CharField(max_length=100, help_text="Names the integration in the audit log.")
    prefix = models.CharField(
        max_length=16, unique=True, editable=False, help_text="The key's visible start."
    )
    secret_hash = models.CharField(max_length=64, editable=False)  # sha256 hex of the whole key
    scopes = models.JSONField(default=list, blank=True)
    # The organizations this integration manages: those it created through the API, and those
    # provider staff granted it. Only their users (and the organizations themselves) can be written
    # with this key, so one integration cannot take over another's, or the back office's, accounts.
    organizations = models.ManyToManyField(
        "accounts.Organization",
        blank=True,
        related_name="api_keys",
        help_text="Organizations this key may update, and whose users it may create, link, "
        "update and move. An organization the key creates is added here.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = "API key"
        ordering = ["-created_at", "-id"]
        constraints = [
            # The name is what the audit log shows: two live keys must not share it.
            models.UniqueConstraint(
                fields=["name"], condition=Q(revoked_at__isnull=True), name="api_key_live_name"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes

    def manages(self, organization_id: int | None) -> bool:
        return (
            organization_id is not None and self.organizations.filter(pk=organization_id).exists()
        )
