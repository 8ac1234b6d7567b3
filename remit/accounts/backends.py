from django.contrib.auth.backends import ModelBackend

from remit.accounts.models import User


class RemitBackend(ModelBackend):
    """Email sign-in. A user of a deactivated organization cannot sign in, and a signed-in user
    who is deactivated (or whose organization is) loses their session on the next request."""

    def get_user(self, user_id):
        user = (
            User.objects.select_related("organization", "security_level").filter(pk=user_id).first()
        )
        return user if user is not None and self.user_can_authenticate(user) else None

    def user_can_authenticate(self, user) -> bool:
        if not super().user_can_authenticate(user):
            return False
        return user.organization_id is None or user.organization.is_active
