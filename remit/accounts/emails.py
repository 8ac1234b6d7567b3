"""The one normal form of an email address as an identity: how users are stored, found, counted.

Sign-in, the lockout (django-axes), invitations, password reset, the API and the back office all
compare addresses through `normalise_email`, so "Dana@Example.com " and "dana@example.com" are one
person everywhere, and one lockout counter. Every stored `User.email` is in this form (`User.save`,
the manager, migration accounts.0003)."""

from __future__ import annotations

import unicodedata

from django.http import HttpRequest


def normalise_email(value: str) -> str:
    """NFKC (as Django normalises usernames), surrounding spaces dropped, lower case. Lower-casing
    the local part is a liberty RFC 5321 allows providers to refuse; no mailbox we serve depends
    on case, and treating case variants as one identity is what stops them from being several."""
    return unicodedata.normalize("NFKC", value).strip().lower()


def axes_username(request: HttpRequest, credentials: dict | None = None) -> str | None:
    """AXES_USERNAME_CALLABLE: the lockout counts, checks and resets attempts per normalised
    email, whichever casing or spaces were typed (or whichever the successful sign-in used)."""
    if credentials:
        value = credentials.get("username")
    else:
        value = getattr(request, "data", request.POST).get("username")
    if not isinstance(value, str):
        return value
    return normalise_email(value)
