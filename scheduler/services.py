"""Writes of the scheduler: schedules, start/stop, job runs and their history."""

import datetime
import logging
import time
import traceback
from collections.abc import Callable

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django_q.conf import Conf
from django_q.models import Schedule
from django_q.tasks import async_task

from scheduler.announce import job_run_closed_announce, job_run_started_announce
from scheduler.guards import TASK_FUNC, schedule_registry_fields
from scheduler.models import JobChunk, JobRun, ScheduleChange
from scheduler.plan import FanOut
from scheduler.registry import JOBS, job_get
from scheduler.signals import schedule_updated, scheduler_switched
from soulverse.db import db_retry
from soulverse.logs import log_context, log_context_update

logger = logging.getLogger(__name__)


# --- Schedules ------------------------------------------------------------------------------


@transaction.atomic
def schedules_setup() -> list[tuple[str, str]]:
    """Create or update the Schedule row of every registered job; safe on every deploy.

    A stopped scheduler stays stopped: `repeats` of an existing row is kept; so does a cron an
    operator set (the last one in the audit trail), over the registry's default.
    Returns (job id, "created" | "updated" | "unchanged") pairs.
    """
    results = []
    for job in JOBS:
        last_change = ScheduleChange.objects.filter(job_id=job.id).order_by("-changed_at", "-pk").first()
        cron = last_change.after["cron"] if last_change else job.cron
        schedule = Schedule.objects.select_for_update().filter(name=job.id).first()
        if schedule is None:
            schedule = Schedule(name=job.id, repeats=-1)
            action = "created"
        else:
            action = "unchanged"
        wanted = {**schedule_registry_fields(job.id), "cron": cron}
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


class ScheduleMissing(Exception):
    """The job has no Schedule row (setup_schedules has not run)."""


def _schedule_state(schedule: Schedule) -> dict:
    return {"cron": schedule.cron, "enabled": schedule.repeats != 0}


@transaction.atomic
def job_schedule_update(
    *, job_id: str, changed_by, source: str, cron: str | None = None, enabled: bool | None = None
) -> tuple[Schedule, ScheduleChange | None]:
    """Change a job's cron and/or enabled flag, recompute next_run, and record the change (audit
    trail, `schedule.updated` webhook). A request that changes nothing records nothing."""
    job_get(job_id)
    schedule = Schedule.objects.select_for_update().filter(name=job_id).first()
    if schedule is None:
        raise ScheduleMissing(job_id)
    before = _schedule_state(schedule)
    if cron is not None:
        schedule.cron = cron
    if enabled is not None:
        schedule.repeats = -1 if enabled else 0
    after = _schedule_state(schedule)
    if after == before:
        return schedule, None
    if after["cron"] != before["cron"]:
        schedule_next_run_refresh(schedule)
    schedule.save()
    change = job_schedule_change_record(job_id=job_id, changed_by=changed_by, source=source, before=before, after=after)
    return schedule, change


def job_schedule_change_record(*, job_id: str, changed_by, source: str, before: dict, after: dict) -> ScheduleChange:
    """Add a change to the audit trail and announce it (`schedule.updated`)."""
    change = ScheduleChange.objects.create(
        job_id=job_id, changed_by=changed_by, source=source, before=before, after=after
    )
    logger.info("event=schedule_updated job=%s source=%s fields=%s", job_id, source, ",".join(change.changed_fields))
    schedule_updated.send(
        sender=ScheduleChange,
        job_id=job_id,
        before=before,
        after=after,
        source=source,
        changed_by=changed_by,
        changed_at=change.changed_at,
    )
    return change


def _job_schedules():
    return Schedule.objects.filter(name__in=[job.id for job in JOBS])


@transaction.atomic
def _job_schedules_switch(*, enabled: bool, changed_by, source: str) -> tuple[int, int]:
    """Pause or resume every job's schedule, each one whose state changes recorded in the audit
    trail like a PATCH of `enabled`. Returns (schedules, changed)."""
    schedules = list(_job_schedules().select_for_update().order_by("name"))
    changed = 0
    for schedule in schedules:
        before = _schedule_state(schedule)
        if before["enabled"] == enabled:
            continue
        schedule.repeats = -1 if enabled else 0  # django-q2 skips repeats=0 rows
        Schedule.objects.filter(pk=schedule.pk).update(repeats=schedule.repeats)
        job_schedule_change_record(
            job_id=schedule.name, changed_by=changed_by, source=source, before=before, after=_schedule_state(schedule)
        )
        changed += 1
    return len(schedules), changed


