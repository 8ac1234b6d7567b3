"""The back office's organization and security level lists count users in their own query, not one
query a row."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import OrganizationFactory, sign_in_staff, user_of


def queries(client, url):
    client.get(url)  # warm: the provider row is then cached (remit/core/provider_cache.py)
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured.captured_queries)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url", ["/backoffice/accounts/organization/", "/backoffice/accounts/securitylevel/"]
)
def test_lists_do_not_grow_with_rows(client, staff, url):
    sign_in_staff(client, staff)
    OrganizationFactory()
    few = queries(client, url)
    for _ in range(8):
        user_of(OrganizationFactory())
    assert queries(client, url) == few
