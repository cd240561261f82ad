"""Activity through the API (verses/today, history, users/me, push opens) and the daily figures
the 00:00 job stores from it, read back through GET /api/v1/scheduler/stats."""

import datetime
import zoneinfo

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from scheduler.models import JobRun
from scheduler.tests.runs import daily_run, job_run_through_tasks
from users.models import DailyStats, UserActivity
from users.tests.factories import UserFactory, token_key_for
from verses.models import VerseOpen

pytestmark = pytest.mark.django_db

LOME = zoneinfo.ZoneInfo("Africa/Lome")
DAY = datetime.date(2026, 3, 10)
TODAY = "/api/v1/verses/today"
STATS = "/api/v1/scheduler/stats"


def at(day: datetime.date, hour: int = 8, minute: int = 0):
    """A travel to `day` at hour:minute in Lomé (the scheduler's time zone)."""
    return time_machine.travel(datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=LOME), tick=False)


def days_before(n: int) -> datetime.date:
    return DAY - datetime.timedelta(days=n)


def token_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_key_for(user)}")
    return client


def _savepoint(sql: str) -> bool:
    """The database cache's own atomic block (a savepoint inside the test's transaction)."""
    return sql.split()[0].upper() in ("SAVEPOINT", "RELEASE", "ROLLBACK") and "SAVEPOINT" in sql.upper()


def statements(call) -> list[str]:
    """The SQL statements `call()` runs, by kind (PostgreSQL's PREPARE, once per connection, left out;
    the throttle's, on the embedded default's database cache, too: on Redis they are no SQL)."""
    with CaptureQueriesContext(connection) as captured:
        call()
    words = [
        query["sql"].split()[0].upper()
        for query in captured.captured_queries
        if "soulverse_cache" not in query["sql"] and not _savepoint(query["sql"])
    ]
    return ["SELECT" if word == "EXECUTE" else word for word in words if word != "PREPARE"]


def user_stats_update() -> dict:
    """The 00:00 job, through the path production uses; its counts."""
    run = job_run_through_tasks("user_stats_update", trigger=JobRun.Trigger.SCHEDULE)
    assert run.status == JobRun.Status.SUCCEEDED, run.error
    return run.counts


def activity_inserts(call) -> int:
    """How many INSERTs into the activity table `call()` runs."""
    with CaptureQueriesContext(connection) as captured:
        call()
    return sum(
        query["sql"].startswith("INSERT") and "users_useractivity" in query["sql"]
        for query in captured.captured_queries
    )


def activity() -> list[tuple[str, datetime.date]]:
    return sorted(UserActivity.objects.values_list("user__email", "day"))


def stats_of(staff_client, day: datetime.date) -> dict:
    """GET stats for the one day `day`, the day after it (the series ends yesterday)."""
    with at(day + datetime.timedelta(days=1), 9):
        response = staff_client.get(STATS, {"days": 1})
    assert response.status_code == 200
    (point,) = response.json()["series"]
    assert point["day"] == day.isoformat()
    return point


def figures(point: dict) -> dict:
    return {name: value for name, value in point.items() if name != "computed_at"}


def test_reading_the_verse_twice_and_opening_the_push_counts_once(staff_client):
    with at(DAY):
        reader = UserFactory(email="reader@example.org")
        UserFactory(email="idle@example.org")
        client = token_client(reader)
        daily_run(day=DAY)
        responses = []
        # The one query, then the day's activity written; the next time the one query only.
        assert statements(lambda: responses.append(client.get(TODAY))) == ["SELECT", "INSERT"]
        assert statements(lambda: responses.append(client.get(TODAY))) == ["SELECT"]
        first, second = responses
        opened = client.post(f"/api/v1/verses/{DAY.isoformat()}/opened")
        assert client.post(f"/api/v1/verses/{DAY.isoformat()}/opened").json() == opened.json()
        assert client.get("/api/v1/verses/history").status_code == 200
        assert client.get("/api/v1/users/me").status_code == 200

    assert first.status_code == second.status_code == opened.status_code == 200
    assert second.content == first.content
    assert opened.json() == {"day": "2026-03-10", "opened_at": "2026-03-10T08:00:00Z"}
    assert activity() == [("reader@example.org", DAY)]
    assert list(VerseOpen.objects.values_list("user__email", "day")) == [("reader@example.org", DAY)]
    with at(DAY + datetime.timedelta(days=1), 0, 0):
        report = user_stats_update()  # the 00:00 job
    assert report["daily_active_users"] == 1
    assert figures(stats_of(staff_client, DAY)) == {
        "day": "2026-03-10",
        "active_users": 2,
        "daily_active_users": 1,
        "weekly_active_users": 1,
        "monthly_active_users": 1,
        "new_users": 2,
        "verses_generated": 2,
        "fallbacks_used": 2,
        "pushes_sent": 0,
        "pushes_opened": 1,
        "open_rate": None,  # opened without a recorded send
    }


