"""Leases and the watchdog: a run's work is never stranded by a worker that died.

A task that starts a run's job or one of its chunks takes a lease on it: its holder ("<cluster
id>:<host>:<worker pid>", read from django-q2's cluster heartbeat) and a deadline (the task
timeout). Every SCHEDULER_WATCHDOG_SECONDS each `qcluster` (scheduler's command) looks at the
running runs and hands out again what no live worker holds:

- a leased chunk whose holder is gone from every cluster's heartbeat (`Stat.get_all()`), or whose
  deadline has passed;
- an unleased pending chunk once the broker's queue is empty: it was taken from the queue by a
  cluster that died before a worker started it (the Redis broker never gives a task back, the ORM
  broker only after `retry` seconds);
- a run without chunks whose job task was lost the same ways: the task is queued again, and the
  job (idempotent) resumes;
- a run whose chunks are all done but which nothing closed: it is closed.

Handing out twice is harmless (a done chunk is skipped; a task finds a chunk whose live holder's
lease has not expired and leaves it; a chunk's row lock lets one worker at a time do it); each hand-out is claimed with a conditional UPDATE, so several clusters' watchdogs
never hand the same thing out twice.

Then the pass sends `scheduler.signals.watchdog_passed`: its listeners do their own sweep there
(webhooks hands out again the deliveries left pending without a task, claimed the same way).
"""

import datetime
import logging
import os
import socket

from django.conf import settings
from django.db import close_old_connections
from django.db.models import Q
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.conf import Conf
from django_q.status import Stat
from django_q.tasks import async_task

from scheduler.models import JobChunk, JobRun
from scheduler.services import CHUNK_TASK_FUNC, TASK_FUNC, job_run_complete_if_done
from scheduler.signals import watchdog_passed
from soulverse.memos import Memo

logger = logging.getLogger(__name__)
OUTSIDE_A_CLUSTER = "-"
_owners = Memo("watchdog.owners")  # pid -> lease owner (a reincarnated worker has a new pid)


def lease_owner() -> str:
    """This process as a lease holder: its cluster (from the heartbeat), host and pid."""
    pid = os.getpid()
    owner = _owners.get(pid)
    if owner is not None:
        return owner
    host = socket.gethostname()
    cluster_id = OUTSIDE_A_CLUSTER
    try:
        for stat in Stat.get_all():
            if stat.host == host and (stat.sentinel == os.getppid() or pid in stat.workers):
                cluster_id = str(stat.cluster_id)
    except Exception:  # the heartbeat lives in the cache or Redis, which may be down
        logger.warning("event=lease_owner_unknown", exc_info=True)
    owner = f"{cluster_id}:{host}:{pid}"
    if cluster_id != OUTSIDE_A_CLUSTER:
        _owners.set(pid, owner)
    return owner


def leases_taken() -> bool:
    """In a cluster's worker; not when a task runs in its caller's process (django-q2's sync mode)."""
    return not Conf.SYNC


def _deadline() -> datetime.datetime:
    # django-q2 kills a task after `timeout` seconds: past that the holder is not working on it.
    return timezone.now() + datetime.timedelta(seconds=(Conf.TIMEOUT or 3600) + 5)


