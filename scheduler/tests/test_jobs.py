import datetime

import pytest
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.core.management import call_command
from django.utils import timezone
from django_q.models import Schedule, Success

from console.jobs import cache_cleanup
from scheduler.models import JobRun
from scheduler.services import job_run_claim, job_run_execute, scheduler_stop, schedules_setup
from scheduler.tasks import job_run
from soulverse.db import rows_delete_before
from users.models import UserActivity
from users.tests.factories import UserFactory
from verses.generation.cache import verse_cache_get_many, verse_cache_set_many
from verses.models import Delivery, VerseOfTheDay, VerseOpen
from verses.partitions import history_start

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sync_tasks")]


def test_setup_schedules_is_idempotent_and_keeps_a_stopped_scheduler_stopped():
    assert schedules_setup() == [
        ("daily_verses_generation", "created"),
        ("cache_cleanup", "created"),
        ("user_stats_update", "created"),
        ("deliver_verses", "created"),
        ("daily_verses_review", "created"),
        ("deliver_campaigns", "created"),
    ]
    rows = list(Schedule.objects.order_by("name").values("name", "func", "args", "cron", "repeats"))
    assert rows[4] == {
        "name": "deliver_verses",
        "func": "scheduler.tasks.job_run",
        "args": "'deliver_verses'",
        "cron": "*/15 * * * *",
        "repeats": -1,
    }
    assert rows[1] == {
        "name": "daily_verses_generation",
        "func": "scheduler.tasks.job_run",
        "args": "'daily_verses_generation'",
        "cron": "0 6 * * *",
        "repeats": -1,
    }
    scheduler_stop(changed_by=None, source="command")
    Schedule.objects.filter(name="cache_cleanup").update(cron="*/5 * * * *")  # drifted by hand
    assert dict(schedules_setup())["cache_cleanup"] == "updated"
    assert dict(schedules_setup()) == dict.fromkeys(dict(schedules_setup()), "unchanged")
    assert Schedule.objects.count() == 6
    assert set(Schedule.objects.values_list("repeats", flat=True)) == {0}
    assert Schedule.objects.get(name="cache_cleanup").cron == "0 2 * * *"


def test_every_execution_is_recorded_whatever_started_it():
    UserFactory.create_batch(2)
    job_run("daily_verses_generation")  # as a schedule fires it
    call_command("trigger_daily_verses", stdout=open("/dev/null", "w"))
    runs = list(JobRun.objects.order_by("started_at").values_list("trigger", "status"))
    assert runs == [("schedule", "succeeded"), ("command", "succeeded")]
    first = JobRun.objects.order_by("started_at").first()
    assert first.counts["verses_created"] == 2 and first.finished_at >= first.started_at


def test_a_failing_job_is_recorded_as_failed(monkeypatch):
    def boom(**kwargs):
        raise RuntimeError("Gemini exploded")

    monkeypatch.setattr("verses.jobs.daily_verses_prepare", boom)
    with pytest.raises(RuntimeError):
        job_run("daily_verses_generation")
    run = JobRun.objects.get()
    assert (run.status, run.error) == ("failed", "RuntimeError: Gemini exploded")
    assert run.finished_at is not None


def test_a_fire_during_a_run_starts_nothing_and_a_stale_run_is_taken_over():
    running, created = job_run_claim(job_id="daily_verses_generation", trigger="manual")
    assert created
    assert job_run("daily_verses_generation") == {"skipped": True, "running_run_id": str(running.pk)}
    assert JobRun.objects.count() == 1
    # A run still "running" long after the task timeout was killed with its worker.
    JobRun.objects.filter(pk=running.pk).update(started_at=timezone.now() - datetime.timedelta(days=1))
    result = job_run("daily_verses_generation")
    assert result["status"] == "succeeded"
    running.refresh_from_db()
    assert running.status == "failed" and "Abandoned" in running.error


def test_a_redelivered_task_of_a_finished_run_does_nothing():
    run, _ = job_run_claim(job_id="cache_cleanup", trigger="manual")
    job_run_execute(run=run)
    finished_at = JobRun.objects.get().finished_at
    job_run("cache_cleanup", trigger="manual", run_id=str(run.pk))
    assert JobRun.objects.get().finished_at == finished_at


def test_cache_cleanup_deletes_old_data_and_reports_counts():
    today = timezone.localdate()
    for day in (today, today - datetime.timedelta(days=1), today - datetime.timedelta(days=3)):
        verse_cache_set_many(day, {("sad", "fr"): 1})
    old = timezone.now() - datetime.timedelta(days=40)
    for job_id in ("cache_cleanup", "user_stats_update"):
        run = JobRun.objects.create(job_id=job_id, trigger="schedule", status="succeeded")
        JobRun.objects.filter(pk=run.pk).update(started_at=old)
    recent = JobRun.objects.create(job_id="cache_cleanup", trigger="schedule", status="succeeded")
    Success.objects.create(id="a" * 32, name="old", func="math.floor", started=old, stopped=old, success=True)
    Session.objects.create(session_key="x" * 32, session_data="", expire_date=old)
    Session.objects.create(
        session_key="y" * 32, session_data="", expire_date=timezone.now() + datetime.timedelta(days=1)
    )

    report = cache_cleanup()

    assert report["verse_cache_entries"] == 2
    assert report["job_runs"] == 2 and report["task_results"] == 1 and report["expired_sessions"] == 1
    assert list(JobRun.objects.values_list("pk", flat=True)) == [recent.pk]
    assert verse_cache_get_many(today, [("sad", "fr")]) == {("sad", "fr"): 1}
    assert verse_cache_get_many(today - datetime.timedelta(days=1), [("sad", "fr")]) == {}
    assert Session.objects.count() == 1