def scheduler_stop(*, changed_by, source: str) -> int:
    """Pause the four schedules; idempotent. Each paused job gets an audit row (`changed_by`,
    `source`). Returns how many schedules exist (0: setup_schedules has not run)."""
    count, changed = _job_schedules_switch(enabled=False, changed_by=changed_by, source=source)
    logger.info("event=scheduler_stopped schedules=%s changed=%s source=%s", count, changed, source)
    if changed:
        scheduler_switched.send(sender=Schedule, enabled=False, schedules=count)
    return count


def scheduler_start(*, changed_by, source: str) -> int:
    """Resume the schedules, those paused one by one through the API too; each resumed job gets an
    audit row. A slot missed while stopped fires once: next_run is untouched, and a cron schedule
    computes its next run from now, so there is never a burst."""
    count, changed = _job_schedules_switch(enabled=True, changed_by=changed_by, source=source)
    logger.info("event=scheduler_started schedules=%s changed=%s source=%s", count, changed, source)
    if changed:
        scheduler_switched.send(sender=Schedule, enabled=True, schedules=count)
    return count


# --- Job runs -------------------------------------------------------------------------------


def _stale_before() -> datetime.datetime:
    # A run still "running" after the cluster's task timeout has been killed with its worker.
    return timezone.now() - datetime.timedelta(seconds=Conf.TIMEOUT or 3600)


def job_run_claim(*, job_id: str, trigger: str, params: dict | None = None) -> tuple[JobRun, bool]:
    """Open a run of `job_id` (its function will get `params` as keyword arguments), or return
    the one in progress: (run, created)."""
    job_get(job_id)
    for _ in range(3):
        try:
            with transaction.atomic():
                run = JobRun.objects.create(job_id=job_id, trigger=trigger, params=params or {})
            job_run_started_announce(run=run)
            return run, True
        except IntegrityError:
            running = JobRun.objects.filter(job_id=job_id, status=JobRun.Status.RUNNING).first()
            if running is None:
                continue  # it finished in between: try again
            if running.started_at >= _stale_before():
                return running, False
            abandoned = JobRun.objects.filter(pk=running.pk, status=JobRun.Status.RUNNING).update(
                status=JobRun.Status.FAILED,
                finished_at=timezone.now(),
                error="Abandoned: still running after the task timeout (worker killed?).",
            )
            logger.warning("event=job_run_abandoned job=%s run=%s", job_id, running.pk.hex[:8])
            if abandoned:
                running.refresh_from_db()
                job_run_closed_announce(run=running)
    raise RuntimeError(f"could not open a run of {job_id}")


class QueryCounter:
    """Counts the database queries of a block (stored in the run's counts as `db_queries`)."""

    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def _error_text(exc: BaseException) -> str:
    return "".join(traceback.format_exception_only(exc)).strip()


def job_run_execute(*, run: JobRun, dispatch: bool = True) -> JobRun:
    """Run the job of an open run and record its outcome; re-raises the job's exception.

    A job that returns a FanOut plan leaves its run open: its chunks are stored, then handed
    to the cluster (`dispatch=False`: left for the caller to run), and the last one closes the
    run. A redelivered task of a run that has chunks hands out the pending ones again."""
    with log_context(run_id=str(run.pk), job_id=run.job_id):
        return _job_run_execute(run=run, dispatch=dispatch)


def _job_run_execute(*, run: JobRun, dispatch: bool) -> JobRun:
    if run.status != JobRun.Status.RUNNING:
        return run  # a redelivered task whose run is already over
    job = job_get(run.job_id)
    if not JobChunk.objects.filter(run=run).exists():
        logger.info("event=job_started job=%s run=%s trigger=%s", job.id, run.pk.hex[:8], run.trigger)
        queries = QueryCounter()
        try:
            with connection.execute_wrapper(queries):
                counts = _job_attempt(run=run, func=job.func, queries=queries)
        except Exception as exc:
            failed = JobRun.objects.filter(pk=run.pk, status=JobRun.Status.RUNNING).update(
                status=JobRun.Status.FAILED, error=_error_text(exc), finished_at=timezone.now()
            )
            run.refresh_from_db()
            logger.exception("event=job_failed job=%s run=%s", job.id, run.pk.hex[:8])
            if failed:
                job_run_closed_announce(run=run)
            raise
        if counts is not None:
            _job_run_close(run, counts={**counts, "db_queries": queries.count})
            return run
    else:
        logger.info("event=job_resumed job=%s run=%s", job.id, run.pk.hex[:8])
    if dispatch:
        job_chunks_dispatch(run=run)
    run.refresh_from_db()  # its chunks may have closed it already
    return run


