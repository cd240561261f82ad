"""Faults (`make faults`): one of two clusters SIGKILLed mid-run, on each broker. The broker does
not give the dead cluster's tasks back in time (Redis: never; ORM: after Q_RETRY = 360 s), so the
surviving cluster's watchdog must: the run closes with one verse per active user, none twice.
Prints the time from the kill to the last chunk done."""

import os
import subprocess
import sys
import time
import uuid

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Max
from django.utils import timezone

from scheduler.models import JobChunk, JobRun
from scheduler.tests.clusters import cluster_kill, cluster_stop, database_url, wait_until
from users.models import User
from users.selectors import users_active
from users.tests.factories import devices_bulk_create
from verses.models import DailyVerse

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]
USERS, CHUNK = 60_000, 3_000


def cluster_env(broker: str, name: str) -> dict:
    return {
        **os.environ,
        "DATABASE_URL": database_url(),
        "DJANGO_SETTINGS_MODULE": "soulverse.settings_test",
        "Q_BROKER": broker,
        "Q_CLUSTER_NAME": name,
        "Q_WORKERS": "2",
        "Q_TIMEOUT": "300",
        "Q_RETRY": "360",
        "VERSES_ASSIGN_CHUNK_SIZE": str(CHUNK),
        "SCHEDULER_WATCHDOG_SECONDS": "15",
        "LOG_LEVEL": "INFO",
    }


def cluster_start(env: dict, log_path) -> subprocess.Popen:
    log = open(log_path, "ab")
    # Its own process group: SIGKILL reaches the sentinel and every worker, as in a crash.
    process = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_until(lambda: "event=watchdog_started" in log_path.read_text(errors="replace"), 60, "the cluster")
    except BaseException:
        cluster_kill(process)
        raise
    return process


@pytest.mark.parametrize("broker", ["orm", "redis"])
def test_sigkill_one_of_two_clusters_mid_run_the_watchdog_hands_its_chunks_out_again(broker, tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("holds the chunks with PostgreSQL's LOCK TABLE (DATABASE_URL)")
    if broker == "redis" and not os.environ.get("REDIS_URL"):
        pytest.skip("the Redis broker needs REDIS_URL")
    users = User.objects.bulk_create(
        [
            User(
                email=f"u{n}@example.org",
                mood=["sad", "joyful", ""][n % 3],
                language="fr" if n % 4 else "en",
            )
            for n in range(USERS)
        ],
        batch_size=5000,
    )
    devices_bulk_create(users)
    active = set(users_active().values_list("pk", flat=True))
    env = cluster_env(broker, f"watchdog-{uuid.uuid4().hex[:8]}")
    doomed = cluster_start(env, tmp_path / "doomed.log")
    try:
        survivor = cluster_start(env, tmp_path / "survivor.log")
    except BaseException:
        cluster_kill(doomed)
        raise
    doomed_log = tmp_path / "doomed.log"
    try:
        # Chunks can take 20 ms each on an idle machine: the whole run could end before the kill.
        # A SHARE lock on the daily verse table holds every chunk at its INSERT (after it took its
        # chunk row and lease), so the doomed cluster is killed while it holds chunks, for sure.
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(f"LOCK TABLE {DailyVerse._meta.db_table} IN SHARE MODE")
            subprocess.run(
                [
                    sys.executable,
                    "manage.py",
                    "shell",
                    "-c",
                    "from scheduler.services import job_run_enqueue; "
                    "job_run_enqueue(job_id='daily_verses_generation', trigger='manual')",
                ],
                cwd=settings.BASE_DIR,
                env=env,
                check=True,
                capture_output=True,
            )
            wait_until(
                lambda: "'scheduler.tasks.job_chunk_run'" in doomed_log.read_text(errors="replace"),
                120,
                "the doomed cluster to take a chunk",
            )
            time.sleep(1)  # its workers reach the INSERT and wait there
            cluster_kill(doomed)
            killed_at = time.monotonic()
            killed_at_db = timezone.now()
            pending_at_kill = JobChunk.objects.filter(status="pending").count()

        wait_until(lambda: JobRun.objects.filter(status="running").count() == 0, 150, "the run to close")
        recovered_in = time.monotonic() - killed_at
    finally:
        if doomed.poll() is None:
            cluster_kill(doomed)
        cluster_stop(survivor)
    run = JobRun.objects.get()
    per_user = DailyVerse.objects.values("user").annotate(n=Count("day"))
    assert run.status == "succeeded", run.error
    assert {row["user"] for row in per_user} == active, "a user lost their verse"
    assert {row["n"] for row in per_user} == {1}, "a user got two verses"
    assert run.counts["verses_created"] == USERS
    survivor_log = (tmp_path / "survivor.log").read_text(errors="replace")
    assert "event=chunk_requeued" in survivor_log, "the killed cluster held no chunk: nothing was tested"
    last_chunk = JobChunk.objects.aggregate(last=Max("finished_at"))["last"]
    print(
        f"\n[{broker}] {USERS:,} users, {run.counts['chunks']} chunks of {CHUNK:,}; SIGKILL with "
        f"{pending_at_kill} chunks pending; kill -> last chunk done "
        f"{(last_chunk - killed_at_db).total_seconds():.1f} s (run closed {recovered_in:.1f} s after the kill); "
        f"chunks handed out again: {survivor_log.count('event=chunk_requeued')}"
    )
