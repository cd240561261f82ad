"""Fixtures for the console tests: the dashboard's data."""

import datetime
from dataclasses import dataclass

import pytest
from django.utils import timezone

from console.tests.browser import chromium_driver
from scheduler.models import JobRun
from users.models import DailyStats
from verses.models import VerseOfTheDay


@dataclass
class DashboardData:
    today: datetime.date
    failed_run: JobRun


def _at(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=timezone.get_current_timezone())


def _run(job_id: str, *, started_at, seconds: float, status=JobRun.Status.SUCCEEDED, counts=None, error="") -> JobRun:
    run = JobRun.objects.create(
        job_id=job_id, trigger=JobRun.Trigger.SCHEDULE, status=status, counts=counts or {}, error=error
    )
    # started_at is auto_now_add: set the past afterwards.
    JobRun.objects.filter(pk=run.pk).update(
        started_at=started_at, finished_at=started_at + datetime.timedelta(seconds=seconds)
    )
    run.refresh_from_db()
    return run


def _verse(day: datetime.date, mood: str, language: str, *, source: str, failure: str = "") -> VerseOfTheDay:
    return VerseOfTheDay.objects.create(
        day=day,
        mood=mood,
        language=language,
        book=19,
        chapter=23,
        verse_start=1,
        verse_end=1,
        reference="Psaumes 23:1",
        text="L'Éternel est mon berger.",
        reflection="Une réflexion.",
        source=source,
        ai_failure=failure,
    )


@pytest.fixture
def dashboard_data(db) -> DashboardData:
    """Thirty days of figures as the jobs leave them: daily statistics, the day's verses (some
    AI failures), push counts on runs, and a failed run; plus rows just outside the window."""
    today = timezone.localdate()
    day = lambda n: today - datetime.timedelta(days=n)  # noqa: E731
    for n, (active, dau, verses, fallbacks) in {
        1: (120, 45, 118, 18),
        2: (110, 40, 108, 0),
        29: (90, 30, 88, 8),
        30: (999, 999, 999, 999),
    }.items():
        DailyStats.objects.create(
            day=day(n),
            active_users=active,
            daily_active_users=dau,
            new_users=1,
            weekly_active_users=dau + 20,
            monthly_active_users=dau + 40,
            verses_generated=verses,
            fallbacks_used=fallbacks,
        )
    ai, fallback = VerseOfTheDay.Source.AI, VerseOfTheDay.Source.FALLBACK
    _verse(day(1), "joyful", "fr", source=ai)
    _verse(day(1), "sad", "fr", source=fallback, failure="timeout")
    _verse(day(1), "sad", "en", source=fallback, failure="timeout")
    _verse(day(1), "anxious", "fr", source=fallback, failure="text_mismatch")
    _verse(day(2), "joyful", "fr", source=fallback, failure="rate_limit")
    _verse(day(30), "joyful", "fr", source=fallback, failure="timeout")

    _run(
        "daily_verses_generation",
        started_at=_at(day(1), 6),
        seconds=12.5,
        counts={"pairs": 4, "users_processed": 118, "ai_failures": {"timeout": 2, "text_mismatch": 1}},
    )
    _run(
        "deliver_verses",
        started_at=_at(day(1), 6, 15),
        seconds=3,
        counts={"push_sent": 100, "push_invalid_tokens": 3, "push_failed": 1},
    )
    _run("deliver_verses", started_at=_at(day(1), 6, 30), seconds=1, counts={"push_sent": 5})
    _run("deliver_verses", started_at=_at(day(0), 0, 5), seconds=1, counts={"push_sent": 7, "push_failed": 2})
    _run("deliver_verses", started_at=_at(day(30), 6), seconds=1, counts={"push_sent": 1000})
    failed = _run(
        "cache_cleanup",
        started_at=_at(day(0), 0, 1),
        seconds=0.25,
        status=JobRun.Status.FAILED,
        error="OperationalError: could not connect to server",
    )
    return DashboardData(today=today, failed_run=failed)


@pytest.fixture
def browser():
    """A headless Chromium (console.tests.browser), quit after the test."""
    with chromium_driver() as driver:
        yield driver
