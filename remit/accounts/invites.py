"""Invitations: staff invite a portal user by email; the user chooses a password from a link.

The link carries a token from Django's password-reset machinery under its own salt, valid for a
week (a reset link lasts hours). It stops working once a password is set, as a reset link does."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse, reverse_lazy
from django.utils.crypto import constant_time_compare
from django.utils.encoding import force_bytes
from django.utils.http import base36_to_int, urlsafe_base64_encode

from remit.audit.services import record_event

INVITE_VALID_SECONDS = 7 * 24 * 60 * 60


class InviteTokenGenerator(PasswordResetTokenGenerator):
    key_salt = "remit.accounts.invites.InviteTokenGenerator"

    def check_token(self, user, token) -> bool:
        """As PasswordResetTokenGenerator.check_token, with the invitation's own validity."""
        if not (user and token):
            return False
        try:
            ts_b36, _ = token.split("-")
            ts = base36_to_int(ts_b36)
        except ValueError:
            return False
        for secret in [self.secret, *self.secret_fallbacks]:
            if constant_time_compare(self._make_token_with_timestamp(user, ts, secret), token):
                break
        else:
            return False
        return (self._num_seconds(self._now()) - ts) <= INVITE_VALID_SECONDS


invite_token_generator = InviteTokenGenerator()


def invite_url(user, *, base_url: str) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = invite_token_generator.make_token(user)
    path = reverse("invite_accept", kwargs={"uidb64": uid, "token": token})
    return base_url.rstrip("/") + path


def send_invitation(user, *, provider_name: str, base_url: str) -> None:
    """Email the set-password link (from the background worker: remit.backoffice.tasks)."""
    context = {
        "user": user,
        "provider_name": provider_name,
        "url": invite_url(user, base_url=base_url),
    }
    subject = render_to_string("registration/invite_subject.txt", context).strip()
    body = render_to_string("registration/invite_email.txt", context)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email])


class InviteAcceptView(auth_views.PasswordResetConfirmView):
    """The invited user chooses a password (the password-reset page, with the invitation's token)."""

    token_generator = invite_token_generator
    template_name = "registration/invite_accept.html"
    success_url = reverse_lazy("password_reset_complete")

    def form_valid(self, form):
        response = super().form_valid(form)
        record_event(
            "user.invitation_accepted",
            actor=self.user,
            request=self.request,
            obj=self.user,
            summary=f"{self.user.email} accepted the invitation and chose a password",
        )
        return response
