"""A real `manage.py qcluster` subprocess runs the schedules (about 100 s: django-q2's
scheduler looks for due schedules every 30 s)."""

import datetime
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone
from django_q.models import Schedule

from scheduler.models import JobRun
from scheduler.selectors import cluster_state
from scheduler.services import scheduler_start, scheduler_stop, schedules_setup
from users.tests.factories import UserFactory, token_key_for
from verses.models import DailyVerse

pytestmark = [pytest.mark.cluster, pytest.mark.django_db(transaction=True)]


def database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    credentials = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{credentials}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def qcluster(tmp_path):
    log = open(tmp_path / "qcluster.log", "wb")
    env = {**os.environ, "DATABASE_URL": database_url(), "DJANGO_SETTINGS_MODULE": "soulverse.settings_test"}
    process = subprocess.Popen([sys.executable, "manage.py", "qcluster"], cwd=settings.BASE_DIR, env=env,
                               stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: cluster_state()["alive"], 60, "the cluster to report a heartbeat", tmp_path)
        yield tmp_path
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def wait_until(predicate, timeout: float, what: str, log_dir: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    tail = (log_dir / "qcluster.log").read_text()[-3000:] if log_dir else ""
    pytest.fail(f"timed out after {timeout} s waiting for {what}\n{tail}")


def scheduler_pass(name: str, log_dir: Path) -> None:
    """Wait for one full pass of the cluster's scheduler, seen through a due probe schedule."""
    Schedule.objects.create(name=name, func="math.floor", args="1.5", schedule_type=Schedule.ONCE,
                            next_run=timezone.now() - datetime.timedelta(seconds=1))
    wait_until(lambda: not Schedule.objects.filter(name=name).exists(), 75, f"schedule {name}", log_dir)


def test_a_real_cluster_runs_a_due_schedule_once_and_only_when_started(qcluster, live_server):
    users = UserFactory.create_batch(30)
    schedules_setup()
    daily = Schedule.objects.filter(name="daily_verses_generation")
    admin = UserFactory(email="admin@example.org", is_staff=True, is_superuser=True, fcm_token="")
    token = token_key_for(admin)

    scheduler_stop()
    daily.update(next_run=timezone.now() - datetime.timedelta(days=2))  # two missed days
    scheduler_pass("probe-while-stopped", qcluster)
    assert JobRun.objects.count() == 0, "a stopped schedule fired"

    scheduler_start()
    # The push tick (every 15 minutes) may fire too: this test is about the daily run's schedule.
    daily_runs = JobRun.objects.filter(job_id="daily_verses_generation")
    wait_until(lambda: daily_runs.filter(status="succeeded").exists(), 90, "the daily run", qcluster)
    run = daily_runs.get()
    assert (run.job_id, run.trigger) == ("daily_verses_generation", "schedule")
    assert run.counts["verses_created"] == len(users)
    assert DailyVerse.objects.filter(day=timezone.localdate()).count() == len(users)
    # Two missed days: one catch-up run, and the next one at the next 06:00, not a replay.
    assert daily.get().next_run > timezone.now()

    request = urllib.request.Request(f"{live_server.url}/api/v1/scheduler/status",
                                     headers={"Authorization": f"Token {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        status = json.load(response)
    assert status["running"] is True and status["enabled"] is True
    assert status["cluster"]["alive"] is True and status["cluster"]["count"] == 1
    job = next(job for job in status["jobs"] if job["id"] == "daily_verses_generation")
    assert job["last_run"]["id"] == str(run.pk)
    assert (job["last_run"]["status"], job["last_run"]["trigger"]) == ("succeeded", "schedule")

    scheduler_pass("probe-after-run", qcluster)
    assert daily_runs.count() == 1, "the schedule fired more than once"

    # A manual trigger over HTTP goes through the cluster too, and finds nothing left to do.
    request = urllib.request.Request(f"{live_server.url}/api/v1/scheduler/trigger-daily-verses", method="POST",
                                     headers={"Authorization": f"Token {token}"})
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.status == 200
        body = json.load(response)
    assert (body["success"], body["message"]) == (True, "Génération manuelle terminée avec succès")
    assert (body["run"]["trigger"], body["verses_created"], body["users_processed"]) == ("manual", 0, len(users))
    assert DailyVerse.objects.count() == len(users)
