"""Heartbeats in healthchecks.io's protocol (JOB_HEARTBEAT_URLS), received by a real local HTTP
server: `/start` when a run opens, the URL itself when it succeeds, `/fail` when it fails."""

import json
import logging

import pytest
from django.core import checks

from scheduler.heartbeat import heartbeat_url
from scheduler.models import JobRun
from scheduler.tests.runs import job_run_through_tasks
from soulverse.testing.http_recorder import HttpRecorder

pytestmark = pytest.mark.django_db
JOB = "user_stats_update"


@pytest.fixture
def monitor(settings):
    with HttpRecorder() as server:
        settings.JOB_HEARTBEAT_URLS = {JOB: f"{server.url}/ping/3f1c2a9e-stats"}
        settings.JOB_HEARTBEAT_TIMEOUT_SECONDS = 2.0
        yield server


def pings(server: HttpRecorder) -> list[tuple[str, str, list[str]]]:
    return [(r.method, r.path, r.query.get("rid", [])) for r in server.requests()]


def test_a_run_that_succeeds_pings_start_then_success_with_its_counts(monitor):
    run = job_run_through_tasks(JOB)

    assert run.status == JobRun.Status.SUCCEEDED
    assert pings(monitor) == [
        ("POST", "/ping/3f1c2a9e-stats/start", [str(run.pk)]),
        ("POST", "/ping/3f1c2a9e-stats", [str(run.pk)]),
    ]
    start, success = monitor.requests()
    assert start.body == b""
    assert json.loads(success.body) == run.counts
    assert success.headers["user-agent"] == "soulverse-scheduler"


def test_a_run_that_fails_pings_fail_with_its_error(monitor, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("the statistics query exploded")

    monkeypatch.setattr("console.jobs.user_stats_update", broken)
    with pytest.raises(RuntimeError):
        job_run_through_tasks(JOB)

    run = JobRun.objects.get(job_id=JOB)
    assert run.status == JobRun.Status.FAILED
    assert pings(monitor) == [
        ("POST", "/ping/3f1c2a9e-stats/start", [str(run.pk)]),
        ("POST", "/ping/3f1c2a9e-stats/fail", [str(run.pk)]),
    ]
    assert monitor.requests()[1].body == b"RuntimeError: the statistics query exploded"


def test_a_job_without_a_url_pings_nothing(monitor):
    run = job_run_through_tasks("cache_cleanup")

    assert run.status == JobRun.Status.SUCCEEDED
    assert monitor.requests() == []


@pytest.mark.parametrize("trouble", ["error_status", "unreachable", "too_slow"])
def test_a_monitor_in_trouble_is_logged_and_never_fails_the_run(monitor, settings, caplog, trouble):
    if trouble == "error_status":
        monitor.status = 500
        why = "status=500"
    elif trouble == "unreachable":
        settings.JOB_HEARTBEAT_URLS = {JOB: "http://127.0.0.1:9/ping/x"}  # discard port: nothing listens
        why = "error=URLError"
    else:
        monitor.delay = 1.0
        settings.JOB_HEARTBEAT_TIMEOUT_SECONDS = 0.2
        why = "error=TimeoutError"
    caplog.set_level(logging.INFO, logger="scheduler.heartbeat")

    run = job_run_through_tasks(JOB)

    assert run.status == JobRun.Status.SUCCEEDED
    failures = [r.getMessage() for r in caplog.records if r.getMessage().startswith("event=heartbeat_failed")]
    assert failures == [
        f"event=heartbeat_failed job={JOB} ping=start {why}",
        f"event=heartbeat_failed job={JOB} ping=success {why}",
    ]
    assert all(r.levelno == logging.WARNING for r in caplog.records if "heartbeat_failed" in r.getMessage())


def test_the_url_keeps_its_query_and_gets_the_run_id():
    assert (
        heartbeat_url("https://hc-ping.com/abc/", event="start", run_id="r1") == "https://hc-ping.com/abc/start?rid=r1"
    )
    assert heartbeat_url("https://hc.example.org/ping/k/daily?create=1", event="fail", run_id="r2") == (
        "https://hc.example.org/ping/k/daily/fail?create=1&rid=r2"
    )
    assert heartbeat_url("https://hc-ping.com/abc", event="success", run_id="r3") == "https://hc-ping.com/abc?rid=r3"


def test_a_heartbeat_for_no_job_or_no_http_url_is_refused(settings):
    settings.JOB_HEARTBEAT_URLS = {
        "daily_verse": "https://hc-ping.com/a",
        "deliver_verses": "ftp://hc-ping.com/b",
        "cache_cleanup": "https://hc-ping.com/c",
    }

    errors = [(e.id, e.msg) for e in checks.run_checks(tags=["soulverse"])]

    assert errors == [
        (
            "soulverse.E010",
            "JOB_HEARTBEAT_URLS: 'daily_verse' is no job (known: daily_verses_generation, "
            "cache_cleanup, user_stats_update, deliver_verses, daily_verses_review, deliver_campaigns).",
        ),
        ("soulverse.E011", "JOB_HEARTBEAT_URLS: the URL of 'deliver_verses' is not an http(s) URL."),
    ]
