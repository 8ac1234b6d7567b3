"""The app's PostgreSQL connections run without JIT (remit/settings.py says why)."""

import pytest
from django.db import connection


@pytest.mark.django_db
def test_jit_is_off_for_the_apps_connections():
    if connection.vendor != "postgresql":
        pytest.skip("JIT is PostgreSQL's")
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"