def job_chunk_lease_take(*, chunk_id: int) -> bool:
    """Take a pending chunk's lease, unless a worker holds it whose deadline has not passed (a
    task delivered twice while its first holder works): False then, and the task leaves it. If
    that holder dies, the watchdog hands the chunk out again with its lease cleared."""
    me = lease_owner()
    now = timezone.now()
    return bool(
        JobChunk.objects.filter(pk=chunk_id, status=JobChunk.Status.PENDING)
        .filter(Q(lease_owner="") | Q(lease_owner=me) | Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .update(lease_owner=me, lease_until=_deadline())
    )


def job_run_lease_take(*, run: JobRun) -> None:
    JobRun.objects.filter(pk=run.pk, status=JobRun.Status.RUNNING).update(
        lease_owner=lease_owner(), lease_until=_deadline()
    )


def _live_workers() -> tuple[set[str], set[str]]:
    """(live worker owners, live cluster ids) from the heartbeats of every cluster."""
    workers, clusters = set(), set()
    for stat in Stat.get_all():
        if stat.status == Conf.STOPPED:
            continue
        clusters.add(str(stat.cluster_id))
        workers.update(f"{stat.cluster_id}:{stat.host}:{pid}" for pid in stat.workers)
    return workers, clusters


class _Verdict:
    """Whether a lease (owner, deadline) is held by a live worker, as far as can be told."""

    def __init__(self, *, own_cluster_id: str | None):
        self.now = timezone.now()
        try:
            self.workers, clusters = _live_workers()
            # Our own heartbeat missing means the heartbeats cannot be read (cache down): then
            # only deadlines count, or every chunk in progress would be handed out again.
            self.heartbeats = bool(clusters) and (own_cluster_id is None or own_cluster_id in clusters)
        except Exception:
            logger.warning("event=watchdog_heartbeats_unreadable", exc_info=True)
            self.workers, self.heartbeats = set(), False
        try:
            self.queue_empty = get_broker().queue_size() == 0
        except Exception:
            logger.warning("event=watchdog_queue_unreadable", exc_info=True)
            self.queue_empty = False
        self.grace = datetime.timedelta(seconds=settings.SCHEDULER_WATCHDOG_SECONDS)

    def lost(self, *, owner: str, until: datetime.datetime | None, since: datetime.datetime) -> bool:
        if owner:
            if until is not None and until < self.now:
                return True
            in_a_cluster = not owner.startswith(OUTSIDE_A_CLUSTER + ":")
            return self.heartbeats and in_a_cluster and owner not in self.workers
        # Never started: still queued, unless the queue is empty (a dead cluster had taken it).
        return self.queue_empty and (until or since + self.grace) < self.now


def _claim(model, *, pk, owner: str, until, grace: datetime.timedelta) -> bool:
    """Take the hand-out of one lost item (one watchdog wins): its lease becomes "queued, not
    lost before now + grace"."""
    return bool(
        model.objects.filter(pk=pk, lease_owner=owner, lease_until=until).update(
            lease_owner="", lease_until=timezone.now() + grace
        )
    )


def jobs_watchdog(*, own_cluster_id: str | None = None) -> dict:
    """Hand out again the running runs' work that no live worker holds; close runs left finished."""
    verdict = _Verdict(own_cluster_id=own_cluster_id)
    report = {"chunks_requeued": 0, "runs_resumed": 0, "runs_closed": 0}
    for run in JobRun.objects.filter(status=JobRun.Status.RUNNING):
        chunks = list(run.chunks.filter(status=JobChunk.Status.PENDING).values_list("pk", "lease_owner", "lease_until"))
        if not chunks:
            if run.chunks.exists():
                report["runs_closed"] += job_run_complete_if_done(run_id=run.pk)
            elif verdict.lost(owner=run.lease_owner, until=run.lease_until, since=run.started_at) and _claim(
                JobRun, pk=run.pk, owner=run.lease_owner, until=run.lease_until, grace=verdict.grace
            ):
                async_task(TASK_FUNC, run.job_id, trigger=run.trigger, run_id=str(run.pk), group=run.job_id)
                report["runs_resumed"] += 1
                logger.warning(
                    "event=job_run_requeued job=%s run=%s lost_by=%s",
                    run.job_id,
                    run.pk.hex[:8],
                    run.lease_owner or "queue",
                )
            continue
        for pk, owner, until in chunks:
            if verdict.lost(owner=owner, until=until, since=run.started_at) and _claim(
                JobChunk, pk=pk, owner=owner, until=until, grace=verdict.grace
            ):
                async_task(CHUNK_TASK_FUNC, pk, group=f"{run.job_id}:chunks")
                report["chunks_requeued"] += 1
                logger.warning(
                    "event=chunk_requeued job=%s run=%s chunk=%s lost_by=%s",
                    run.job_id,
                    run.pk.hex[:8],
                    pk,
                    owner or "queue",
                )
    if any(report.values()):
        logger.info("event=watchdog %s", " ".join(f"{k}={v}" for k, v in report.items()))
    return report


def watchdog_pass(*, own_cluster_id: str | None = None) -> None:
    """One watchdog pass from a cluster's main process: the runs' work, then the listeners of
    `watchdog_passed` (webhooks: the deliveries whose task was lost). Never raises (a database
    outage is logged; the next pass tries again)."""
    try:
        close_old_connections()
        jobs_watchdog(own_cluster_id=own_cluster_id)
    except Exception:
        logger.exception("event=watchdog_failed")
    try:
        close_old_connections()
        for receiver, result in watchdog_passed.send_robust(sender=JobRun):
            if isinstance(result, Exception):
                logger.error(
                    "event=watchdog_listener_failed listener=%s",
                    getattr(receiver, "__qualname__", receiver),
                    exc_info=(type(result), result, result.__traceback__),
                )
    finally:
        close_old_connections()
