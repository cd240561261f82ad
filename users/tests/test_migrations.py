import datetime
import zoneinfo

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("users", "0003_api_tokens_hashed_import")]
AFTER = [("users", "0004_user_activity_per_day")]


@pytest.mark.django_db(transaction=True)
def test_the_migration_keeps_each_users_last_activity_as_an_activity_day():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old_user = executor.loader.project_state(BEFORE).apps.get_model("users", "User")
    lome = zoneinfo.ZoneInfo("Africa/Lome")
    old_user.objects.create(email="late@example.org", last_active_at=datetime.datetime(2026, 3, 9, 23, 30, tzinfo=lome))
    paris = zoneinfo.ZoneInfo("Europe/Paris")  # 00:30 in Paris on the 10th is still the 9th in Lomé
    old_user.objects.create(
        email="paris@example.org", last_active_at=datetime.datetime(2026, 3, 10, 0, 30, tzinfo=paris)
    )
    old_user.objects.create(email="never@example.org", last_active_at=None)

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(AFTER)

    activity = executor.loader.project_state(AFTER).apps.get_model("users", "UserActivity")
    assert sorted(activity.objects.values_list("user__email", "day")) == [
        ("late@example.org", datetime.date(2026, 3, 9)),
        ("paris@example.org", datetime.date(2026, 3, 9)),
    ]
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())  # back to the latest state for the other tests
