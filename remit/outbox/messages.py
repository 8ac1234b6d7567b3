"""The message of each kind of outgoing email, rendered afresh at every attempt from the objects
it is about. A builder returns None when the email is no longer needed (nobody to send to, an
invitation accepted meanwhile)."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import timezone

from remit.core.models import Provider
from remit.outbox.models import EmailKind, OutgoingEmail


def build_message(email: OutgoingEmail) -> EmailMessage | None:
    return BUILDERS[email.kind](email)


def _payment(email: OutgoingEmail):
    from remit.payments.models import Payment

    return Payment.objects.select_related("invoice", "organization", "payer").get(
        pk=email.payment_id
    )


def _receipt(email: OutgoingEmail) -> EmailMessage | None:
    """The receipt, to the payer and the organization's billing contact."""
    payment = _payment(email)
    recipients = [payment.payer.email] if payment.payer else []
    if payment.organization.billing_email and payment.organization.billing_email not in recipients:
        recipients.append(payment.organization.billing_email)
    pending = payment.method_kind == "echeck"
    # Each invoice the payment paid, with what it received and what is left on it.
    allocations = list(payment.allocations.select_related("invoice").order_by("invoice__due_date"))
    numbers = ", ".join(a.invoice.number for a in allocations) or payment.invoice.number
    which = f"invoices {numbers}" if len(allocations) > 1 else f"invoice {numbers}"
    subject = (
        f"eCheck payment received, pending: {which}" if pending else f"Payment received: {which}"
    )[:200]
    context = {"payment": payment, "pending": pending, "allocations": allocations}
    return _templated(subject, "emails/payment_receipt", context, recipients)


def _returned_notice(email: OutgoingEmail) -> EmailMessage | None:
    """An eCheck came back: tell the payer and the provider."""
    payment = _payment(email)
    provider = Provider.load()
    recipients = [payment.payer.email] if payment.payer else []
    if provider.support_email:
        recipients.append(provider.support_email)
    if payment.organization.billing_email and payment.organization.billing_email not in recipients:
        recipients.append(payment.organization.billing_email)
    subject = f"eCheck payment returned: invoice {payment.invoice.number} is due again"
    return _templated(subject, "emails/payment_returned", {"payment": payment}, recipients)


def _invitation(email: OutgoingEmail) -> EmailMessage | None:
    """The set-password link: its token is made now, never stored or queued."""
    from remit.accounts.invites import invite_url

    user = email.user
    if user is None or not user.is_active or user.has_usable_password():
        return None  # accepted (or deactivated) meanwhile
    context = {
        "user": user,
        "provider_name": Provider.load().name,
        "url": invite_url(user, base_url=email.base_url or "/"),
    }
    subject = render_to_string("registration/invite_subject.txt", context).strip()
    body = render_to_string("registration/invite_email.txt", context)
    return EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email])


def _password_reset(email: OutgoingEmail) -> EmailMessage | None:
    """ "Forgot password": the link's token is made now (it is valid PASSWORD_RESET_TIMEOUT from
    this attempt), never stored or queued."""
    from urllib.parse import urlsplit

    from django.contrib.auth.tokens import default_token_generator
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    user = email.user
    if user is None or not user.is_active or not user.has_usable_password():
        return None  # deactivated meanwhile
    address = urlsplit(email.base_url or "http://localhost/")
    context = {
        "email": user.email,
        "user": user,
        "provider_name": Provider.load().name,
        "protocol": address.scheme or "https",
        "domain": address.netloc,
        "uid": urlsafe_base64_encode(force_bytes(user.pk)),
        "token": default_token_generator.make_token(user),
    }
    subject = render_to_string("registration/password_reset_subject.txt", context).strip()
    body = render_to_string("registration/password_reset_email.txt", context)
    return EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email])


def _staff_invitation(email: OutgoingEmail) -> EmailMessage | None:
    """A staff member's two-step sign-in set-up link, issued now (only its hash is stored)."""
    from remit.backoffice.access import has_confirmed_device
    from remit.backoffice.invitations import staff_invitation_message

    user = email.user
    if user is None or not (user.is_active and user.is_staff) or has_confirmed_device(user):
        return None  # deactivated, or set up meanwhile: nothing to send
    return staff_invitation_message(
        user,
        base_url=email.base_url or "/",
        provider_name=Provider.load().name,
        created_by=email.requested_by,
    )


def _stuck_payment(email: OutgoingEmail) -> EmailMessage | None:
    """To provider staff: a payment stayed processing or unknown past RECONCILE_ALERT_AFTER."""
    from remit.accounts.models import User

    payment = _payment(email)
    provider = Provider.load()
    recipients = list(
        User.objects.filter(is_active=True, is_staff=True, organization__isnull=True)
        .exclude(email="")
        .order_by("email")
        .values_list("email", flat=True)
    )
    if provider.support_email and provider.support_email not in recipients:
        recipients.append(provider.support_email)
    subject = f"Payment {payment.order_id} is still {payment.get_state_display().lower()}"
    context = {"payment": payment, "alert_after_minutes": settings.RECONCILE_ALERT_AFTER // 60}
    return _templated(subject, "emails/payment_stuck", context, recipients, html=False)


def _templated(
    subject: str, template: str, context: dict, recipients: list[str], *, html: bool = True
) -> EmailMessage | None:
    if not recipients:
        return None
    provider = Provider.load()
    timezone.activate(provider.zone)
    try:
        context = {**context, "provider": provider}
        text = render_to_string(f"{template}.txt", context)
        body_html = render_to_string(f"{template}.html", context) if html else None
    finally:
        timezone.deactivate()
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=recipients,
        reply_to=[provider.support_email] if provider.support_email else None,
    )
    if body_html is not None:
        message.attach_alternative(body_html, "text/html")
    return message


BUILDERS: dict[str, Callable[[OutgoingEmail], EmailMessage | None]] = {
    EmailKind.RECEIPT: _receipt,
    EmailKind.RETURNED_NOTICE: _returned_notice,
    EmailKind.INVITATION: _invitation,
    EmailKind.STAFF_INVITATION: _staff_invitation,
    EmailKind.PASSWORD_RESET: _password_reset,
    EmailKind.STUCK_PAYMENT: _stuck_payment,
}
