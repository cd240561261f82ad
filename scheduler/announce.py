"""What the run lifecycle tells the outside world: one call when a run opens, one when it closes.

Metrics and webhooks hang off these two calls only, so that every path that opens or closes a
run (scheduled, manual, command, fanned out or not) is counted and announced exactly once.
Neither may break the run: a failure here is logged, not raised."""

import logging

from scheduler.metrics import job_run_observe
from scheduler.models import JobRun

logger = logging.getLogger(__name__)


def job_run_started_announce(*, run: JobRun) -> None:
    """A run was opened (call once, by whoever created it)."""


def job_run_closed_announce(*, run: JobRun) -> None:
    """A run was closed (call once, by whoever closed it), with its final status and counts."""
    try:
        job_run_observe(run)
    except Exception:
        logger.exception("event=job_run_metrics_failed job=%s run=%s", run.job_id, run.pk.hex[:8])
