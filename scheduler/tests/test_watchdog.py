"""The watchdog hands out again what no live worker holds (here without a cluster: deadlines and
the queue; scheduler/tests/test_faults.py kills real clusters on both brokers)."""

import datetime

import pytest
from django.conf import settings
from django.utils import timezone
from django_q.models import OrmQ
from django_q.signing import SignedPackage

from scheduler.models import JobChunk, JobRun
from scheduler.watchdog import jobs_watchdog

pytestmark = pytest.mark.django_db
AGO = datetime.timedelta(minutes=5)


def queued() -> list[tuple]:
    """(func, args) of the tasks in the ORM broker's queue."""
    tasks = [SignedPackage.loads(row.payload) for row in OrmQ.objects.order_by("id")]
    return [(task["func"], task["args"]) for task in tasks]


@pytest.fixture
def run(db):
    run = JobRun.objects.create(job_id="daily_verses_generation", trigger="schedule")
    JobRun.objects.filter(pk=run.pk).update(started_at=timezone.now() - AGO)
    run.refresh_from_db()
    return run


def chunk(run, index, **fields) -> JobChunk:
    return JobChunk.objects.create(
        run=run, index=index, func="scheduler.tests.test_watchdog.no_op_chunk", kwargs={}, **fields
    )


def no_op_chunk() -> dict:
    return {"rows": 1}


def test_a_chunk_past_its_lease_deadline_is_handed_out_again_once(run):
    now = timezone.now()
    lost = chunk(run, 0, lease_owner="c1:host:41", lease_until=now - datetime.timedelta(seconds=1))
    held = chunk(run, 1, lease_owner="c1:host:42", lease_until=now + datetime.timedelta(minutes=5))
    chunk(run, 2, status="succeeded", lease_owner="c1:host:43", lease_until=now - datetime.timedelta(seconds=1))

    report = jobs_watchdog()
    again = jobs_watchdog()  # the lost chunk is now queued: not handed out twice

    assert report == {"chunks_requeued": 1, "runs_resumed": 0, "runs_closed": 0}
    assert again == {"chunks_requeued": 0, "runs_resumed": 0, "runs_closed": 0}
    assert queued() == [("scheduler.tasks.job_chunk_run", (lost.pk,))]
    lost.refresh_from_db()
    held.refresh_from_db()
    assert (lost.lease_owner, lost.lease_until > now) == ("", True)
    assert (held.lease_owner, held.status) == ("c1:host:42", "pending")


def test_unleased_chunks_are_handed_out_again_only_once_the_queue_is_empty(run):
    first, second = chunk(run, 0), chunk(run, 1)
    # a task still queued (the queue is named after the cluster: one per xdist worker)
    OrmQ.objects.create(key=settings.Q_CLUSTER["name"], payload="x", lock=timezone.now() - AGO)

    assert jobs_watchdog()["chunks_requeued"] == 0
    OrmQ.objects.all().delete()
    assert jobs_watchdog()["chunks_requeued"] == 2
    assert sorted(args for _, args in queued()) == [(first.pk,), (second.pk,)]


def test_a_run_whose_chunks_are_done_is_closed(run):
    chunk(run, 0, status="succeeded", counts={"rows": 4})
    chunk(run, 1, status="succeeded", counts={"rows": 5})

    assert jobs_watchdog() == {"chunks_requeued": 0, "runs_resumed": 0, "runs_closed": 1}
    run.refresh_from_db()
    assert (run.status, run.counts["rows"], run.counts["chunks"]) == ("succeeded", 9, 2)


def test_a_run_whose_job_task_was_lost_is_queued_again(run):
    JobRun.objects.filter(pk=run.pk).update(lease_owner="c1:host:7", lease_until=timezone.now() - AGO)

    assert jobs_watchdog() == {"chunks_requeued": 0, "runs_resumed": 1, "runs_closed": 0}
    [(func, args)] = queued()
    assert (func, args) == ("scheduler.tasks.job_run", ("daily_verses_generation",))
    assert SignedPackage.loads(OrmQ.objects.get().payload)["kwargs"]["run_id"] == str(run.pk)


def test_a_fresh_run_and_finished_runs_are_left_alone(run):
    JobRun.objects.filter(pk=run.pk).update(started_at=timezone.now())  # its job task still queued
    done = JobRun.objects.create(job_id="cache_cleanup", trigger="manual", status="succeeded")
    chunk(done, 0)  # pending chunk of a finished run: nothing to do

    assert jobs_watchdog() == {"chunks_requeued": 0, "runs_resumed": 0, "runs_closed": 0}
    assert OrmQ.objects.count() == 0


def test_a_chunk_task_delivered_twice_leaves_a_chunk_whose_holder_is_working_on_it(run, monkeypatch):
    from scheduler import watchdog
    from scheduler.tasks import job_chunk_run

    now = timezone.now()
    held = chunk(run, 0, lease_owner="c1:host:42", lease_until=now + datetime.timedelta(minutes=5))
    expired = chunk(run, 1, lease_owner="c1:host:43", lease_until=now - datetime.timedelta(seconds=1))
    handed_out = chunk(run, 2)  # the watchdog cleared its lease when it handed it out again
    monkeypatch.setattr(watchdog, "leases_taken", lambda: True)
    monkeypatch.setattr("scheduler.tasks.leases_taken", lambda: True)
    monkeypatch.setattr(watchdog, "lease_owner", lambda: "c2:host:7")

    for item in (held, expired, handed_out):
        job_chunk_run(item.pk)

    rows = {c.index: (c.status, c.lease_owner) for c in JobChunk.objects.all()}
    assert rows == {0: ("pending", "c1:host:42"), 1: ("succeeded", "c2:host:7"), 2: ("succeeded", "c2:host:7")}