def test_the_first_request_of_each_day_writes_once_the_others_only_read(settings):
    # Each request reads PostgreSQL here; on Redis, answers kept a second (verses/tests/test_today_cache.py).
    settings.VERSES_TODAY_CACHE_SECONDS = 0
    with at(DAY, 23, 59):
        user = UserFactory()
        client = token_client(user)
        for day in (DAY, DAY + datetime.timedelta(days=1)):
            daily_run(day=day)
        assert statements(lambda: client.get(TODAY)) == ["SELECT", "INSERT"]
        assert statements(lambda: client.get(TODAY)) == ["SELECT"]
    with at(DAY + datetime.timedelta(days=1), 0, 1):
        assert statements(lambda: client.get(TODAY)) == ["SELECT", "INSERT"]
        assert client.get(TODAY).json()["day"] == "2026-03-11"
        assert statements(lambda: client.get(TODAY)) == ["SELECT"]
        # Through DRF: the activity is known to this process, no write.
        assert activity_inserts(lambda: client.get(TODAY + "?via=drf")) == 0
    assert UserActivity.objects.filter(user=user).count() == 2


def test_the_drf_views_write_the_days_activity_once_per_process():
    with at(DAY):
        user = UserFactory(email="profile@example.org")
        client = token_client(user)
        assert activity_inserts(lambda: client.get("/api/v1/users/me")) == 1
        assert activity_inserts(lambda: client.get("/api/v1/users/me")) == 0
        assert client.get("/api/v1/verses/history").status_code == 200
        assert client.patch("/api/v1/users/me", {"mood": "nope"}, format="json").status_code == 400
    assert activity() == [("profile@example.org", DAY)]
    assert APIClient().get("/api/v1/users/me").status_code == 401
    assert activity() == [("profile@example.org", DAY)]  # anonymous calls record nothing


def test_a_user_inactive_for_8_days_leaves_wau_but_stays_in_mau(staff_client):
    seen = {}
    for name, days_ago in [("eight", 8), ("six", 6), ("today", 0), ("twenty-nine", 29), ("thirty", 30)]:
        with at(days_before(days_ago)):
            user = UserFactory(email=f"{name}@example.org")
            seen[name] = token_client(user).get("/api/v1/users/me").status_code
    assert set(seen.values()) == {200}
    with at(DAY + datetime.timedelta(days=1), 0, 0):
        user_stats_update()
    point = stats_of(staff_client, DAY)
    # WAU: the 7 days DAY-6..DAY; MAU: the 30 days DAY-29..DAY.
    assert (point["daily_active_users"], point["weekly_active_users"], point["monthly_active_users"]) == (1, 2, 4)
    with at(DAY + datetime.timedelta(days=1), 9):
        call_command("user_stats_update", "--day", days_before(2).isoformat(), stdout=open("/dev/null", "w"))
    earlier = stats_of(staff_client, days_before(2))  # "eight" was then 6 days away: in WAU
    assert (earlier["daily_active_users"], earlier["weekly_active_users"], earlier["monthly_active_users"]) == (0, 2, 4)


