from django.conf import settings
from django.db import models
from django.utils import timezone


class InvoiceImport(models.Model):
    """One CSV file of invoices, imported all or nothing by a background task. The page that shows
    it polls `rows_done` / `rows_total` while the task runs."""

    class State(models.TextChoices):
        QUEUED = "queued", "Waiting to start"
        VALIDATING = "validating", "Checking rows"
        SAVING = "saving", "Saving invoices"
        SUCCEEDED = "succeeded", "Imported"
        FAILED = "failed", "Rejected: nothing was imported"

    RUNNING_STATES = (State.QUEUED, State.VALIDATING, State.SAVING)

    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    filename = models.CharField(max_length=255)
    content = models.TextField(help_text="The uploaded CSV, as text.")
    state = models.CharField(max_length=12, choices=State, default=State.QUEUED)
    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    invoices_created = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True, help_text="[{row, column, message}]")
    message = models.CharField(max_length=300, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Import {self.pk} ({self.filename})"

    @property
    def running(self) -> bool:
        return self.state in self.RUNNING_STATES

    @property
    def percent(self) -> int:
        if self.state == self.State.SUCCEEDED:
            return 100
        if not self.rows_total:
            return 0
        return min(100, int(100 * self.rows_done / self.rows_total))


class StaffInvitation(models.Model):
    """A link with which one staff member sets up their authenticator app (and, if they have none
    yet, their password). Only the token's SHA-256 is stored; the link works once, until it expires,
    and a newer invitation for the same person revokes the older ones."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_invitations"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Staff invitation {self.pk} ({self.user})"

    def problem(self, now=None) -> str | None:
        """Why the link no longer works, or None if it does."""
        now = now or timezone.now()
        if self.used_at is not None:
            return "used"
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at <= now:
            return "expired"
        if not (self.user.is_active and self.user.is_staff and self.user.organization_id is None):
            return "inactive"
        return None
