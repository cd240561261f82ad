import datetime
import io
import json
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.utils import timezone
from django_q.models import Schedule

from scheduler.models import JobRun, ScheduleChange
from users.tests.factories import UserFactory
from verses.models import DailyVerse

JOB_IDS = [
    "daily_verses_generation",
    "cache_cleanup",
    "user_stats_update",
    "deliver_verses",
    "daily_verses_review",
    "deliver_campaigns",
]


def run(*args, **options) -> tuple[str, str]:
    """call_command with captured output: (stdout, stderr)."""
    stdout, stderr = io.StringIO(), io.StringIO()
    call_command(*args, stdout=stdout, stderr=stderr, no_color=True, **options)
    return stdout.getvalue(), stderr.getvalue()


def schedule_rows() -> list[tuple]:
    return list(Schedule.objects.order_by("name").values_list("name", "cron", "repeats", "next_run"))


# --- setup_schedules ------------------------------------------------------------------------


def test_setup_schedules_creates_then_reports_unchanged(db):
    out, err = run("setup_schedules")
    assert out == "".join(f"{job_id}: created\n" for job_id in JOB_IDS)
    assert err == ""
    rows = schedule_rows()

    out, err = run("setup_schedules")

    assert out == "".join(f"{job_id}: unchanged\n" for job_id in JOB_IDS)
    assert Schedule.objects.count() == 6
    assert schedule_rows() == rows
    assert dict(Schedule.objects.values_list("name", "cron")) == {
        "daily_verses_generation": "0 6 * * *",
        "cache_cleanup": "0 2 * * *",
        "user_stats_update": "0 0 * * *",
        "deliver_verses": "*/15 * * * *",
        "daily_verses_review": "0 18 * * *",
        "deliver_campaigns": "*/15 * * * *",
    }


def test_setup_schedules_repairs_a_drifted_cron(schedules):
    Schedule.objects.filter(name="cache_cleanup").update(cron="*/5 * * * *")
    out, _ = run("setup_schedules")
    assert out == (
        "daily_verses_generation: unchanged\ncache_cleanup: updated\nuser_stats_update: unchanged\n"
        "deliver_verses: unchanged\ndaily_verses_review: unchanged\ndeliver_campaigns: unchanged\n"
    )
    assert Schedule.objects.get(name="cache_cleanup").cron == "0 2 * * *"


# --- scheduler ------------------------------------------------------------------------------


def test_scheduler_stop_start_and_status(schedules):
    next_runs = dict(Schedule.objects.values_list("name", "next_run"))

    out, _ = run("scheduler", "stop")
    lines = out.splitlines()
    assert lines[0] == "scheduler: stopped; clusters alive: 0; running: False"
    assert len(lines) == 7
    assert [line.split()[0] for line in lines[1:]] == JOB_IDS
    assert all("(paused) last run: never" in line for line in lines[1:])
    assert list(Schedule.objects.values_list("repeats", flat=True)) == [0] * 6

    out, _ = run("scheduler", "status")
    assert out.splitlines()[0] == "scheduler: stopped; clusters alive: 0; running: False"
    assert list(Schedule.objects.values_list("repeats", flat=True)) == [0] * 6

    out, _ = run("scheduler", "start")
    lines = out.splitlines()
    assert lines[0] == "scheduler: enabled; clusters alive: 0; running: False"
    assert not any("(paused)" in line for line in lines)
    assert list(Schedule.objects.values_list("repeats", flat=True)) == [-1] * 6
    assert [(c.changed_by, c.source, c.after["enabled"]) for c in ScheduleChange.objects.order_by("pk")] == (
        [(None, "command", False)] * 6 + [(None, "command", True)] * 6
    )

    out, _ = run("scheduler", "status")
    assert out.splitlines()[0] == "scheduler: enabled; clusters alive: 0; running: False"
    # Pausing and resuming never moves the next runs.
    assert dict(Schedule.objects.values_list("name", "next_run")) == next_runs


def test_scheduler_status_shows_the_last_run(schedules):
    run_ = JobRun.objects.create(
        job_id="cache_cleanup", trigger="command", status="succeeded", finished_at=timezone.now()
    )
    out, _ = run("scheduler", "status")
    line = next(line for line in out.splitlines() if line.split()[0] == "cache_cleanup")
    assert "0 2 * * *" in line
    assert line.endswith(f"last run: succeeded at {run_.started_at.astimezone(datetime.UTC).isoformat()}")


