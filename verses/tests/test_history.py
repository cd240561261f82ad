"""History retention of the per-user verses, and the monthly partitions on PostgreSQL."""

import datetime
import uuid

import pytest
from django.db import connection
from django.test import override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from console.jobs import cache_cleanup
from scheduler.tests.runs import daily_run, job_run_through_tasks
from users.models import User
from users.tests.factories import UserFactory, token_key_for
from verses import partitions
from verses.generation.on_demand import daily_verse_for_user
from verses.history import daily_verses_history_purge
from verses.models import DailyVerse, DailyVerseRecord

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_ai")]
TODAY = datetime.date(2026, 11, 28)
on_postgresql = pytest.mark.skipif(connection.vendor != "postgresql", reason="partitions are PostgreSQL's")


def partition_names() -> list[str]:
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        return [partitions.partition_name(month) for month in partitions.partition_months(cursor)]


def rows_by_day() -> dict[str, int]:
    days: dict[str, int] = {}
    for day in DailyVerse.objects.values_list("day", flat=True):
        days[day.isoformat()] = days.get(day.isoformat(), 0) + 1
    return dict(sorted(days.items()))


def test_history_start_is_the_month_holding_the_oldest_day_kept():
    assert partitions.history_start(today=TODAY, days=400) == datetime.date(2025, 10, 1)  # 2025-10-24 - 400 d
    assert partitions.history_start(today=datetime.date(2026, 3, 1), days=0) == datetime.date(2026, 3, 1)
    assert partitions.months_ahead_end(datetime.date(2026, 12, 31)) == datetime.date(2027, 2, 1)


@override_settings(VERSES_HISTORY_DAYS=60)
def test_days_older_than_the_retention_are_gone_after_the_cleanup_and_the_rest_untouched():
    UserFactory.create_batch(3, mood="hopeful")
    # 2026-11-28 - 60 days = 2026-09-29: September is the oldest month kept.
    days = [datetime.date(2026, 7, 31), datetime.date(2026, 8, 31), datetime.date(2026, 9, 1), TODAY]
    for day in days:
        daily_run(day)
    assert rows_by_day() == {"2026-07-31": 3, "2026-08-31": 3, "2026-09-01": 3, "2026-11-28": 3}
    kept = sorted(DailyVerse.objects.filter(day__gte="2026-09-01").values_list("user_id", "day", "verse_id"))
    expired = [name for name in partition_names() if name < "verses_dailyverse_p2026_09"]

    report = daily_verses_history_purge(today=TODAY)

    assert rows_by_day() == {"2026-09-01": 3, "2026-11-28": 3}
    assert sorted(DailyVerse.objects.values_list("user_id", "day", "verse_id")) == kept
    assert report["daily_verses_kept_from"] == "2026-09-01"
    if connection.vendor == "postgresql":
        assert {"verses_dailyverse_p2026_07", "verses_dailyverse_p2026_08"} <= set(expired)
        assert (report["daily_verse_partitions_dropped"], report["daily_verses_deleted"]) == (len(expired), 0)
        assert partition_names()[0] == "verses_dailyverse_p2026_09"
    else:
        assert (report["daily_verse_partitions_dropped"], report["daily_verses_deleted"]) == (0, 6)
    again = daily_verses_history_purge(today=TODAY)
    assert (again["daily_verse_partitions_dropped"], again["daily_verses_deleted"]) == (0, 0)
    assert rows_by_day() == {"2026-09-01": 3, "2026-11-28": 3}


def test_the_cleanup_job_purges_the_history_with_the_default_retention(settings):
    user = UserFactory()
    old = timezone.localdate() - datetime.timedelta(days=settings.VERSES_HISTORY_DAYS + 40)
    recent = timezone.localdate() - datetime.timedelta(days=settings.VERSES_HISTORY_DAYS - 40)
    daily_run(old)
    daily_run(recent)

    run = job_run_through_tasks("cache_cleanup")

    assert run.status == "succeeded"
    assert list(DailyVerse.objects.filter(user=user).values_list("day", flat=True)) == [recent]
    assert old.isoformat() < run.counts["daily_verses_kept_from"] <= recent.isoformat()


