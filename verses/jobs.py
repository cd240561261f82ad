"""Job functions of the verses app, run by scheduler (see scheduler/registry.py)."""

import datetime
import uuid

from django.utils import timezone

from scheduler.plan import FanOut
from verses.services import daily_verses_assign_chunk, daily_verses_prepare, daily_verses_table_analyze
from verses.services import verse_of_the_day_make as verse_of_the_day_make_service


def daily_verses_generation(day: str | None = None) -> FanOut:
    """Make the pairs' verses, then give the users theirs in chunk tasks (`day`: ISO date, default today)."""
    counts, chunks = daily_verses_prepare(day=datetime.date.fromisoformat(day) if day else timezone.localdate())
    return FanOut(func="verses.jobs.daily_verses_chunk", chunks=chunks, counts=counts)


def daily_verses_chunk(*, day: str, after: str | None, upto: str | None) -> dict:
    """One chunk of the daily run: users with after < id <= upto get their pair's verse."""
    return daily_verses_assign_chunk(
        day=datetime.date.fromisoformat(day),
        after=uuid.UUID(after) if after else None,
        upto=uuid.UUID(upto) if upto else None,
    )


def daily_verses_finished(counts: dict) -> None:
    """After a run: fresh planner statistics for the day just written."""
    daily_verses_table_analyze()


def verse_of_the_day_make(*, day: str, mood: str, language: str) -> dict:
    """The on-demand task of one (day, mood, language) pair: its verse, the AI asked once
    (enqueued by verses.services.daily_verse_for_user, never run in a request)."""
    return verse_of_the_day_make_service(day=datetime.date.fromisoformat(day), mood=mood, language=language)
