"""Constant database queries per request, whatever the size of the user table and of the history.

Each case counts the queries of one request on a small database (a few users, a few JobRun rows,
a few days of verses), then grows it (300 more users, 200 more JobRun rows across the four
jobs, 20 days of daily verses) and counts again: both must equal the pinned number.

The number depends on the cache backend only (SQLite and PostgreSQL give the same): `status` and
`health` read the django-q cluster heartbeat from the cache, and the throttles (soulverse/throttles.py)
read and write each caller's history in the cache, which costs SQL queries with the database cache
(the embedded default: 6 per throttled request) and none with Redis (`REDIS_URL`). `health` is not
throttled and its probe only reads. With a live cluster, django-q2's Broker.get_stats also reads the
cluster's heartbeat and rewrites its key list on every call (the database cache: 1 + 5 more
queries). Every authenticated request: the knox token with its user, the user's other tokens (knox
drops expired ones), then the user's and their groups' permissions (2).
"""

import datetime

import pytest
from django.conf import settings as django_settings
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.signing import SignedPackage
from django_q.status import Stat, Status
from rest_framework.test import APIClient

from scheduler.models import JobRun
from scheduler.registry import JOBS
from scheduler.tests.runs import daily_run
from users.models import Device, Language, Mood, User
from users.tests.factories import UserFactory, token_key_for
from verses.models import DailyVerse

# The worst case, status with a live cluster on the database cache.
MAX_QUERIES = 25  # one more per registered job (status reads each job's last run)

STATUS = "/api/v1/scheduler/status"
HEALTH = "/api/v1/scheduler/health"
USERS_COUNT = "/api/v1/scheduler/users-count"
TODAY = "/api/v1/verses/today"

# cache backend -> {(path, cluster alive): queries per request}
PINNED = {
    "database": {
        # token+user, the user's tokens, 2 permission reads, schedules, last run of each of the 6
        # jobs, the French edition's verse count, heartbeat list; the throttle's get + set (5)
        (STATUS, False): 19,
        (STATUS, True): 25,  # + the heartbeat, + django-q2 rewriting the list (5: COUNT, SAVEPOINT, ...)
        (HEALTH, False): 11,  # 4 of auth, SELECT 1, schedules, last daily run, probe read, edition count, last push
        # tick, heartbeat list
        (HEALTH, True): 17,
        (USERS_COUNT, False): 11,  # 4 of auth, one aggregate, the throttle (5)
        # token, user and verse in one prepared query (verses/views.py); the user throttle's get + set
        # on the database cache (6; on Redis one call, no SQL)
        (TODAY, False): 7,
    },
    "redis": {
        (STATUS, False): 12,
        (STATUS, True): 12,
        (HEALTH, False): 9,
        (HEALTH, True): 9,
        (USERS_COUNT, False): 5,
        (TODAY, False): 1,
    },
}


def test_livez_answers_ok_without_database_or_auth(client):  # no `db` fixture: a query would fail
    response = client.get("/livez")
    assert (response.status_code, response.content) == (200, b"ok")


def _cache_backend() -> str:
    return "redis" if django_settings.REDIS_URL else "database"


def _token_client(user: User) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_key_for(user)}")
    return client


def _add_users(count: int, *, start: int) -> None:
    """`count` users, most active, spread over every (mood, language) pair."""
    moods = [*Mood.values, ""]
    users = User.objects.bulk_create(
        [
            User(
                email=f"bulk{n}@example.org",
                password="!",
                is_active=n % 10 != 0,
                mood=moods[n % len(moods)],
                language=Language.values[n % len(Language.values)],
            )
            for n in range(start, start + count)
        ]
    )
    Device.objects.bulk_create(  # a seventh of them without a device
        [Device(user=user, kind="token", identifier=f"bulk-token-{n}") for n, user in enumerate(users, start) if n % 7]
    )


def _add_runs(count: int) -> None:
    """`count` finished runs across the jobs, spread over the past days."""
    now = timezone.now()
    runs = JobRun.objects.bulk_create(
        [
            JobRun(
                job_id=JOBS[n % len(JOBS)].id,
                trigger=JobRun.Trigger.SCHEDULE,
                status=JobRun.Status.FAILED if n % 5 == 0 else JobRun.Status.SUCCEEDED,
                finished_at=now - datetime.timedelta(hours=n),
                counts={"n": n},
            )
            for n in range(count)
        ]
    )
    for n, run in enumerate(runs):  # started_at is auto_now_add: spread it afterwards
        run.started_at = now - datetime.timedelta(hours=n, minutes=1)
    JobRun.objects.bulk_update(runs, ["started_at"])


def _add_verse_days(days: int) -> None:
    """Daily verses of the last `days` days, today included (today's last, as in production)."""
    today = timezone.localdate()
    for back in reversed(range(days)):
        daily_run(day=today - datetime.timedelta(days=back))


def _cluster_heartbeat() -> None:
    """A live cluster's heartbeat in the cache, written the way django-q2's Stat.save does."""
    heartbeat = Status(pid=1, cluster_id="query-count-test")
    heartbeat.status = "Idle"
    get_broker().set_stat(Stat.get_key(heartbeat.cluster_id), SignedPackage.dumps(heartbeat, True), 600)


def _get(client: APIClient, path: str):
    response = client.get(path)
    # health answers 503 while no cluster is alive, with its report.
    assert response.status_code in ((200, 503) if path == HEALTH else (200,)), response.content
    return response


@pytest.mark.parametrize(("path", "cluster_alive"), list(PINNED["database"]))
def test_queries_per_request_do_not_grow_with_the_data(
    path, cluster_alive, settings, staff_client, schedules, django_assert_num_queries
):
    settings.GEMINI_API_KEY = ""  # curated verses only: no AI call while generating the history
    expected = PINNED[_cache_backend()][(path, cluster_alive)]
    assert expected <= MAX_QUERIES
    member = UserFactory(mood=Mood.SAD, language=Language.ENGLISH)  # active: gets the daily verse
    client = staff_client if path.startswith("/api/v1/scheduler/") else _token_client(member)
    if cluster_alive:
        _cluster_heartbeat()

    # Small: a few users, a few runs, a few days of verses.
    _add_users(3, start=0)
    _add_runs(3)
    _add_verse_days(3)
    assert DailyVerse.objects.filter(user=member, day=timezone.localdate()).exists()  # /today only reads
    if path == TODAY:
        _get(client, path)  # PostgreSQL: the connection's first request also PREPAREs the statement
    with django_assert_num_queries(expected):
        _get(client, path)

    # Larger: 300 more users, 200 more runs, 20 days of verses.
    _add_users(300, start=3)
    _add_runs(200)
    _add_verse_days(20)
    assert User.objects.count() > 300 and JobRun.objects.count() > 200 and DailyVerse.objects.count() > 4000
    with django_assert_num_queries(expected):
        response = _get(client, path)
    if path == TODAY:
        assert response.json()["day"] == timezone.localdate().isoformat()
    if path in (STATUS, HEALTH):
        cluster = response.json()["cluster"] if path == STATUS else response.json()["checks"]["cluster"]
        assert cluster["alive"] is cluster_alive
