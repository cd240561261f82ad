"""A real `manage.py qcluster` subprocess runs the schedules (about 100 s: django-q2's
scheduler looks for due schedules every 30 s)."""

import datetime
import json
import urllib.request

import pytest
from django.utils import timezone
from django_q.models import Schedule

from scheduler.models import JobRun
from scheduler.services import scheduler_start, scheduler_stop, schedules_setup
from scheduler.tests.clusters import scheduler_pass, wait_until
from users.tests.factories import UserFactory, token_key_for
from verses.models import DailyVerse

pytestmark = [pytest.mark.cluster, pytest.mark.django_db(transaction=True)]


def test_a_real_cluster_runs_a_due_schedule_once_and_only_when_started(qcluster, live_server):
    users = UserFactory.create_batch(30)
    schedules_setup()
    daily = Schedule.objects.filter(name="daily_verses_generation")
    admin = UserFactory(email="admin@example.org", is_staff=True, is_superuser=True, fcm_token="")
    token = token_key_for(admin)

    scheduler_stop(changed_by=None, source="command")
    daily.update(next_run=timezone.now() - datetime.timedelta(days=2))  # two missed days
    scheduler_pass("probe-while-stopped", qcluster)
    assert JobRun.objects.count() == 0, "a stopped schedule fired"

    scheduler_start(changed_by=None, source="command")
    # The push tick (every 15 minutes) may fire too: this test is about the daily run's schedule.
    daily_runs = JobRun.objects.filter(job_id="daily_verses_generation")
    wait_until(lambda: daily_runs.filter(status="succeeded").exists(), 90, "the daily run", qcluster)
    run = daily_runs.get()
    assert (run.job_id, run.trigger) == ("daily_verses_generation", "schedule")
    assert run.counts["verses_created"] == len(users)
    assert DailyVerse.objects.filter(day=timezone.localdate()).count() == len(users)
    # Two missed days: one catch-up run, and the next one at the next 06:00, not a replay.
    assert daily.get().next_run > timezone.now()

    request = urllib.request.Request(
        f"{live_server.url}/api/v1/scheduler/status", headers={"Authorization": f"Token {token}"}
    )
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
    request = urllib.request.Request(
        f"{live_server.url}/api/v1/scheduler/trigger-daily-verses",
        method="POST",
        headers={"Authorization": f"Token {token}"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.status == 200
        body = json.load(response)
    assert (body["success"], body["message"]) == (True, "Génération manuelle terminée avec succès")
    assert (body["run"]["trigger"], body["verses_created"], body["users_processed"]) == ("manual", 0, len(users))
    assert DailyVerse.objects.count() == len(users)