def test_cache_cleanup_deletes_expired_database_cache_rows():
    if not hasattr(cache, "_table"):
        pytest.skip("Redis expires keys itself")
    cache.set("short-lived", 1, timeout=1)
    cache.set("long-lived", 1, timeout=600)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {cache._table} SET expires = %s WHERE cache_key LIKE %s",
            [timezone.now() - datetime.timedelta(minutes=1), "%short-lived"],
        )
    assert cache_cleanup()["expired_cache_rows"] == 1
    assert cache.get("long-lived") == 1


def test_cache_cleanup_deletes_activity_opens_and_deliveries_older_than_the_verse_history(settings):
    settings.VERSES_HISTORY_DAYS = 40
    today = timezone.localdate()
    kept_from = history_start(today=today, days=40)  # the first of a month, as for the daily verses
    users = UserFactory.create_batch(3)
    days = [kept_from - datetime.timedelta(days=2), kept_from - datetime.timedelta(days=1), kept_from, today]
    UserActivity.objects.bulk_create([UserActivity(user=user, day=day) for user in users for day in days])
    VerseOpen.objects.bulk_create([VerseOpen(user=users[0], day=day, opened_at=timezone.now()) for day in days])
    verse = VerseOfTheDay.objects.create(
        day=today,
        mood="",
        language="fr",
        book=19,
        chapter=23,
        verse_start=1,
        verse_end=1,
        reference="Psaumes 23:1",
        text="…",
        reflection="…",
    )
    Delivery.objects.bulk_create([Delivery(user=users[1], day=day, verse=verse, state="sent") for day in days])

    report = cache_cleanup()

    assert (report["activity_days"], report["verse_opens"], report["deliveries"]) == (6, 2, 2)
    assert sorted(Delivery.objects.values_list("day", flat=True)) == [kept_from, today]
    assert sorted(set(UserActivity.objects.values_list("day", flat=True))) == [kept_from, today]
    assert UserActivity.objects.count() == 6
    assert sorted(VerseOpen.objects.values_list("day", flat=True)) == [kept_from, today]
    assert cache_cleanup()["activity_days"] == 0


def test_cache_cleanup_closes_the_pushes_left_unconfirmed_on_past_days():
    """A push handed to FCM whose verdict was never recorded (its worker killed, say) stays `sending`;
    a later tick takes it over only while its user is still due that day. Past days' leftovers
    become `failed`, saying so."""
    utc_today = timezone.now().date()
    verse = VerseOfTheDay.objects.create(
        day=utc_today,
        mood="",
        language="fr",
        book=19,
        chapter=23,
        verse_start=1,
        verse_end=1,
        reference="Psaumes 23:1",
        text="…",
        reflection="…",
    )
    expired, live = timezone.now() - datetime.timedelta(hours=1), timezone.now() + datetime.timedelta(hours=1)
    rows = {  # name: (UTC days ago, state, claimed until): the window is 2 to 8 days ago
        "newest": (2, "sending", expired),
        "oldest": (8, "sending", expired),
        "claimed": (3, "sending", live),
        "yesterday": (1, "sending", expired),
        "sent": (3, "sent", None),
        "long_ago": (9, "sending", expired),
    }
    users = dict(zip(rows, UserFactory.create_batch(len(rows))))
    Delivery.objects.bulk_create(
        [
            Delivery(
                user=users[name],
                day=utc_today - datetime.timedelta(days=ago),
                verse=verse,
                state=state,
                claim="chunk:1" if state == "sending" else "",
                claimed_until=until,
                attempts=1,
            )
            for name, (ago, state, until) in rows.items()
        ]
    )

    assert cache_cleanup()["deliveries_unconfirmed"] == 2
    states = {
        name: Delivery.objects.values_list("state", "claim", "error").get(user=user) for name, user in users.items()
    }
    closed = ("failed", "", "unconfirmed: handed to FCM, its verdict never recorded; FCM may have delivered it")
    assert (states.pop("newest"), states.pop("oldest")) == (closed, closed)
    assert states == {
        "claimed": ("sending", "chunk:1", ""),
        "yesterday": ("sending", "chunk:1", ""),
        "sent": ("sent", "", ""),
        "long_ago": ("sending", "chunk:1", ""),
    }
    assert cache_cleanup()["deliveries_unconfirmed"] == 0


def test_rows_delete_before_deletes_batch_by_batch(django_assert_num_queries):
    today = timezone.localdate()
    users = UserFactory.create_batch(5)
    UserActivity.objects.bulk_create(
        [UserActivity(user=user, day=today - datetime.timedelta(days=9)) for user in users]
        + [UserActivity(user=users[0], day=today)]
    )
    with django_assert_num_queries(3 * 3):  # 2 + 2 + 1 rows: 3 statements, each SAVEPOINT/DELETE/RELEASE
        assert rows_delete_before(UserActivity, day=today, batch_size=2) == 5
    assert list(UserActivity.objects.values_list("day", flat=True)) == [today]
