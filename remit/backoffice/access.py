"""Who may use the back office: active provider staff (no organization), verified with their TOTP
device in this session. Every back-office page asks these two questions."""

from django_otp import user_has_device


def is_backoffice_staff(user) -> bool:
    return bool(
        user.is_authenticated and user.is_active and user.is_staff and user.organization_id is None
    )


def is_verified(user) -> bool:
    """Signed in with password *and* a TOTP code in this session (django-otp's middleware)."""
    verified = getattr(user, "is_verified", None)
    return bool(verified and verified())


def has_confirmed_device(user) -> bool:
    return user_has_device(user, confirmed=True)
