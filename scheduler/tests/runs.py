"""Run jobs in tests through the path production uses: the run handed to the cluster's task
function, a plan's chunks handed out as tasks, all in this process (django-q2's sync mode)."""

import datetime
from contextlib import contextmanager
from unittest import mock

from django_q.conf import Conf

from scheduler.models import JobRun
from scheduler.registry import DAILY_VERSES_JOB_ID
from scheduler.services import job_run_enqueue


@contextmanager
def tasks_in_process():
    """Tasks run as they are enqueued, and on_commit callbacks at once (as outside a test's transaction)."""
    with (
        mock.patch.object(Conf, "SYNC", True),
        mock.patch("django.db.transaction.on_commit", lambda func, using=None, robust=False: func()),
    ):
        yield


def job_run_through_tasks(job_id: str, *, trigger: str = JobRun.Trigger.MANUAL, **params) -> JobRun:
    with tasks_in_process():
        run, created = job_run_enqueue(job_id=job_id, trigger=trigger, params=params)
    assert created, f"a run of {job_id} was already in progress"
    run.refresh_from_db()
    return run


def daily_run(day: datetime.date | None = None) -> dict:
    """The daily verses job for `day` (default: today) through job run -> chunk tasks; its counts."""
    run = job_run_through_tasks(DAILY_VERSES_JOB_ID, **({"day": day.isoformat()} if day else {}))
    assert run.status == JobRun.Status.SUCCEEDED, run.error
    return run.counts