@db_retry("job_db_retry")
def _job_attempt(*, run: JobRun, func: str, queries: QueryCounter) -> dict | None:
    """Call the job's function: its counts, or None once its plan's chunks are stored.

    Retried after a lost database (jobs are idempotent); an attempt whose chunks were stored
    before the connection went is not repeated."""
    if JobChunk.objects.filter(run=run).exists():
        return None
    result = import_string(func)(**run.params)
    if not isinstance(result, FanOut):
        return result
    with transaction.atomic():
        created = JobChunk.objects.bulk_create(
            [
                JobChunk(run=run, index=index, func=result.func, kwargs=kwargs)
                for index, kwargs in enumerate(result.chunks)
            ]
        )
        # The job's counts (and its queries) are on the run before any chunk can close it.
        JobRun.objects.filter(pk=run.pk).update(counts={**result.counts, "db_queries": queries.count})
    logger.info("event=job_chunks_stored job=%s run=%s chunks=%s", run.job_id, run.pk.hex[:8], len(created))
    return None


def _job_run_close(run: JobRun, *, counts: dict) -> None:
    run.status, run.counts, run.finished_at = JobRun.Status.SUCCEEDED, counts, timezone.now()
    run.save(update_fields=["status", "counts", "finished_at"])
    logger.info("event=job_succeeded job=%s run=%s duration=%s", run.job_id, run.pk.hex[:8], run.duration_seconds)
    job_run_closed_announce(run=run)
    _job_on_success(run)


def _job_on_success(run: JobRun) -> None:
    job = job_get(run.job_id)
    if not job.on_success:
        return
    try:
        import_string(job.on_success)(run.counts)
    except Exception:  # the run's work is done and recorded; a follow-up must not undo that
        logger.exception("event=job_on_success_failed job=%s run=%s", job.id, run.pk.hex[:8])


# --- Fan-out: chunk tasks -------------------------------------------------------------------

CHUNK_TASK_FUNC = "scheduler.tasks.job_chunk_run"


def job_chunks_dispatch(*, run: JobRun) -> None:
    """Hand the run's pending chunks to the cluster (a done chunk is skipped if its task runs
    again), or close the run if none is pending."""
    pending = job_chunk_ids_pending(run=run)
    if not pending:
        job_run_complete_if_done(run_id=run.pk)
    for chunk_id in pending:
        transaction.on_commit(lambda pk=chunk_id: _chunk_enqueue(chunk_id=pk, job_id=run.job_id))


def job_chunk_ids_pending(*, run: JobRun) -> list[int]:
    return list(run.chunks.filter(status=JobChunk.Status.PENDING).order_by("index").values_list("pk", flat=True))


@db_retry("chunk_enqueue_retry")
def _chunk_enqueue(*, chunk_id: int, job_id: str) -> None:
    # The ORM broker's queue is a table: without the retry, an outage while a run hands out its
    # chunks would leave the rest unqueued until the parent task is redelivered (Q_RETRY later).
    async_task(CHUNK_TASK_FUNC, chunk_id, group=f"{job_id}:chunks")


@db_retry("chunk_db_retry")
def _chunk_run_once(chunk_id: int) -> JobChunk | None:
    """Run a pending chunk and mark it done in one transaction; None if it was done already.

    A chunk function marked `own_transactions` (scheduler.plan) is called after that transaction
    instead, and the chunk is marked done in a second one."""
    with transaction.atomic():
        # of=("self",): JobChunk's default ordering joins its run, and FOR UPDATE would lock the
        # run's row too, making every chunk of the run wait for the one in progress.
        chunk = (
            JobChunk.objects.select_for_update(of=("self",))
            .select_related("run")
            .filter(pk=chunk_id)
            .order_by("pk")
            .first()
        )
        if chunk is None or chunk.status != JobChunk.Status.PENDING:
            return None
        log_context_update(run_id=str(chunk.run_id), job_id=chunk.run.job_id)
        func = import_string(chunk.func)
        if not getattr(func, "own_transactions", False):
            return _chunk_done(chunk, _chunk_call(func, chunk.kwargs))
    counts = _chunk_call(func, {**chunk.kwargs, "chunk_id": chunk.pk})
    return db_retry("chunk_db_retry")(_chunk_done_if_pending)(chunk, counts)


def _chunk_call(func: Callable[..., dict], kwargs: dict) -> dict:
    queries = QueryCounter()
    with connection.execute_wrapper(queries):
        counts = func(**kwargs)
    return {**counts, "db_queries": queries.count}


