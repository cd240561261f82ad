"""Writes of the scheduler: schedules, start/stop, job runs and their history."""

import datetime
import logging
import time
import traceback
from collections.abc import Callable

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django_q.conf import Conf
from django_q.models import Schedule
from django_q.tasks import async_task

from scheduler.models import JobRun
from scheduler.registry import JOBS, job_get

logger = logging.getLogger(__name__)

TASK_FUNC = "scheduler.tasks.job_run"


# --- Schedules ------------------------------------------------------------------------------

@transaction.atomic
def schedules_setup() -> list[tuple[str, str]]:
    """Create or update the Schedule row of every registered job; safe on every deploy.

    A stopped scheduler stays stopped: `repeats` of an existing row is kept.
    Returns (job id, "created" | "updated" | "unchanged") pairs.
    """
    results = []
    for job in JOBS:
        schedule = Schedule.objects.select_for_update().filter(name=job.id).first()
        if schedule is None:
            schedule = Schedule(name=job.id, repeats=-1)
            action = "created"
        else:
            action = "unchanged"
        wanted = {"func": TASK_FUNC, "args": repr(job.id), "kwargs": "trigger='schedule'",
                  "schedule_type": Schedule.CRON, "cron": job.cron}
        if action == "unchanged" and any(getattr(schedule, k) != v for k, v in wanted.items()):
            action = "updated"
        for field, value in wanted.items():
            setattr(schedule, field, value)
        schedule.next_run = schedule.calculate_next_run()
        schedule.save()
        results.append((job.id, action))
    return results


def schedule_next_run_refresh(schedule: Schedule) -> None:
    """django-q2 does not recompute next_run when a cron changes; do it before saving."""
    if schedule.schedule_type == Schedule.CRON and schedule.cron:
        schedule.next_run = schedule.calculate_next_run()


def _job_schedules():
    return Schedule.objects.filter(name__in=[job.id for job in JOBS])


def scheduler_stop() -> int:
    """Pause the three schedules (repeats=0 rows are skipped by django-q2); idempotent.
    Returns how many schedules exist (0: setup_schedules has not run)."""
    count = _job_schedules().update(repeats=0)
    logger.info("event=scheduler_stopped schedules=%s", count)
    return count


def scheduler_start() -> int:
    """Resume the schedules. A slot missed while stopped fires once: next_run is untouched,
    and a cron schedule computes its next run from now, so there is never a burst."""
    count = _job_schedules().update(repeats=-1)
    logger.info("event=scheduler_started schedules=%s", count)
    return count


# --- Job runs -------------------------------------------------------------------------------

def _stale_before() -> datetime.datetime:
    # A run still "running" after the cluster's task timeout has been killed with its worker.
    return timezone.now() - datetime.timedelta(seconds=Conf.TIMEOUT or 3600)


def job_run_claim(*, job_id: str, trigger: str) -> tuple[JobRun, bool]:
    """Open a run of `job_id`, or return the one in progress: (run, created)."""
    job_get(job_id)
    for _ in range(3):
        try:
            with transaction.atomic():
                return JobRun.objects.create(job_id=job_id, trigger=trigger), True
        except IntegrityError:
            running = JobRun.objects.filter(job_id=job_id, status=JobRun.Status.RUNNING).first()
            if running is None:
                continue  # it finished in between: try again
            if running.started_at >= _stale_before():
                return running, False
            JobRun.objects.filter(pk=running.pk, status=JobRun.Status.RUNNING).update(
                status=JobRun.Status.FAILED, finished_at=timezone.now(),
                error="Abandoned: still running after the task timeout (worker killed?).",
            )
            logger.warning("event=job_run_abandoned job=%s run=%s", job_id, running.pk.hex[:8])
    raise RuntimeError(f"could not open a run of {job_id}")


def job_run_execute(*, run: JobRun, progress: Callable[[int, int], None] | None = None) -> JobRun:
    """Run the job of an open run and record its outcome; re-raises the job's exception."""
    if run.status != JobRun.Status.RUNNING:
        return run  # a redelivered task whose run is already over
    job = job_get(run.job_id)
    logger.info("event=job_started job=%s run=%s trigger=%s", job.id, run.pk.hex[:8], run.trigger)
    try:
        counts = import_string(job.func)(progress=progress)
    except Exception as exc:
        run.status, run.error = JobRun.Status.FAILED, "".join(traceback.format_exception_only(exc)).strip()
        run.finished_at = timezone.now()
        run.save(update_fields=["status", "error", "finished_at"])
        logger.exception("event=job_failed job=%s run=%s", job.id, run.pk.hex[:8])
        raise
    run.status, run.counts, run.finished_at = JobRun.Status.SUCCEEDED, counts, timezone.now()
    run.save(update_fields=["status", "counts", "finished_at"])
    logger.info("event=job_succeeded job=%s run=%s duration=%s", job.id, run.pk.hex[:8], run.duration_seconds)
    return run


def job_run_enqueue(*, job_id: str, trigger: str) -> tuple[JobRun, bool]:
    """Open a run and hand it to the cluster, or return the run already in progress."""
    run, created = job_run_claim(job_id=job_id, trigger=trigger)
    if created:
        transaction.on_commit(
            lambda: async_task(TASK_FUNC, job_id, trigger=trigger, run_id=str(run.pk), group=job_id)
        )
    return run, created


def job_run_wait(run: JobRun, *, timeout: float, poll: float = 0.25) -> JobRun:
    """Wait until `run` is over or `timeout` seconds have passed; return its latest state."""
    deadline = time.monotonic() + timeout
    while run.status == JobRun.Status.RUNNING and time.monotonic() < deadline:
        time.sleep(poll)
        run.refresh_from_db()
    return run


def job_runs_purge(*, before: datetime.datetime) -> int:
    """Delete finished runs that started before `before`."""
    deleted, _ = JobRun.objects.filter(started_at__lt=before).exclude(status=JobRun.Status.RUNNING).delete()
    return deleted


def retention_cutoff() -> datetime.datetime:
    return timezone.now() - datetime.timedelta(days=settings.SCHEDULER_RETENTION_DAYS)
