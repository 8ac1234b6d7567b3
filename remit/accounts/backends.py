from django.contrib.auth.backends import ModelBackend

from remit.accounts.models import User
from remit.core.prepared import Prepared, Slot, bigint_or_none

# Every signed-in request reads its user: the query is built once per process (core/prepared.py).
_user = Prepared(
    lambda pk: User.objects.select_related("organization", "security_level").filter(pk=pk),
    one=True,
    on_server=True,
    pk=Slot(User, "id"),
)


class RemitBackend(ModelBackend):
    """Email sign-in. A user of a deactivated organization cannot sign in, and a signed-in user
    who is deactivated (or whose organization is) loses their session on the next request."""

    def get_user(self, user_id):
        pk = bigint_or_none(user_id)
        user = _user.first(pk=pk) if pk is not None else None
        return user if user is not None and self.user_can_authenticate(user) else None

    def user_can_authenticate(self, user) -> bool:
        if not super().user_can_authenticate(user):
            return False
        return user.organization_id is None or user.organization.is_active