def _chunk_done(chunk: JobChunk, counts: dict) -> JobChunk:
    chunk.status, chunk.counts = JobChunk.Status.SUCCEEDED, counts
    chunk.attempts += 1
    chunk.finished_at = timezone.now()
    chunk.save(update_fields=["status", "counts", "attempts", "finished_at"])
    return chunk


@transaction.atomic
def _chunk_done_if_pending(chunk: JobChunk, counts: dict) -> JobChunk | None:
    locked = (
        JobChunk.objects.select_for_update(of=("self",))
        .filter(pk=chunk.pk, status=JobChunk.Status.PENDING)
        .order_by("pk")
        .first()
    )
    return _chunk_done(locked, counts) if locked is not None else None


def job_chunk_execute(*, chunk_id: int) -> None:
    """Run one chunk (idempotent: a done chunk is skipped), then close the run if it was the last.

    Database outages are retried with back-off for up to two minutes. A failure is recorded on
    the chunk and its run (the run history is the source of truth), not raised."""
    with log_context(chunk_id=chunk_id):
        _job_chunk_execute(chunk_id=chunk_id)


def _job_chunk_execute(*, chunk_id: int) -> None:
    try:
        chunk = _chunk_run_once(chunk_id)
    except Exception as exc:
        JobChunk.objects.filter(pk=chunk_id, status=JobChunk.Status.PENDING).update(
            status=JobChunk.Status.FAILED, error=_error_text(exc), finished_at=timezone.now()
        )
        logger.exception("event=chunk_failed chunk=%s", chunk_id)
        chunk = JobChunk.objects.filter(pk=chunk_id).first()
    if chunk is not None:
        job_run_complete_if_done(run_id=chunk.run_id)


def job_run_here(*, run: JobRun, progress: Callable[[int, int], None] | None = None) -> JobRun:
    """Do an open run in this process (commands): the job, then its chunks one after another
    through the chunk function the cluster runs; `progress(done, total)` after each chunk."""
    job_run_execute(run=run, dispatch=False)
    pending = job_chunk_ids_pending(run=run) if run.status == JobRun.Status.RUNNING else []
    for done, chunk_id in enumerate(pending, start=1):
        job_chunk_execute(chunk_id=chunk_id)
        if progress:
            progress(done, len(pending))
    if run.status == JobRun.Status.RUNNING and not pending:
        job_run_complete_if_done(run_id=run.pk)
    run.refresh_from_db()
    return run


def job_run_complete_if_done(*, run_id) -> bool:
    """Close a fanned-out run once none of its chunks is pending: counts summed over the chunks,
    `succeeded` only if all succeeded. Safe when several last chunks finish together."""
    if JobChunk.objects.filter(run_id=run_id, status=JobChunk.Status.PENDING).exists():
        return False
    run = JobRun.objects.get(pk=run_id)
    chunks = list(JobChunk.objects.filter(run_id=run_id).values("status", "counts", "error"))
    counts = dict(run.counts)
    for chunk in chunks:
        for key, value in chunk["counts"].items():
            if isinstance(value, int | float):
                counts[key] = counts.get(key, 0) + value
    failed = [chunk for chunk in chunks if chunk["status"] == JobChunk.Status.FAILED]
    finished_at = timezone.now()
    counts["chunks"] = len(chunks)
    counts["duration_seconds"] = round((finished_at - run.started_at).total_seconds(), 3)
    closed = JobRun.objects.filter(pk=run_id, status=JobRun.Status.RUNNING).update(
        status=JobRun.Status.FAILED if failed else JobRun.Status.SUCCEEDED,
        counts=counts,
        finished_at=finished_at,
        error=f"{len(failed)} of {len(chunks)} chunks failed: {failed[0]['error']}" if failed else "",
    )
    if closed:
        logger.info(
            "event=job_%s job=%s run=%s chunks=%s duration=%s",
            "failed" if failed else "succeeded",
            run.job_id,
            run.pk.hex[:8],
            len(chunks),
            counts["duration_seconds"],
        )
        run.refresh_from_db()
        job_run_closed_announce(run=run)
        if not failed:
            _job_on_success(run)
    return bool(closed)


def job_run_enqueue(*, job_id: str, trigger: str, params: dict | None = None) -> tuple[JobRun, bool]:
    """Open a run and hand it to the cluster, or return the run already in progress."""
    run, created = job_run_claim(job_id=job_id, trigger=trigger, params=params)
    if created:
        transaction.on_commit(lambda: async_task(TASK_FUNC, job_id, trigger=trigger, run_id=str(run.pk), group=job_id))
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