@on_postgresql
def test_partitions_exist_for_the_coming_months_before_they_start():
    today = timezone.localdate()
    current = partitions.month_start(today)
    coming = [partitions.month_next(current), partitions.month_next(partitions.month_next(current))]
    with connection.cursor() as cursor:  # as if the months had not been made at migrate time
        for month in coming:
            cursor.execute(f"DROP TABLE IF EXISTS {partitions.partition_name(month)}")
    assert partitions.partition_name(coming[0]) not in partition_names()

    report = cache_cleanup()

    names = partition_names()
    assert report["daily_verse_partitions_created"] == 2
    assert [partitions.partition_name(m) for m in [current, *coming]] == names[-3:]
    with connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE relname = %s", [partitions.DEFAULT_PARTITION])
        assert cursor.fetchone() == ("r",)


@on_postgresql
def test_a_row_caught_by_the_default_partition_moves_into_its_month_when_it_is_made():
    user = UserFactory()
    far = datetime.date(2031, 5, 17)  # no partition this far ahead
    daily_verse_for_user(user=user, day=far)  # a user's own request makes no partition
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {partitions.DEFAULT_PARTITION}")
        assert cursor.fetchone() == (1,)
        partitions.partitions_ensure(cursor, first=far, last=far)
        cursor.execute(f"SELECT count(*) FROM {partitions.DEFAULT_PARTITION}")
        assert cursor.fetchone() == (0,)
        cursor.execute("SELECT user_id FROM verses_dailyverse_p2031_05")
        assert cursor.fetchall() == [(user.pk,)]


@on_postgresql
def test_the_day_of_a_run_lands_in_its_month_partition():
    user = UserFactory()
    daily_run(TODAY)
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text, user_id FROM verses_dailyverse")
        assert cursor.fetchall() == [("verses_dailyverse_p2026_11", user.pk)]


def test_history_api_reads_across_months_newest_first():
    user = UserFactory(mood="hopeful")
    days = [datetime.date(2026, 9, 30), datetime.date(2026, 10, 1), datetime.date(2026, 11, 28)]
    for day in days:
        daily_run(day)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_key_for(user)}")

    body = client.get("/api/v1/verses/history").json()

    assert body["count"] == 3
    assert [item["day"] for item in body["results"]] == ["2026-11-28", "2026-10-01", "2026-09-30"]


def test_admin_lists_and_shows_daily_verses_read_only(client):
    admin = User.objects.create_superuser("root@example.org", "pw")
    member = UserFactory(email="member@example.org", mood="hopeful")
    daily_run(datetime.date(2026, 10, 31))
    daily_run(TODAY)
    client.force_login(admin)

    listing = client.get("/admin/verses/dailyverserecord/")
    record = DailyVerseRecord.objects.get(user=member, day=TODAY)
    detail = client.get(f"/admin/verses/dailyverserecord/{record.pk.replace('/', '_2F')}/change/")
    missing = client.get("/admin/verses/dailyverserecord/not-a-key/change/")

    assert listing.status_code == 200
    assert [(r.user_id, r.day) for r in listing.context["cl"].result_list] == [
        (member.pk, TODAY),
        (member.pk, datetime.date(2026, 10, 31)),
    ]
    user_part, _, day_part = record.pk.rpartition("/")
    assert (uuid.UUID(user_part), day_part) == (member.pk, "2026-11-28")
    assert detail.status_code == 200
    assert detail.context["original"].verse_id == DailyVerse.objects.get(user=member, day=TODAY).verse_id
    assert "Enregistrer" not in detail.content.decode()  # view only
    assert missing.status_code == 302  # the admin's "does not exist" redirect
    assert client.post(f"/admin/verses/dailyverserecord/{record.pk.replace('/', '_2F')}/delete/").status_code == 403
    assert DailyVerse.objects.count() == 2
