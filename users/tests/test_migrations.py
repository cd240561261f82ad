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


DEVICES_BEFORE = [("users", "0005_user_notify_at_notifications_enabled")]
DEVICES_AFTER = [("users", "0006_devices")]


@pytest.mark.django_db(transaction=True)
def test_every_fcm_token_becomes_a_token_device_and_back():
    executor = MigrationExecutor(connection)
    executor.migrate([("verses", "0007_delivery_claim"), *DEVICES_BEFORE])
    old_user = executor.loader.project_state(DEVICES_BEFORE).apps.get_model("users", "User")
    joined = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    old_user.objects.create(email="a@example.org", fcm_token="tok-a:APA91b", date_joined=joined)
    old_user.objects.create(email="none@example.org", fcm_token="", date_joined=joined)
    # One phone signed in to two accounts: the token goes to the one who joined last.
    old_user.objects.create(email="old@example.org", fcm_token="shared:APA91b", date_joined=joined)
    old_user.objects.create(
        email="new@example.org", fcm_token="shared:APA91b", date_joined=joined + datetime.timedelta(days=1)
    )

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(DEVICES_AFTER)
    device = executor.loader.project_state(DEVICES_AFTER).apps.get_model("users", "Device")
    assert sorted(device.objects.values_list("user__email", "kind", "identifier", "platform")) == [
        ("a@example.org", "token", "tok-a:APA91b", ""),
        ("new@example.org", "token", "shared:APA91b", ""),
    ]
    none = old_user.objects.values_list("pk", flat=True).get(email="none@example.org")
    device.objects.create(user_id=none, kind="fid", identifier="f" * 22)

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(DEVICES_BEFORE)  # reversed: the latest token device of each user, FIDs dropped
    old_user = executor.loader.project_state(DEVICES_BEFORE).apps.get_model("users", "User")
    assert sorted(old_user.objects.values_list("email", "fcm_token")) == [
        ("a@example.org", "tok-a:APA91b"),
        ("new@example.org", "shared:APA91b"),
        ("none@example.org", ""),
        ("old@example.org", ""),
    ]
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
