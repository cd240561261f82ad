"""Reads of the engine: runs, jobs and their schedules, clusters, as plain data (datetimes,
JobRun rows) that the output serializers of scheduler/serializers.py render. The status and
health over every app, and the dashboard's chart data, are the console's (console/selectors.py
and console/serializers.py)."""

import logging

from django.core.exceptions import ValidationError
from django_q.conf import Conf
from django_q.models import Schedule
from django_q.status import Stat

from scheduler.models import JobRun, ScheduleChange
from scheduler.registry import JOBS, cron_trigger_label, job_get

logger = logging.getLogger(__name__)


def job_runs(*, job_id: str | None = None):
    """Run history, newest first, optionally of one job."""
    runs = JobRun.objects.order_by("-started_at", "-pk")
    return runs.filter(job_id=job_id) if job_id else runs


def job_run_get(*, run_id: str) -> JobRun | None:
    """The run with this id, or None (also for an id that is not a UUID)."""
    try:
        return JobRun.objects.filter(pk=run_id).first()
    except ValidationError:
        return None


def cluster_state() -> dict:
    """Clusters whose heartbeat is in the cache (django-q2 keeps each for a few seconds)."""
    try:
        stats = [s for s in Stat.get_all() if s.status != Conf.STOPPED]
    except Exception:  # the stats live in the cache, which may be down
        logger.warning("event=cluster_state_unavailable", exc_info=True)
        stats = []
    heartbeats = [s.timestamp for s in stats if s.timestamp]
    return {
        "alive": bool(stats),
        "count": len(stats),
        "last_heartbeat": max(heartbeats) if heartbeats else None,
    }


def scheduler_enabled() -> bool:
    """Every job has its schedule and none is paused (as `status` reports it)."""
    return jobs_running() == len(JOBS)


def jobs_running() -> int:
    """How many registered jobs have a schedule that is not paused."""
    return Schedule.objects.filter(name__in=[job.id for job in JOBS]).exclude(repeats=0).count()


def _job_data(job, schedule: Schedule | None) -> dict:
    cron = schedule.cron if schedule else job.cron
    return {
        "id": job.id,
        "name": job.name,
        "next_run": schedule.next_run if schedule else None,
        "trigger": cron_trigger_label(cron),
        "cron": cron,
        "enabled": bool(schedule and schedule.repeats != 0),
        "last_run": JobRun.objects.filter(job_id=job.id).order_by("-started_at").first(),
    }


def scheduler_jobs() -> list[dict]:
    """The registered jobs with their schedules (as `status` and GET jobs show them)."""
    schedules = {s.name: s for s in Schedule.objects.filter(name__in=[job.id for job in JOBS])}
    return [_job_data(job, schedules.get(job.id)) for job in JOBS]


def scheduler_job(*, job_id: str) -> dict:
    """One registered job with its schedule (GET jobs/{id})."""
    job = job_get(job_id)
    return _job_data(job, Schedule.objects.filter(name=job.id).first())


def schedule_changes(*, job_id: str):
    """The audit trail of a job's schedule, newest first."""
    return ScheduleChange.objects.filter(job_id=job_id).select_related("changed_by").order_by("-changed_at", "-pk")
