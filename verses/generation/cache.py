"""The day's verses in the cache: one entry per (day, mood, language), kept VERSES_CACHE_SECONDS."""

import datetime
import logging

from django.conf import settings
from django.core.cache import cache
from django.db import connection

logger = logging.getLogger(__name__)

KEY_PREFIX = "verse:"


def verse_cache_key(day: datetime.date, mood: str, language: str) -> str:
    return f"{KEY_PREFIX}{day.isoformat()}:{mood or 'default'}:{language}"


def verse_cache_get_many(day: datetime.date, pairs: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """The cached VerseOfTheDay ids of (mood, language) pairs."""
    keys = {verse_cache_key(day, mood, language): (mood, language) for mood, language in pairs}
    return {keys[key]: value for key, value in cache.get_many(list(keys)).items()}


def verse_cache_set_many(day: datetime.date, verse_ids: dict[tuple[str, str], int]) -> None:
    cache.set_many(
        {verse_cache_key(day, mood, language): verse_id for (mood, language), verse_id in verse_ids.items()},
        timeout=settings.VERSES_CACHE_SECONDS,
    )


def verse_cache_purge(*, keep_day: datetime.date) -> int:
    """Delete the verse entries of every day but `keep_day`; return how many were deleted."""
    keep = f"{KEY_PREFIX}{keep_day.isoformat()}:"
    if hasattr(cache, "iter_keys"):  # django-redis: SCAN, never KEYS
        deleted, batch = 0, []
        for key in cache.iter_keys(f"{KEY_PREFIX}*", itersize=1000):
            if not key.startswith(keep):
                batch.append(key)
            if len(batch) >= 1000:
                deleted += cache.delete_many(batch) or 0
                batch = []
        if batch:
            deleted += cache.delete_many(batch) or 0
        return deleted
    if hasattr(cache, "_table"):  # the database cache: one DELETE on the key prefix
        table = connection.ops.quote_name(cache._table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {table} WHERE cache_key LIKE %s AND cache_key NOT LIKE %s",
                [cache.make_key(KEY_PREFIX) + "%", cache.make_key(keep) + "%"],
            )
            return cursor.rowcount
    logger.warning("event=verse_cache_purge_unsupported backend=%s", type(cache).__name__)
    return 0
