"""Database settings as PostgreSQL applies them."""

import pytest
from django.conf import settings
from django.db import connection


@pytest.mark.django_db
def test_no_statement_outlives_a_tasks_timeout():
    if connection.vendor != "postgresql":
        pytest.skip("a PostgreSQL setting")
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        shown = cursor.fetchone()[0]

    assert settings.DATABASE_STATEMENT_TIMEOUT_SECONDS == settings.Q_CLUSTER["timeout"] == 300
    assert shown == "5min"
