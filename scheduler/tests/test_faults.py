"""Faults on purpose (`make faults`; about 8 minutes): a qcluster killed with SIGKILL at random
points of a daily run then restarted loses and duplicates nothing; several clusters fire each due
schedule once; a run survives Redis or PostgreSQL going away; a cluster started while PostgreSQL
is down waits for it; a manual trigger during a scheduled run starts nothing."""

import datetime
import os
import random
import subprocess
import sys
import time

import psycopg2
import pytest
from django.conf import settings
from django.db import connection
from django.db.models import Count

from scheduler.models import JobRun
from scheduler.selectors import cluster_state
from scheduler.services import job_run_enqueue
from scheduler.tests.clusters import cluster_kill, cluster_start, cluster_stop, database_url, wait_until
from scheduler.tests.outages import OUTAGE_SECONDS, OUTAGE_TIMEOUTS, outage, postgres_ctl, postgres_wait
from users.models import User
from users.selectors import users_active
from users.tests.factories import devices_bulk_create
from verses.models import DailyVerse

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("trial", range(6))
def test_sigkill_mid_run_then_restart_loses_and_duplicates_nothing(trial, tmp_path):
    devices_bulk_create(
        User.objects.bulk_create(
            [
                User(
                    email=f"u{n}@example.org",
                    mood=["sad", "joyful", ""][n % 3],
                    language="fr" if n % 4 else "en",
                )
                for n in range(3000)
            ]
        )
    )
    active = set(users_active().values_list("pk", flat=True))
    log = open(tmp_path / "qcluster.log", "ab")
    cluster = cluster_start(log)
    job_run_enqueue(job_id="daily_verses_generation", trigger="schedule")
    time.sleep(random.Random(trial).uniform(0.1, 2.5))
    cluster_kill(cluster)
    at_kill = DailyVerse.objects.count()

    cluster = cluster_start(log)
    try:
        wait_until(
            lambda: DailyVerse.objects.count() == len(active) and not JobRun.objects.filter(status="running").exists(),
            120,
            "the run to recover",
        )
    finally:
        cluster_stop(cluster)
        log.close()
    per_user = DailyVerse.objects.values("user").annotate(n=Count("pk"))
    assert {row["user"] for row in per_user} == active, "a user lost their verse"
    assert {row["n"] for row in per_user} == {1}, "a user got two verses"
    assert JobRun.objects.filter(status="succeeded").exists()
    print(
        f"trial {trial}: {at_kill} of {len(active)} verses written when killed; "
        f"runs: {list(JobRun.objects.values_list('status', flat=True))}"
    )


def test_three_clusters_on_one_database_fire_each_due_schedule_once(tmp_path):
    from django.utils import timezone
    from django_q.models import Schedule, Success

    from scheduler.services import schedules_setup
    from scheduler.tests.clusters import scheduler_pass

    if connection.vendor != "postgresql":
        pytest.skip("several clusters need PostgreSQL's row locks (SELECT ... FOR UPDATE)")
    devices_bulk_create(User.objects.bulk_create([User(email=f"u{n}@example.org") for n in range(300)]))
    schedules_setup()
    Schedule.objects.filter(name="daily_verses_generation").update(
        next_run=timezone.now() - datetime.timedelta(minutes=1)
    )
    past = timezone.now() - datetime.timedelta(seconds=5)
    for n in range(20):
        Schedule.objects.create(
            name=f"fire-{n}", func="math.floor", args=f"{n}.5", schedule_type=Schedule.ONCE, repeats=1, next_run=past
        )
    log = open(tmp_path / "qcluster.log", "ab")
    clusters = [cluster_start(log) for _ in range(3)]
    try:
        wait_until(lambda: cluster_state()["count"] == 3, 30, "three cluster heartbeats")
        wait_until(
            lambda: (
                Success.objects.filter(group__startswith="fire-").count() >= 20
                and JobRun.objects.filter(status="succeeded").exists()
            ),
            120,
            "the fires",
        )
        scheduler_pass("one-more-pass", tmp_path)  # every cluster had its chance to fire them again
        time.sleep(5)
    finally:
        for cluster in clusters:
            cluster_stop(cluster)
        log.close()
    fired = list(Success.objects.filter(group__startswith="fire-").values_list("group", flat=True))
    assert sorted(fired) == sorted(f"fire-{n}" for n in range(20)), "a fire ran twice or never"
    assert JobRun.objects.filter(job_id="daily_verses_generation").count() == 1
    assert DailyVerse.objects.count() == 300


REDIS_START = [
    "redis-server",
    "--daemonize",
    "yes",
    "--bind",
    "127.0.0.1",
    "-::1",
    "--port",
    "6379",
    "--save",
    "",
    "--appendonly",
    "no",
    "--dir",
    "/var/lib/redis",
    "--logfile",
    "/var/log/redis/ci.log",
]


