"""Chunks of one run are taken by several workers at once: none waits for another (PostgreSQL)."""

import threading

import pytest
from django.db import connection

from scheduler.models import JobChunk, JobRun
from scheduler.services import job_chunk_execute

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are PostgreSQL's"),
]
_first_started = threading.Event()
_first_release = threading.Event()


def held_chunk(*, index: int) -> dict:
    """Chunk 0 holds its transaction open until released (or 5 s pass)."""
    if index == 0:
        _first_started.set()
        _first_release.wait(5)
    return {"rows": 1}


def test_a_chunk_does_not_wait_for_another_chunk_of_its_run():
    run = JobRun.objects.create(job_id="cache_cleanup", trigger="manual")
    chunks = JobChunk.objects.bulk_create(
        [JobChunk(run=run, index=i, func=f"{__name__}.held_chunk", kwargs={"index": i}) for i in range(3)]
    )

    def first():
        job_chunk_execute(chunk_id=chunks[0].pk)
        connection.close()

    thread = threading.Thread(target=first)
    thread.start()
    assert _first_started.wait(10)
    try:
        job_chunk_execute(chunk_id=chunks[1].pk)
        # Chunk 1 is done while chunk 0 still holds its transaction.
        assert list(JobChunk.objects.order_by("index").values_list("status", flat=True)) == [
            "pending",
            "succeeded",
            "pending",
        ]
    finally:
        _first_release.set()
        thread.join(10)
    job_chunk_execute(chunk_id=chunks[2].pk)
    run.refresh_from_db()
    assert (run.status, run.counts["rows"], run.counts["chunks"]) == ("succeeded", 3, 3)