def test_scheduler_status_json(schedules):
    out, _ = run("scheduler", "status", "--json")
    body = json.loads(out)
    assert body["jobs_count"] == 6
    assert (body["enabled"], body["running"], body["timezone"]) == (True, False, "Africa/Lome")
    assert [job["id"] for job in body["jobs"]] == JOB_IDS
    assert [job["enabled"] for job in body["jobs"]] == [True] * 6

    run("scheduler", "stop")
    body = json.loads(run("scheduler", "status", "--json")[0])
    assert (body["enabled"], body["jobs_count"]) == (False, 6)


def test_scheduler_rejects_an_unknown_action_and_changes_nothing(schedules):
    before = schedule_rows()
    with pytest.raises(CommandError, match="invalid choice: 'bogus'"):
        run("scheduler", "bogus")
    assert schedule_rows() == before
    assert list(Schedule.objects.values_list("repeats", flat=True)) == [-1] * 6


def test_scheduler_bogus_on_the_command_line_exits_non_zero_with_a_short_message():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "soulverse.settings_test", "COLUMNS": "80"}
    result = subprocess.run(
        [sys.executable, "manage.py", "scheduler", "bogus"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert "Traceback" not in result.stderr
    assert len(lines) == 1
    assert lines[-1].startswith("manage.py scheduler: error: argument action: invalid choice: 'bogus'")
    assert "status" in lines[-1] and "start" in lines[-1] and "stop" in lines[-1]


def test_qcluster_waits_for_an_unreachable_database_then_gives_up_with_one_line():
    # Started while PostgreSQL is down and back 20 s later, it starts: tests/test_faults.py.
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "soulverse.settings_test",
        "Q_STARTUP_DATABASE_WAIT_SECONDS": "2",
        "DATABASE_URL": "postgres://postgres@127.0.0.1:1/nowhere",
    }  # nothing listens on port 1
    result = subprocess.run(
        [sys.executable, "manage.py", "qcluster"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1
    assert output.count("event=qcluster_waiting_for_database") >= 2  # it waited, with back-off
    assert "Traceback" not in output and "Démarrage" not in output  # and no cluster started
    assert result.stderr.splitlines()[-1].startswith(
        "CommandError: the database is still unreachable after 2 s; the cluster did not start: "
    )


# --- trigger_daily_verses -------------------------------------------------------------------


def test_trigger_daily_verses_creates_the_verses_and_reports(db):
    users = UserFactory.create_batch(3)
    UserFactory(fcm_token="")  # not active: no verse

    out, err = run("trigger_daily_verses")

    run_ = JobRun.objects.get()
    assert (run_.job_id, run_.trigger, run_.status) == ("daily_verses_generation", "command", "succeeded")
    assert out.startswith(
        f"Run {run_.pk} succeeded: day={timezone.localdate().isoformat()} users_processed=3 verses_created=3 pairs=1 "
    )
    assert out.count("\n") == 1
    assert err == ""
    assert set(DailyVerse.objects.values_list("user_id", flat=True)) == {user.pk for user in users}
    assert set(DailyVerse.objects.values_list("day", flat=True)) == {timezone.localdate()}


def test_trigger_daily_verses_refuses_while_a_run_is_in_progress(db):
    UserFactory.create_batch(3)
    running = JobRun.objects.create(job_id="daily_verses_generation", trigger="schedule")

    with pytest.raises(CommandError, match="already in progress") as excinfo:
        run("trigger_daily_verses")

    assert str(running.pk) in str(excinfo.value)
    assert DailyVerse.objects.count() == 0
    assert list(JobRun.objects.values_list("pk", "status")) == [(running.pk, "running")]


def test_trigger_daily_verses_runs_the_cluster_s_chunk_function_and_fails_with_its_run(db, settings, monkeypatch):
    import verses.jobs

    settings.VERSES_ASSIGN_CHUNK_SIZE = 2
    UserFactory.create_batch(5)
    real, calls = verses.jobs.daily_verses_assign_chunk, []

    def second_chunk_fails(**kwargs):
        calls.append(kwargs)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return real(**kwargs)

    monkeypatch.setattr(verses.jobs, "daily_verses_assign_chunk", second_chunk_fails)
    with pytest.raises(CommandError, match="failed: 1 of 3 chunks failed: RuntimeError: disk full"):
        run("trigger_daily_verses")

    assert len(calls) == 3  # every chunk ran, through verses.jobs.daily_verses_chunk
    run_ = JobRun.objects.get()
    assert (run_.status, run_.counts["verses_created"], run_.counts["chunks"]) == ("failed", 3, 3)
    assert DailyVerse.objects.count() == 3
