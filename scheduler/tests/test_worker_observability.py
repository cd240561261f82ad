"""What a real qcluster worker tells the outside: heartbeats where runs open and close, JSON log
lines carrying the run (and chunk) they belong to, and a failed run's exception at Sentry (a local
HTTP server posing as the heartbeat monitor and as Sentry's ingest endpoint)."""

import json

import pytest
from django_q.tasks import async_task

from scheduler.models import JobRun
from scheduler.services import TASK_FUNC, job_run_claim
from scheduler.tests.clusters import qcluster_running, wait_until
from soulverse.testing.http_recorder import HttpRecorder
from users.tests.factories import UserFactory

pytestmark = [pytest.mark.cluster, pytest.mark.django_db(transaction=True)]
JOB = "daily_verses_generation"


def test_a_worker_pings_logs_json_with_the_run_id_and_reports_a_failed_run_to_sentry(tmp_path):
    UserFactory.create_batch(3)
    with HttpRecorder() as outside:
        env = {
            "TEST_JOB_HEARTBEAT_URLS": f"{JOB}={outside.url}/ping/daily",
            "LOG_FORMAT": "json",
            "TEST_SENTRY_DSN": outside.url.replace("http://", "http://public-key@") + "/1",
        }
        with qcluster_running(tmp_path, env):
            # As its schedule fires it: the worker opens the run.
            async_task(TASK_FUNC, JOB, group=JOB)
            wait_until(lambda: JobRun.objects.filter(job_id=JOB, status="succeeded").exists(), 90, "the run", tmp_path)
            succeeded = JobRun.objects.get(job_id=JOB)
            outside.wait_for(lambda got: len([r for r in got if r.path.startswith("/ping/")]) == 2)

            # A run its job cannot do (an argument it does not take), handed to the worker.
            failing, _ = job_run_claim(job_id=JOB, trigger=JobRun.Trigger.MANUAL, params={"no_such_argument": 1})
            async_task(TASK_FUNC, JOB, trigger=JobRun.Trigger.MANUAL, run_id=str(failing.pk), group=JOB)
            wait_until(
                lambda: JobRun.objects.filter(pk=failing.pk, status="failed").exists(), 60, "the failure", tmp_path
            )
            outside.wait_for(
                lambda got: (
                    any(r.path == "/ping/daily/fail" for r in got)
                    and any(b"TypeError" in r.body for r in got if r.path.endswith("/envelope/"))
                )
            )
        received = outside.requests()  # the cluster stopped: whatever its workers had to send is sent

    pings = [(r.path, r.query["rid"]) for r in received if r.path.startswith("/ping/")]
    assert pings == [
        ("/ping/daily/start", [str(succeeded.pk)]),
        ("/ping/daily", [str(succeeded.pk)]),
        ("/ping/daily/fail", [str(failing.pk)]),
    ]  # the failing run was opened here, not by the worker

    # One event for the failure: the scheduler's, with its traceback (django-q's own line about the
    # same task is not sent again).
    [event] = [item for r in received if r.path == "/api/1/envelope/" for item in r.sentry_items() if "level" in item]
    assert (event["logger"], event["level"]) == ("scheduler.services", "error")
    assert event["tags"]["run_id"] == str(failing.pk) and event["tags"]["job_id"] == JOB
    assert event["exception"]["values"][-1]["type"] == "TypeError"
    assert "no_such_argument" in event["exception"]["values"][-1]["value"]

    raw = (tmp_path / "qcluster.log").read_text().splitlines()
    assert [line for line in raw if not line.startswith("{")] == []  # the cluster's own lines are JSON too
    lines = [json.loads(line) for line in raw]
    by_message = {line["message"].split(" ")[0]: line for line in lines if line.get("run_id") == str(succeeded.pk)}
    assert by_message["event=job_started"]["job_id"] == JOB
    chunk_closing = by_message["event=job_succeeded"]  # the last chunk closes the run
    assert chunk_closing["job_id"] == JOB and isinstance(chunk_closing["chunk_id"], int)
    [failed_line] = [line for line in lines if line["message"].startswith("event=job_failed")]
    assert (failed_line["run_id"], failed_line["level"]) == (str(failing.pk), "ERROR")
    assert "TypeError" in failed_line["exc_info"]