def test_redis_stopped_mid_run_the_run_completes_and_caching_resumes(tmp_path):
    from django.core.cache import cache
    from rest_framework.test import APIClient

    from users.tests.factories import token_key_for

    if not settings.REDIS_URL or ":6379" not in settings.REDIS_URL:
        pytest.skip("needs the machine's Redis on 127.0.0.1:6379 (REDIS_URL)")
    devices_bulk_create(
        User.objects.bulk_create([User(email=f"u{n}@example.org", mood=["sad", ""][n % 2]) for n in range(3000)])
    )
    reader = User.objects.first()
    from scheduler.permissions import VIEWERS_GROUP, scheduler_groups_ensure

    reader.groups.add(scheduler_groups_ensure()[VIEWERS_GROUP])  # health's details need the view permission
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token_key_for(reader)}")
    log = open(tmp_path / "qcluster.log", "ab")
    cluster = cluster_start(log)
    try:
        job_run_enqueue(job_id="daily_verses_generation", trigger="schedule")
        subprocess.run(["redis-cli", "-p", "6379", "shutdown", "nosave"], check=False, timeout=10)
        try:
            wait_until(
                lambda: DailyVerse.objects.count() == 3000 and not JobRun.objects.filter(status="running").exists(),
                120,
                "the run without Redis",
            )
            health = api.get("/api/v1/scheduler/health").json()
            assert health["checks"]["cache"] == {"status": "degraded", "backend": "redis"}
            today = api.get("/api/v1/verses/today")
            assert today.status_code == 200 and today.json()["text"]  # served from the database
            assert cache.get("anything") is None  # errors are swallowed and logged, not raised
        finally:
            subprocess.run(REDIS_START, check=True, timeout=30)

        def cache_works() -> bool:
            cache.set("probe", 1)
            return cache.get("probe") == 1

        wait_until(cache_works, 30, "Redis back")
        cache.set("resumed", "yes")
        assert cache.get("resumed") == "yes"  # django-redis reconnects by itself
        assert api.get("/api/v1/scheduler/health").json()["checks"]["cache"]["status"] == "ok"
    finally:
        cluster_stop(cluster)
        log.close()
    assert JobRun.objects.get().status == "succeeded"


# --- PostgreSQL going away --------------------------------------------------------------------
def assert_one_verse_per_active_user(active: set) -> None:
    per_user = DailyVerse.objects.values("user").annotate(n=Count("pk"))
    assert {row["user"] for row in per_user} == active, "a user lost their verse"
    assert {row["n"] for row in per_user} == {1}, "a user got two verses"


