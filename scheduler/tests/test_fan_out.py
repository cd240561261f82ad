"""The daily run fans out into chunk tasks; the run ends when all of them are done."""

import pytest
from django_q.models import OrmQ

from scheduler.models import JobChunk, JobRun
from scheduler.services import job_chunk_execute, job_run_claim, job_run_execute
from scheduler.tasks import job_chunk_run
from users.models import User
from users.tests.factories import devices_bulk_create
from verses.models import DailyVerse

pytestmark = pytest.mark.django_db


@pytest.fixture
def users(settings):
    settings.VERSES_ASSIGN_CHUNK_SIZE = 7
    moods = ["joyful", "sad", "", "hopeful"]
    active = User.objects.bulk_create(
        [User(email=f"u{n}@example.org", mood=moods[n % 4], language="fr" if n % 3 else "en") for n in range(50)]
    )
    devices_bulk_create(active)
    User.objects.bulk_create([User(email=f"x{n}@example.org") for n in range(5)])  # no device: not active
    return User.objects.filter(devices__isnull=False)


def start_run() -> JobRun:
    run, _ = job_run_claim(job_id="daily_verses_generation", trigger="schedule")
    return job_run_execute(run=run)


def test_the_run_stays_open_until_every_chunk_is_done(users, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        run = start_run()
    chunks = list(JobChunk.objects.filter(run=run))
    assert len(chunks) == 8  # 50 users, 7 per chunk
    assert OrmQ.objects.count() == 8  # one task each, for any worker of any cluster
    assert run.status == "running" and DailyVerse.objects.count() == 0
    assert {(c.func, c.status) for c in chunks} == {("verses.jobs.daily_verses_chunk", "pending")}

    for chunk in chunks[:-1]:
        job_chunk_run(chunk.pk)
    run.refresh_from_db()
    assert run.status == "running"
    job_chunk_run(chunks[-1].pk)
    run.refresh_from_db()
    assert run.status == "succeeded"
    assert (run.counts["verses_created"], run.counts["users_processed"], run.counts["chunks"]) == (50, 50, 8)
    assert run.counts["db_queries"] > 0
    # Exactly one verse per active user, none for the others.
    assert DailyVerse.objects.count() == 50
    assert set(DailyVerse.objects.values_list("user_id", flat=True)) == set(users.values_list("pk", flat=True))


def test_a_repeated_chunk_changes_nothing(users, sync_tasks):
    run = start_run()
    assert run.status == "succeeded"
    chunk = JobChunk.objects.filter(run=run).first()
    before = list(DailyVerse.objects.order_by("pk").values_list("pk", "user_id", "verse_id"))
    job_chunk_run(chunk.pk)  # a redelivered task
    JobChunk.objects.filter(pk=chunk.pk).update(status="pending")  # as if its worker died before marking it
    job_chunk_execute(chunk_id=chunk.pk)
    assert list(DailyVerse.objects.order_by("pk").values_list("pk", "user_id", "verse_id")) == before
    chunk.refresh_from_db()
    assert (chunk.status, chunk.counts["verses_created"]) == ("succeeded", 0)


def test_a_failed_chunk_fails_the_run_and_the_next_run_resumes(users, sync_tasks, monkeypatch):
    import verses.jobs

    real = verses.jobs.daily_verses_assign_chunk
    calls = []

    def flaky(**kwargs):
        calls.append(kwargs)
        if len(calls) == 3:
            raise RuntimeError("disk full")
        return real(**kwargs)

    monkeypatch.setattr(verses.jobs, "daily_verses_assign_chunk", flaky)
    first = start_run()
    assert first.status == "failed"
    assert first.error == "1 of 8 chunks failed: RuntimeError: disk full"
    assert first.counts["verses_created"] == 43  # the 7 users of the failed chunk are missing
    assert DailyVerse.objects.count() == 43

    second = start_run()
    assert second.status == "succeeded"
    assert second.counts["verses_created"] == 7
    assert DailyVerse.objects.count() == 50


def test_a_redelivered_job_task_resumes_its_chunks_instead_of_starting_over(users, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        run = start_run()  # its plan stored and its chunk tasks queued
    first = JobChunk.objects.filter(run=run).order_by("index").first()
    job_chunk_run(first.pk)
    OrmQ.objects.all().delete()  # as if the queued chunk tasks were lost with their worker

    with django_capture_on_commit_callbacks(execute=True):
        job_run_execute(run=JobRun.objects.get(pk=run.pk))  # the job task delivered again
    assert JobChunk.objects.filter(run=run).count() == 8  # no second fan-out
    assert OrmQ.objects.count() == 7  # the pending chunks handed out again
    for chunk in JobChunk.objects.filter(run=run, status="pending"):
        job_chunk_run(chunk.pk)
    run.refresh_from_db()
    assert (run.status, run.counts["verses_created"]) == ("succeeded", 50)


# A database lost in the middle of the job's own part (its function, or storing its plan): the
# attempt is retried with back-off. Transactional: the retry closes the broken connection.


@pytest.mark.django_db(transaction=True)
def test_a_lost_database_during_the_job_retries_it(users, sync_tasks, monkeypatch, caplog):
    from django.db import OperationalError

    import verses.jobs

    real, calls = verses.jobs.daily_verses_generation, []

    def flaky(**params):
        calls.append(params)
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return real(**params)

    monkeypatch.setattr(verses.jobs, "daily_verses_generation", flaky)
    run = start_run()
    assert len(calls) == 2
    assert (run.status, run.counts["verses_created"]) == ("succeeded", 50)
    assert DailyVerse.objects.count() == 50
    assert "event=job_db_retry attempt=1 error=OperationalError" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_a_database_lost_after_the_plan_was_stored_resumes_instead_of_starting_over(users, monkeypatch, caplog):
    from contextlib import contextmanager

    from django.db import OperationalError, connection, transaction

    import verses.jobs

    real_job, calls = verses.jobs.daily_verses_generation, []
    real_atomic, real_bulk_create, stored = transaction.atomic, JobChunk.objects.bulk_create, []

    def counted(**params):
        calls.append(params)
        return real_job(**params)

    def bulk_create(objs, **kwargs):
        stored.append(len(objs))
        return real_bulk_create(objs, **kwargs)

    @contextmanager
    def atomic_whose_commit_answer_is_lost_once(*args, **kwargs):
        with real_atomic(*args, **kwargs):
            yield
        if stored == [8] and not connection.in_atomic_block:  # committed, then the connection went
            stored.append("lost")
            raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(verses.jobs, "daily_verses_generation", counted)
    monkeypatch.setattr(JobChunk.objects, "bulk_create", bulk_create)
    monkeypatch.setattr(transaction, "atomic", atomic_whose_commit_answer_is_lost_once)
    run = start_run()
    assert stored == [8, "lost"]
    assert len(calls) == 1, "the second attempt found the stored chunks: no second plan"
    assert JobChunk.objects.filter(run=run).count() == 8
    assert "event=job_db_retry attempt=1 error=OperationalError" in caplog.text
    for chunk in JobChunk.objects.filter(run=run):
        job_chunk_run(chunk.pk)
    run.refresh_from_db()
    assert (run.status, run.counts["verses_created"]) == ("succeeded", 50)
    assert DailyVerse.objects.count() == 50
