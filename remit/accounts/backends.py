from django.contrib.auth.backends import ModelBackend

from remit.accounts.models import User
from remit.core.prepared import Prepared, Slot

# Every signed-in request reads its user: the query is built once per process (core/prepared.py).
_user = Prepared(
    lambda pk: User.objects.select_related("organization", "security_level").filter(pk=pk)[:1],
    pk=Slot(User, "id"),
)


class RemitBackend(ModelBackend):
    """Email sign-in. A user of a deactivated organization cannot sign in, and a signed-in user
    who is deactivated (or whose organization is) loses their session on the next request."""

    def get_user(self, user_id):
        try:
            pk = int(user_id)
        except (TypeError, ValueError):
            return None
        if not -(2**63) <= pk < 2**63:
            return None
        found = _user.instances(pk=pk)
        user = found[0] if found else None
        return user if user is not None and self.user_can_authenticate(user) else None

    def user_can_authenticate(self, user) -> bool:
        if not super().user_can_authenticate(user):
            return False
        return user.organization_id is None or user.organization.is_active
