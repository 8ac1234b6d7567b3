"""The email of a user's page in the back office: stored in its normal form, unique in it."""

from __future__ import annotations

from django import forms
from django.contrib.auth.forms import UserChangeForm

from remit.accounts.emails import normalise_email
from remit.accounts.models import User

DUPLICATE_EMAIL = "A user with this email already exists."


def clean_identity_email(value: str, *, instance: User | None = None) -> str:
    """The address as sign-in will match it; refused when another user has it in any casing."""
    email = normalise_email(value)
    others = User.objects.filter(email=email)
    if instance is not None and instance.pk is not None:
        others = others.exclude(pk=instance.pk)
    if others.exists():
        raise forms.ValidationError(DUPLICATE_EMAIL)
    return email


class UserPageForm(UserChangeForm):
    """Django's user change form, whose email check would otherwise compare the address as typed
    (and so let "Dana@X" past the case-insensitive index, as a database error)."""

    class Meta(UserChangeForm.Meta):
        model = User

    def clean_email(self) -> str:
        return clean_identity_email(self.cleaned_data["email"], instance=self.instance)
