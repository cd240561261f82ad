"""What the run lifecycle tells the outside world: one call when a run opens, one when it closes.

Metrics, heartbeats and the listeners of scheduler.signals (webhooks) hang off these two calls only, so that every path that opens or
closes a run (scheduled, manual, command, fanned out or not) is counted and announced exactly once.
Neither may break the run: a failure here is logged, not raised."""

import datetime
import logging

from scheduler.heartbeat import job_run_heartbeat
from scheduler.metrics import job_run_observe
from scheduler.models import JobRun
from scheduler.signals import run_closed, run_started

logger = logging.getLogger(__name__)


def _iso(value: datetime.datetime | None) -> str | None:
    return value.astimezone(datetime.UTC).isoformat() if value else None


def job_run_payload(run: JobRun) -> dict:
    """The run as listeners carry it outside (webhooks: the fields of the API's run)."""
    return {
        "id": str(run.pk),
        "job_id": run.job_id,
        "trigger": run.trigger,
        "status": run.status,
        "started_at": _iso(run.started_at),
        "finished_at": _iso(run.finished_at),
        "duration_seconds": run.duration_seconds,
        "counts": run.counts,
        "error": run.error,
    }


def job_run_started_announce(*, run: JobRun) -> None:
    """A run was opened (call once, by whoever created it)."""
    job_run_heartbeat(run=run, event="start")
    run_started.send(sender=JobRun, run=run)


def job_run_closed_announce(*, run: JobRun) -> None:
    """A run was closed (call once, by whoever closed it), with its final status and counts."""
    try:
        job_run_observe(run)
    except Exception:
        logger.exception("event=job_run_metrics_failed job=%s run=%s", run.job_id, run.pk.hex[:8])
    succeeded = run.status == JobRun.Status.SUCCEEDED
    job_run_heartbeat(run=run, event="success" if succeeded else "fail")
    run_closed.send(sender=JobRun, run=run)
