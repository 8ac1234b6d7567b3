"""The autopay and reminder emails, built by the outbox at each attempt from the row they are about
(`OutgoingEmail.about_id`): HTML with a plain-text part, in the provider's name and colour, with
its support contact. Never a card or account number: a method is its brand and last four."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse
from django.utils.formats import date_format

from remit.core.models import Provider
from remit.core.money import format_money

TEMPLATE = "emails/autopay/message"


def portal_link(path: str) -> str:
    return settings.PORTAL_URL.rstrip("/") + path


def client_recipients(organization, *, user=None, reminders: bool = False) -> list[str]:
    """The enrolment's user and the organization's billing contacts (active users who see
    invoices, its billing address). `reminders`: without the users who turned reminders off."""
    from remit.accounts.models import PortalPermission, User

    users = User.objects.filter(
        organization=organization,
        is_active=True,
        security_level__permissions__code=PortalPermission.VIEW_FINANCIALS,
    )
    if reminders:
        users = users.filter(reminder_opt_out__isnull=True)
    addresses = [] if user is None or not user.is_active else [user.email]
    opted_out = set()
    if reminders:
        opted_out = set(
            User.objects.filter(
                organization=organization, reminder_opt_out__isnull=False
            ).values_list("email", flat=True)
        )
    for email in users.order_by("email").values_list("email", flat=True).distinct():
        if email not in addresses:
            addresses.append(email)
    billing = organization.billing_email
    if billing and billing not in addresses and billing not in opted_out:
        addresses.append(billing)
    return [a for a in addresses if a]


def provider_recipients(provider: Provider) -> list[str]:
    return [provider.support_email] if provider.support_email else []


def _message(subject, recipients, *, title, lines, rows=(), link=None, consent="", unsubscribe=""):
    from remit.outbox.messages import _templated

    context = {
        "title": title,
        "lines": lines,
        "rows": rows,
        "link": link,
        "consent": consent,
        "unsubscribe": unsubscribe,
    }
    return _templated(subject, TEMPLATE, context, recipients)


def _enrolment(email):
    from remit.autopay.models import Enrolment

    return (
        Enrolment.objects.select_related("organization", "payment_method", "user")
        .filter(pk=email.about_id)
        .first()
    )


def _attempt(email):
    from remit.autopay.models import Attempt

    return (
        Attempt.objects.select_related(
            "invoice", "enrolment__organization", "enrolment__payment_method", "enrolment__user"
        )
        .filter(pk=email.about_id)
        .first()
    )


def _terms(enrolment) -> list[tuple[str, str]]:
    return [
        ("Organization", enrolment.organization.name),
        ("Charged to", enrolment.payment_method.label),
        ("When", enrolment.trigger_label.capitalize()),
        ("Cap per invoice", format_money(enrolment.cap) if enrolment.cap else "No cap"),
    ]


def _both_sides(organization, user, provider: Provider) -> list[str]:
    return client_recipients(organization, user=user) + provider_recipients(provider)


def _about_enrolment(build):
    """A builder from `build(enrolment, provider) -> (subject, message fields)`, to both sides."""

    def builder(email):
        enrolment = _enrolment(email)
        if enrolment is None:
            return None
        provider = Provider.load()
        subject, fields = build(enrolment, provider)
        recipients = _both_sides(enrolment.organization, enrolment.user, provider)
        return _message(subject, recipients, **fields)

    return builder


@_about_enrolment
def autopay_enrolled(enrolment, provider):
    return f"Autopay is on for {enrolment.organization.name}", {
        "title": "Autopay is on",
        "lines": [
            f"{provider.name} will charge each invoice automatically, as you agreed below. "
            "You can cancel at any time on the Payment methods page.",
        ],
        "rows": [
            *_terms(enrolment),
            ("Agreed", date_format(enrolment.consented_at, "M j, Y g:i A T")),
            ("Terms version", enrolment.consent_version),
        ],
        "link": (portal_link(reverse("autopay")), "See or cancel autopay"),
        "consent": enrolment.consent_text,
    }


@_about_enrolment
def autopay_ended(enrolment, provider):
    return f"Autopay has ended for {enrolment.organization.name}", {
        "title": "Autopay has ended",
        "lines": [
            f"Autopay with {enrolment.payment_method.label} has ended: {enrolment.end_reason}.",
            "No further invoices will be charged automatically. Invoices still due can be paid "
            "in the portal.",
        ],
        "rows": _terms(enrolment),
        "link": (portal_link(reverse("autopay")), "Set up autopay again"),
    }


@_about_enrolment
def autopay_paused(enrolment, provider):
    return f"Autopay is paused for {enrolment.organization.name}", {
        "title": "Autopay is paused",
        "lines": [
            f"Autopay is paused: {enrolment.pause_reason}.",
            f"No invoice will be charged until {provider.name} resumes it. Please pay the "
            "invoices due in the portal, or contact us to update your payment method.",
        ],
        "rows": _terms(enrolment),
        "link": (portal_link(reverse("invoice_list")), "See your invoices"),
    }


def _attempt_message(email, *, subject, title):
    attempt = _attempt(email)
    if attempt is None:
        return None
    provider = Provider.load()
    enrolment = attempt.enrolment
    invoice = attempt.invoice
    return _message(
        subject.format(number=invoice.number),
        _both_sides(enrolment.organization, enrolment.user, provider),
        title=title,
        lines=[attempt.reason],
        rows=[
            ("Invoice", invoice.number),
            ("Amount due", format_money(invoice.balance, invoice.currency)),
            ("Due date", date_format(invoice.due_date, "M j, Y")),
            ("Payment method", enrolment.payment_method.label),
        ],
        link=(portal_link(reverse("make_payment", args=[invoice.pk])), "Pay this invoice"),
    )


def autopay_skipped(email):
    return _attempt_message(
        email, subject="Autopay did not charge invoice {number}", title="Autopay skipped"
    )


def autopay_declined(email):
    return _attempt_message(
        email, subject="Autopay charge of invoice {number} was declined", title="Payment declined"
    )


def register_builders() -> None:
    from remit.autopay import reminders
    from remit.outbox.messages import BUILDERS
    from remit.outbox.models import EmailKind

    BUILDERS.update(
        {
            EmailKind.AUTOPAY_ENROLLED: autopay_enrolled,
            EmailKind.AUTOPAY_ENDED: autopay_ended,
            EmailKind.AUTOPAY_PAUSED: autopay_paused,
            EmailKind.AUTOPAY_SKIPPED: autopay_skipped,
            EmailKind.AUTOPAY_DECLINED: autopay_declined,
            EmailKind.AUTOPAY_NOTICE: reminders.notice_email,
            EmailKind.PAYMENT_REMINDER: reminders.reminder_email,
        }
    )
