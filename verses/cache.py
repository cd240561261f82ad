"""The day's verses in the cache: one entry per (day, user), kept for VERSES_CACHE_SECONDS."""

import datetime
import logging
import uuid

from django.conf import settings
from django.core.cache import cache
from django.db import connection

logger = logging.getLogger(__name__)

KEY_PREFIX = "verse:"


def verse_cache_key(day: datetime.date, user_id: uuid.UUID) -> str:
    return f"{KEY_PREFIX}{day.isoformat()}:{user_id.hex}"


def verse_cache_get_many(day: datetime.date, user_ids: list[uuid.UUID]) -> dict[uuid.UUID, dict]:
    keys = {verse_cache_key(day, user_id): user_id for user_id in user_ids}
    found = cache.get_many(list(keys))
    return {keys[key]: value for key, value in found.items()}


def verse_cache_set_many(day: datetime.date, verses: dict[uuid.UUID, dict]) -> None:
    cache.set_many(
        {verse_cache_key(day, user_id): data for user_id, data in verses.items()},
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
