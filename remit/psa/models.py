"""A PSA connection (Autotask first), its sync runs, what each run could not sync, and the link
from each synced Autotask record to the Remit object it became (with a fingerprint, so an
unchanged record is not written again)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from remit.core.encryption import decrypt, encrypt

# Autotask's default companyType picklist (an instance may rename them; docs/autotask.md).
COMPANY_TYPES = [
    (1, "Customer"),
    (2, "Lead"),
    (3, "Prospect"),
    (4, "Dead"),
    (6, "Cancellation"),
    (7, "Vendor"),
    (8, "Partner"),
]


class InviteRule(models.TextChoices):
    NONE = "none", "None: staff choose whom to invite"
    PRIMARY = "primary", "Invite each company's primary contact"


class PsaConnection(models.Model):
    class Kind(models.TextChoices):
        AUTOTASK = "autotask", "Autotask"

    kind = models.CharField(max_length=20, choices=Kind, default=Kind.AUTOTASK, unique=True)
    username = models.CharField("API user", max_length=254, blank=True)
    # Fernet token (remit.core.encryption); the secret itself is never stored nor shown.
    secret_encrypted = models.TextField(blank=True, editable=False)
    integration_code = models.CharField("Integration code", max_length=100, blank=True)
    zone_lookup_url = models.URLField(
        "Zone lookup URL",
        default="https://webservices.autotask.net/atservicesrest",
        help_text="Where the API user's zone is asked (ZoneInformation). Leave as is for Autotask.",
    )
    zone_url = models.URLField(blank=True, editable=False)
    company_types = models.JSONField(default=list, blank=True)
    invite_rule = models.CharField(max_length=20, choices=InviteRule, default=InviteRule.NONE)
    sync_interval_minutes = models.PositiveIntegerField(
        "Sync every (minutes)", default=60, help_text="0 turns periodic syncs off."
    )
    # Where invitation links point (the portal's address when staff last saved the connection).
    portal_url = models.URLField(blank=True, editable=False)
    api_key = models.OneToOneField(
        "api.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, editable=False
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "Autotask connection"

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.username or 'not connected'})"

    @property
    def secret(self) -> str:
        return decrypt(self.secret_encrypted)

    @secret.setter
    def secret(self, value: str) -> None:
        self.secret_encrypted = encrypt(value)

    @property
    def has_secret(self) -> bool:
        return bool(self.secret_encrypted)

    @property
    def is_configured(self) -> bool:
        return bool(self.username and self.secret_encrypted and self.integration_code)


class SyncRun(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        PARTIAL = "partial", "Finished with failures"
        FAILED = "failed", "Failed"

    connection = models.ForeignKey(PsaConnection, on_delete=models.CASCADE, related_name="runs")
    status = models.CharField(max_length=12, choices=Status, default=Status.QUEUED)
    trigger = models.CharField(max_length=20, default="schedule")  # schedule, staff, api
    requested_by = models.CharField(max_length=200, blank=True)
    queued_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    phase = models.CharField(max_length=60, blank=True)
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    # {"companies": {"created": n, "updated": n, "skipped": n, "failed": n, "flagged": n}, ...}
    counts = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    requests = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-queued_at", "-id"]
        verbose_name = "sync run"

    def __str__(self) -> str:
        return f"Sync #{self.pk} ({self.get_status_display()})"

    @property
    def is_active(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)


class SyncFailure(models.Model):
    run = models.ForeignKey(SyncRun, on_delete=models.CASCADE, related_name="failures")
    entity = models.CharField(max_length=20)  # company, contact, invoice
    external_id = models.CharField("Autotask id", max_length=40)
    reason = models.TextField()
    flagged = models.BooleanField(
        default=False, help_text="Kept for staff to review, not an error."
    )

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.entity} {self.external_id}: {self.reason}"


class PsaLink(models.Model):
    connection = models.ForeignKey(PsaConnection, on_delete=models.CASCADE, related_name="links")
    entity = models.CharField(max_length=20)
    external_id = models.CharField(max_length=40)
    local_id = models.BigIntegerField()
    fingerprint = models.CharField(max_length=64)
    synced_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "entity", "external_id"], name="psa_link_unique"
            )
        ]
        indexes = [models.Index(fields=["connection", "entity", "local_id"], name="psa_link_local")]

    def __str__(self) -> str:
        return f"{self.entity} {self.external_id} → {self.local_id}"
