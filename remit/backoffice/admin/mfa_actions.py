"""The Users page's two-step sign-in actions: send a staff member their set-up link, reset anyone's
MFA (a lost phone). Staff never set up MFA with the password alone (remit.backoffice.invitations)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Exists, OuterRef
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from remit.accounts.models import User
from remit.accounts.services import end_user_sessions
from remit.audit.services import record_event
from remit.outbox.models import EmailKind
from remit.outbox.services import email_queue


def has_confirmed_device_q():
    return Exists(TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True))


class MfaActions:
    def _queue_staff_invitation(self, request, user: User, summary: str) -> None:
        """The set-up link is made and emailed by the worker, through the outbox (retried while the
        mail server is down; each attempt issues a fresh link, as only its hash is ever stored)."""
        email_queue(
            EmailKind.STAFF_INVITATION,
            user=user,
            base_url=request.build_absolute_uri("/"),
            requested_by=request.user,
        )
        record_event("staff.invited", request=request, obj=user, summary=summary)

    @admin.action(description="Send a two-step sign-in set-up link (staff without MFA)")
    def invite_staff_mfa(self, request, queryset):
        if not self.has_change_permission(request):
            raise PermissionDenied
        sent = 0
        waiting = queryset.filter(~has_confirmed_device_q(), is_staff=True, is_active=True)
        for user in waiting:
            self._queue_staff_invitation(
                request, user, f"Two-step sign-in set-up link sent to {user.email}"
            )
            sent += 1
        self.message_user(
            request,
            f"Sent {sent} set-up link(s); each works once, for "
            f"{settings.STAFF_INVITATION_HOURS} hours."
            if sent
            else "Nobody selected is active staff without two-step sign-in. "
            "Reset their two-step sign-in first.",
            messages.SUCCESS if sent else messages.WARNING,
        )

    @admin.action(description="Reset two-step sign-in (MFA) of selected users")
    def reset_mfa(self, request, queryset):
        if not self.has_change_permission(request):
            raise PermissionDenied
        count = 0
        for user in queryset:
            if user.pk == request.user.pk:
                self.message_user(request, "You cannot reset your own MFA here.", messages.WARNING)
                continue
            with transaction.atomic():
                deleted, _ = TOTPDevice.objects.filter(user=user).delete()
                StaticDevice.objects.filter(user=user).delete()  # clients' recovery codes
                end_user_sessions(user)
                record_event(
                    "auth.mfa_reset",
                    request=request,
                    obj=user,
                    summary=f"Reset MFA of {user.email}"
                    + (": a new set-up link is emailed to them" if user.is_staff else ""),
                    devices_removed=deleted,
                )
                if user.is_staff and user.is_active:
                    # Not the password alone: they set up their new phone from this link.
                    self._queue_staff_invitation(
                        request, user, f"Two-step sign-in set-up link sent to {user.email}"
                    )
            count += 1
        self.message_user(request, f"Reset MFA of {count} user(s).")
