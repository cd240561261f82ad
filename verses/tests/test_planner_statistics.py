"""The daily run gives the planner statistics of the tables it scans when they have none."""

import pytest
from django.db import connection

from scheduler.tests.runs import daily_run
from soulverse.db import tables_analyze_if_stale
from users.tests.factories import UserFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("no_ai"),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="planner statistics are PostgreSQL's"),
]


def statistics_forget(table: str) -> None:
    """The table as a bulk load leaves it without autovacuum: never analyzed."""
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM pg_statistic WHERE starelid = %s::regclass", [table])
        cursor.execute("UPDATE pg_class SET reltuples = -1 WHERE oid = %s::regclass", [table])


def has_statistics(table: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM pg_statistic WHERE starelid = %s::regclass)", [table])
        return cursor.fetchone()[0]


def test_the_daily_run_analyzes_the_users_table_when_it_has_no_statistics():
    UserFactory.create_batch(5)
    statistics_forget("users_user")
    assert not has_statistics("users_user")

    counts = daily_run()

    assert counts["verses_created"] == 5
    assert has_statistics("users_user")


def test_tables_with_fresh_statistics_are_left_alone():
    UserFactory.create_batch(5)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE users_user")
    assert tables_analyze_if_stale("users_user") == []
    statistics_forget("users_user")
    assert tables_analyze_if_stale("users_user", "no_such_table") == ["users_user"]
    assert tables_analyze_if_stale("users_user") == []