def writers_waiting(table: str) -> int:
    """Transactions waiting for a lock on `table`."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE relation = %s::regclass AND NOT granted", [table])
        return cursor.fetchone()[0]


def test_postgres_down_mid_run_the_run_retries_and_completes(local_postgres, tmp_path):
    devices_bulk_create(
        User.objects.bulk_create(
            [User(email=f"u{n}@example.org", mood=["sad", "joyful", ""][n % 3]) for n in range(20000)]
        )
    )
    active = set(users_active().values_list("pk", flat=True))
    table = DailyVerse._meta.db_table
    log = open(tmp_path / "qcluster.log", "ab")
    cluster = cluster_start(log, **OUTAGE_TIMEOUTS)
    # Chunks take milliseconds on an idle machine: the run could end between any reading and the
    # stop. A SHARE lock on the daily verse table, held from a connection of its own, holds every
    # chunk at its INSERT, inside its transaction, so the outage meets chunks in flight for sure.
    holder = psycopg2.connect(**connection.get_connection_params())
    try:
        holder.cursor().execute(f"LOCK TABLE {connection.ops.quote_name(table)} IN SHARE MODE")
        run, _ = job_run_enqueue(job_id="daily_verses_generation", trigger="schedule")
        wait_until(
            lambda: (
                "'scheduler.tasks.job_chunk_run'" in (tmp_path / "qcluster.log").read_text(errors="replace")
                and writers_waiting(table) >= 1
            ),
            120,
            "a chunk to wait at its INSERT",
        )
        waiting = writers_waiting(table)
        outage()  # the fast shutdown ends the lock holder's session and the waiting chunks' transactions
        wait_until(lambda: not JobRun.objects.filter(status="running").exists(), 240, "the run to complete")
    finally:
        cluster_stop(cluster)
        log.close()
        try:
            holder.close()
        except psycopg2.Error:
            pass
    logged = (tmp_path / "qcluster.log").read_text(errors="replace")
    print(
        f"{waiting} chunks in their transaction when PostgreSQL stopped; "
        f"{logged.count('event=chunk_db_retry')} chunk retries logged"
    )
    assert "event=chunk_db_retry" in logged  # the outage was seen, logged and retried with back-off
    # ...by the tasks that met it: no chunk waited for a redelivered task (Q_RETRY) to resume it.
    assert "event=job_resumed" not in logged
    assert JobRun.objects.get().pk == run.pk and JobRun.objects.get().status == "succeeded"
    assert_one_verse_per_active_user(active)


def test_postgres_down_during_the_ai_phase_the_job_retries_and_completes(local_postgres, tmp_path):
    from soulverse.testing.gemini_stub import GeminiStub, good_answer
    from verses.models import VerseOfTheDay

    devices_bulk_create(
        User.objects.bulk_create(
            [User(email=f"u{n}@example.org", mood=["sad", "joyful", ""][n % 3]) for n in range(3000)]
        )
    )
    active = set(users_active().values_list("pk", flat=True))
    log = open(tmp_path / "qcluster.log", "ab")
    with GeminiStub(latency=3.0) as stub:  # the answers arrive while PostgreSQL is down
        stub.respond(good_answer)
        cluster = cluster_start(log, TEST_GEMINI_BASE_URL=stub.base_url, **OUTAGE_TIMEOUTS)
        try:
            run, _ = job_run_enqueue(job_id="daily_verses_generation", trigger="schedule")
            wait_until(lambda: stub.calls, 60, "the first AI call")
            outage()
            wait_until(lambda: not JobRun.objects.filter(status="running").exists(), 240, "the run to complete")
        finally:
            cluster_stop(cluster)
            log.close()
        ai_calls = len(stub.calls)
    logged = (tmp_path / "qcluster.log").read_text(errors="replace")
    print(f"{ai_calls} AI calls for 3 pairs; {logged.count('event=job_db_retry')} job retries logged")
    assert "event=job_db_retry" in logged  # the job's own part was retried, not failed
    assert JobRun.objects.get().pk == run.pk and JobRun.objects.get().status == "succeeded"
    assert set(VerseOfTheDay.objects.values_list("source", flat=True)) == {"ai"}
    assert_one_verse_per_active_user(active)


def test_qcluster_started_while_postgres_is_down_waits_and_recovers(local_postgres, tmp_path):
    devices_bulk_create(User.objects.bulk_create([User(email=f"u{n}@example.org") for n in range(3000)]))
    active = set(users_active().values_list("pk", flat=True))
    run, _ = job_run_enqueue(job_id="daily_verses_generation", trigger="schedule")  # waiting in the queue
    connection.close()
    postgres_ctl("stop")
    log = open(tmp_path / "qcluster.log", "ab")
    try:
        cluster = cluster_start(log, wait=False, **OUTAGE_TIMEOUTS)
        try:
            time.sleep(OUTAGE_SECONDS)
            assert cluster.poll() is None, "qcluster exited while PostgreSQL was down"
        finally:
            postgres_ctl("start")
        postgres_wait()
        wait_until(lambda: JobRun.objects.get(pk=run.pk).status != "running", 180, "the queued run")
    finally:
        cluster_stop(cluster)
        log.close()
    assert "event=qcluster_waiting_for_database" in (tmp_path / "qcluster.log").read_text(errors="replace")
    assert JobRun.objects.get(pk=run.pk).status == "succeeded"
    assert_one_verse_per_active_user(active)


def test_manual_trigger_during_a_scheduled_run_starts_nothing(staff_client, tmp_path):
    devices_bulk_create(
        User.objects.bulk_create([User(email=f"u{n}@example.org", mood=["sad", ""][n % 2]) for n in range(20000)])
    )
    active = set(users_active().values_list("pk", flat=True))
    log = open(tmp_path / "qcluster.log", "ab")
    cluster = cluster_start(log, VERSES_ASSIGN_CHUNK_SIZE="10")
    try:
        scheduled, _ = job_run_enqueue(job_id="daily_verses_generation", trigger="schedule")
        wait_until(lambda: DailyVerse.objects.exists(), 60, "the scheduled run to start")
        api = staff_client.post("/api/v1/scheduler/trigger-daily-verses", {"wait": 0}, format="json")
        env = {**os.environ, "DATABASE_URL": database_url(), "DJANGO_SETTINGS_MODULE": "soulverse.settings_test"}
        command = subprocess.run(
            [sys.executable, "manage.py", "trigger_daily_verses"],
            cwd=settings.BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        still_running = JobRun.objects.get(pk=scheduled.pk).status == "running"
        wait_until(lambda: not JobRun.objects.filter(status="running").exists(), 180, "the scheduled run")
    finally:
        cluster_stop(cluster)
        log.close()
    assert still_running, "the scheduled run had finished before the triggers: nothing was tested"
    assert api.status_code == 202
    assert api.json()["already_running"] is True and api.json()["run_id"] == str(scheduled.pk)
    assert api.json()["message"] == "Une génération est déjà en cours"
    assert command.returncode == 1
    assert command.stderr.strip().splitlines() == [command.stderr.strip()]  # one line
    assert f"already in progress (run {scheduled.pk}" in command.stderr
    assert list(JobRun.objects.values_list("pk", "status")) == [(scheduled.pk, "succeeded")]
    assert_one_verse_per_active_user(active)
