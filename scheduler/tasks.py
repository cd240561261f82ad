"""django-q2 task functions: thin wrappers that call scheduler services."""

import logging

from scheduler.models import JobRun
from scheduler.services import job_chunk_execute, job_run_claim, job_run_execute
from scheduler.watchdog import job_chunk_lease_take, job_run_lease_take, leases_taken

logger = logging.getLogger(__name__)


def job_run(job_id: str, trigger: str = JobRun.Trigger.SCHEDULE, run_id: str | None = None) -> dict:
    """Run a registered job. Schedules call it with the job id; manual triggers pass the run
    they opened. A fire while a run of the same job is in progress joins nothing and returns."""
    if run_id:
        run = JobRun.objects.get(pk=run_id)
    else:
        run, created = job_run_claim(job_id=job_id, trigger=trigger)
        if not created:
            return {"skipped": True, "running_run_id": str(run.pk)}
    if leases_taken():
        job_run_lease_take(run=run)
    run = job_run_execute(run=run)
    return {"run_id": str(run.pk), "status": run.status, **run.counts}


def job_chunk_run(chunk_id: int) -> None:
    """One chunk of a run whose job returned a plan; a redelivered or repeated chunk does nothing."""
    if leases_taken() and not job_chunk_lease_take(chunk_id=chunk_id):
        logger.info("event=chunk_not_taken chunk=%s reason=done_or_held_by_a_live_worker", chunk_id)
        return
    job_chunk_execute(chunk_id=chunk_id)
