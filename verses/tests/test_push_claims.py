"""A push chunk claims, sends, then records, each step committed: what a dead worker had claimed is
sent by the chunk's re-run, a live claim keeps other ticks out, an expired one does not, and a
database error while recording FCM's verdicts is retried without sending again."""

import datetime
import logging

import pytest
from django.db import OperationalError
from django.utils import timezone

from scheduler.models import JobRun
from scheduler.services import job_chunk_execute, job_run_claim, job_run_execute
from users.tests.factories import UserFactory
from verses.models import Delivery
from verses.push import delivery as push

pytestmark = pytest.mark.django_db(transaction=True)

AT = datetime.datetime(2026, 1, 10, 6, 0, tzinfo=datetime.UTC)  # 06:00 in Lomé


class WorkerDied(BaseException):
    """Stands for a SIGKILL: nothing in the chunk's code catches it, nothing after it runs."""


def tick_planned(at: datetime.datetime) -> JobRun:
    """A tick's run with its chunks stored, none of them run yet."""
    run, created = job_run_claim(job_id="deliver_verses", trigger="manual", params={"at": at.isoformat()})
    assert created
    return job_run_execute(run=run, dispatch=False)


def states() -> dict[str, tuple[str, int]]:
    return {d.user.email: (d.state, d.attempts) for d in Delivery.objects.select_related("user")}


def test_a_chunk_rerun_sends_what_its_dead_worker_had_claimed(fcm_stub, no_ai, monkeypatch):
    for name in ("ana", "ben"):
        UserFactory(email=f"{name}@example.org")
    chunk = tick_planned(AT).chunks.get()

    def die(*args, **kwargs):
        raise WorkerDied

    monkeypatch.setattr("verses.push.fcm.pushes_send", die)
    with pytest.raises(WorkerDied):
        job_chunk_execute(chunk_id=chunk.pk)
    monkeypatch.undo()
    assert states() == {"ana@example.org": ("sending", 1), "ben@example.org": ("sending", 1)}
    chunk.refresh_from_db()
    assert chunk.status == "pending"

    # The dead worker's chunk, handed out again, sends what it had claimed: once each.
    job_chunk_execute(chunk_id=chunk.pk)
    assert sorted(fcm_stub.delivered_tokens().values()) == [1, 1]
    assert states() == {"ana@example.org": ("sent", 2), "ben@example.org": ("sent", 2)}
    assert Delivery.objects.filter(claim="").count() == 2
    chunk.refresh_from_db()
    assert (chunk.status, chunk.counts["push_sent"]) == ("succeeded", 2)


def test_a_claim_left_by_a_failed_chunk_keeps_later_ticks_out_until_it_expires(fcm_stub, no_ai, monkeypatch):
    UserFactory(email="ana@example.org")
    first = tick_planned(AT)

    def fail(*args, **kwargs):
        raise RuntimeError("the worker lost its way after the claim")

    monkeypatch.setattr("verses.push.fcm.pushes_send", fail)
    job_chunk_execute(chunk_id=first.chunks.get().pk)
    monkeypatch.undo()
    first.refresh_from_db()
    assert first.status != "running" and states() == {"ana@example.org": ("sending", 1)}

    # Whether FCM got it is unknown: while the claim lives, a later tick leaves it alone...
    second = tick_planned(AT + datetime.timedelta(minutes=15))
    job_chunk_execute(chunk_id=second.chunks.get().pk)
    assert fcm_stub.delivered == [] and second.chunks.get().counts["push_due"] == 0

    # ...once it has expired, the next tick takes it over and sends it.
    Delivery.objects.update(claimed_until=timezone.now() - datetime.timedelta(seconds=1))
    third = tick_planned(AT + datetime.timedelta(minutes=30))
    job_chunk_execute(chunk_id=third.chunks.get().pk)
    assert list(fcm_stub.delivered_tokens().values()) == [1]
    delivery = Delivery.objects.get()
    assert (delivery.state, delivery.attempts, delivery.claim, delivery.claimed_until) == ("sent", 2, "", None)


def test_a_database_error_while_recording_is_retried_without_sending_again(fcm_stub, no_ai, monkeypatch, caplog):
    for name in ("ana", "ben", "eve"):
        UserFactory(email=f"{name}@example.org")
    record = push._results_record
    calls = []

    def record_after_an_outage(**kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return record(**kwargs)

    monkeypatch.setattr(push, "_results_record", record_after_an_outage)
    run = tick_planned(AT)
    with caplog.at_level(logging.WARNING, logger="soulverse.db"):
        job_chunk_execute(chunk_id=run.chunks.get().pk)
    assert len(calls) == 2 and "event=push_record_retry" in caplog.text
    assert sorted(fcm_stub.delivered_tokens().values()) == [1, 1, 1]
    assert {state for state, _ in states().values()} == {"sent"}
    assert run.chunks.get().counts["push_sent"] == 3
