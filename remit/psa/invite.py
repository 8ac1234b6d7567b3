"""Staff choose which synced contacts to invite: each chosen one is activated at the chosen
security level and sent the usual invitation (queued through the outbox), in one transaction."""

from __future__ import annotations

from django import forms
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.db import transaction

from remit.accounts.models import SecurityLevel, User
from remit.audit.services import record_event
from remit.outbox.models import EmailKind
from remit.outbox.services import email_queue


def waiting_contacts():
    """Portal users synced from Autotask who were never invited (inactive, no password)."""
    return (
        User.objects.filter(
            external_id__startswith="autotask:contact:", is_active=False, is_staff=False
        )
        .filter(password__startswith=UNUSABLE_PASSWORD_PREFIX)  # never chose a password
        .select_related("organization")
        .order_by("organization__name", "last_name", "first_name", "pk")
    )


class ContactChoice(forms.ModelMultipleChoiceField):
    def label_from_instance(self, user: User) -> str:
        name = f"{user.first_name} {user.last_name}".strip() or user.email
        return f"{name} <{user.email}>, {user.organization}"


class InviteContactsForm(forms.Form):
    users = ContactChoice(
        queryset=waiting_contacts(),
        widget=forms.CheckboxSelectMultiple,
        label="Contacts to invite",
        error_messages={"required": "Choose at least one contact."},
    )
    security_level = forms.ModelChoiceField(
        queryset=SecurityLevel.objects.all(),
        label="Security level",
        help_text="What they may see and do; Manager sees and pays invoices by default.",
        empty_label=None,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["users"].queryset = waiting_contacts()
        manager = SecurityLevel.objects.filter(name=SecurityLevel.MANAGER).first()
        if manager is not None:
            self.fields["security_level"].initial = manager.pk


def invite_contacts(users, level: SecurityLevel, *, request) -> int:
    base_url = request.build_absolute_uri("/")
    invited = 0
    with transaction.atomic():
        for user in (
            waiting_contacts().select_for_update(of=("self",)).filter(pk__in=[u.pk for u in users])
        ):
            user.is_active, user.security_level = True, level
            user.save(update_fields=["is_active", "security_level"])
            email_queue(EmailKind.INVITATION, user=user, base_url=base_url)
            record_event(
                "user.invited",
                request=request,
                obj=user,
                organization=user.organization,
                summary=f"Invited {user.email} (synced from Autotask) as {level.name}",
            )
            invited += 1
    return invited