def test_recomputing_yesterday_gives_the_same_numbers(staff_client):
    users = []
    for days_ago in range(10, -1, -1):
        with at(days_before(days_ago)):
            users.append(UserFactory(email=f"joined-{days_ago}@example.org"))
            daily_run(day=days_before(days_ago))
            for index, user in enumerate(users):
                if (index + days_ago) % 3:
                    token_client(user).get(TODAY)
            if days_ago < 3:
                token_client(users[0]).post(f"/api/v1/verses/{days_before(days_ago).isoformat()}/opened")
    with at(DAY + datetime.timedelta(days=1), 0, 0):
        user_stats_update()
    before = stats_of(staff_client, DAY)

    with at(DAY + datetime.timedelta(days=1), 10):  # the next day goes on: new users, activity, opens
        UserFactory(email="late@example.org")
        type(users[1]).objects.filter(pk=users[1].pk).update(is_active=False)
        daily_run(day=DAY + datetime.timedelta(days=1))
        for user in users[2:]:
            token_client(user).get(TODAY)
        token_client(users[3]).post(f"/api/v1/verses/{(DAY + datetime.timedelta(days=1)).isoformat()}/opened")
        call_command("user_stats_update", stdout=open("/dev/null", "w"))  # yesterday, again
    after = stats_of(staff_client, DAY)

    assert figures(after) == figures(before)
    assert before["daily_active_users"] == 8 and before["pushes_opened"] == 1
    assert DailyStats.objects.count() == 1


@pytest.mark.parametrize(
    ("day", "status", "message"),
    [
        ("2026-02-30", 400, "day"),
        ("yesterday", 400, "day"),
        ("2026-03-11", 404, "day"),
        ("2026-03-01", 404, "day"),
    ],
)
def test_an_open_of_a_bad_day_is_refused_and_changes_nothing(day, status, message):
    with at(DAY):
        user = UserFactory()
        daily_run(day=DAY)
        response = token_client(user).post(f"/api/v1/verses/{day}/opened")
    assert response.status_code == status
    body = response.json()
    assert message in (body if status == 400 else body["detail"])
    assert not VerseOpen.objects.exists()


def test_an_open_is_the_users_own():
    with at(DAY):
        owner, other = UserFactory(), UserFactory()
        daily_run(day=DAY)
        assert token_client(other).post(f"/api/v1/verses/{DAY.isoformat()}/opened").status_code == 200
    assert list(VerseOpen.objects.values_list("user", flat=True)) == [other.pk]
    assert owner.pk not in set(UserActivity.objects.values_list("user", flat=True))


def test_stats_lists_each_day_of_the_window_oldest_first(staff_client):
    with at(days_before(1), 0, 0):
        user_stats_update()  # DAY-2, before anyone joined
    with at(days_before(1), 12):
        UserFactory()
    with at(DAY + datetime.timedelta(days=1), 0, 0):
        user_stats_update()
    with at(DAY + datetime.timedelta(days=1), 9):
        body = staff_client.get(STATS, {"days": 3}).json()
    assert (body["days"], body["start"], body["end"], body["timezone"]) == (
        3,
        "2026-03-08",
        "2026-03-10",
        "Africa/Lome",
    )
    assert [point["day"] for point in body["series"]] == ["2026-03-08", "2026-03-09", "2026-03-10"]
    assert [point["active_users"] for point in body["series"]] == [0, None, 1]
    assert body["series"][1] == {"day": "2026-03-09", **{name: None for name in body["series"][1] if name != "day"}}


@pytest.mark.parametrize("query", [{"days": "0"}, {"days": "401"}, {"days": "x"}, {"days": ""}])
def test_stats_refuses_a_bad_window_naming_days(staff_client, query):
    response = staff_client.get(STATS, query)
    assert response.status_code == 400
    assert list(response.json()) == ["days"]


def test_stats_needs_the_permission_to_view_the_scheduler(viewer_client, bare_staff_client, member_client):
    assert viewer_client.get(STATS).status_code == 200
    assert bare_staff_client.get(STATS).status_code == 403
    assert member_client.get(STATS).status_code == 403


def test_stats_defaults_to_the_last_30_days(staff_client):
    body = staff_client.get(STATS).json()
    assert body["days"] == 30 and len(body["series"]) == 30
    assert not DailyStats.objects.exists()  # a read: nothing computed on the way


def test_user_stats_update_command_refuses_bad_days():
    for args, error in [
        (["--day", "nope"], "--day: not a date"),
        (["--days", "0"], "--days must be"),
        (["--day", "2999-01-01"], "has not ended yet"),
    ]:
        with pytest.raises(Exception, match=error):
            call_command("user_stats_update", *args)
    assert not DailyStats.objects.exists()
