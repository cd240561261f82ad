"""Database settings as PostgreSQL applies them."""

import pytest
from django.db import connection
from django.db.backends.signals import connection_created

from soulverse.db import statement_timeout_apply


def _statement_timeout() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_the_workers_statements_end_with_their_tasks_timeout():
    if connection.vendor != "postgresql":
        pytest.skip("a PostgreSQL setting")
    assert _statement_timeout() == "0"  # the web, migrations, seeding: none
    try:
        statement_timeout_apply(seconds=300)  # as `manage.py qcluster` does before its workers start

        assert _statement_timeout() == "5min"
    finally:
        connection_created.disconnect(dispatch_uid="soulverse-statement-timeout")
        connection.close()
    assert _statement_timeout() == "0"
