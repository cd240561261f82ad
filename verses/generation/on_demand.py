"""A user's verse asked for before the daily run gave it: at once, never an AI call in the request."""

import datetime
import logging

from django.db import IntegrityError, transaction

from users.models import User
from verses.ai.gemini import provider_get
from verses.editorial.plans import planned_verses
from verses.generation.pairs import provisional_verse_ensure, verse_of_the_day_ensure
from verses.models import DailyVerse, VerseOfTheDay
from verses.selectors import local_date

logger = logging.getLogger(__name__)


def user_local_date(user: User) -> datetime.date:
    return local_date(user.timezone)


def daily_verse_for_user(*, user: User, day: datetime.date | None = None) -> DailyVerse:
    """The user's verse for `day` (default: their local date), at once: never an AI call here.

    - The user's DailyVerse exists: it (a user's verse never changes once given).
    - Their pair's verse exists: given to them now.
    - Neither, the pair planned (verses/editorial): the planned verse is made and given.
    - Neither, AI off: the pair's curated fallback is made (as the daily run would) and given.
    - Neither, AI on: the user gets the pair's *provisional* verse (the curated fallback the run
      would fall back to; one row per pair and day, made by the first such request), kept for the
      day; the request that made that row enqueues the one task that asks the AI for the pair
      (its insert is the single-flight lock, across processes). Users asking after the task
      has run get the pair's verse like everyone else."""
    day = day or user_local_date(user)
    daily = DailyVerse.objects.select_related("verse").filter(user=user, day=day).first()
    if daily is not None:
        return daily
    verse = VerseOfTheDay.objects.filter(day=day, mood=user.mood, language=user.language).first()
    if verse is None:
        if provider_get() is None or planned_verses(day=day, pairs=[(user.mood, user.language)]):
            verse = verse_of_the_day_ensure(day=day, mood=user.mood, language=user.language)
        else:
            verse = provisional_verse_ensure(day=day, mood=user.mood, language=user.language)
    try:
        with transaction.atomic():
            daily = DailyVerse.objects.create(user=user, day=day, verse=verse)
    except IntegrityError:  # given concurrently (another request, the daily run): theirs
        return DailyVerse.objects.select_related("verse").get(user=user, day=day)
    logger.info(
        "event=verse_on_demand user=%s day=%s source=%s provisional=%s",
        user.short_id,
        day.isoformat(),
        verse.source,
        verse.provisional,
    )
    return daily


def verse_of_the_day_make(*, day: datetime.date, mood: str, language: str) -> dict:
    """The pair's verse, asking the AI if it is still to be made (the on-demand worker task)."""
    verse = verse_of_the_day_ensure(day=day, mood=mood, language=language, provider=provider_get())
    return {"verse_id": verse.pk, "source": verse.source, "ai_failure": verse.ai_failure}
