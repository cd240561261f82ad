import datetime
import hashlib
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from itertools import islice

from django.conf import settings
from django.utils import timezone

from users.selectors import users_active
from verses.cache import verse_cache_get_many, verse_cache_set_many
from verses.curated import CuratedVerse, curated_pool
from verses.models import DailyVerse
from verses.reflections import fallback_reflection

logger = logging.getLogger(__name__)

Progress = Callable[[int, int], None]


def _batches(iterable, size: int) -> Iterator[list]:
    iterator = iter(iterable)
    while batch := list(islice(iterator, size)):
        yield batch


def curated_verse_pick(*, user_id: uuid.UUID, mood: str, day: datetime.date, avoid_key: str | None):
    """A curated verse for the user's mood, the same for a given (user, day), never `avoid_key`."""
    pool = curated_pool(mood)
    digest = hashlib.sha256(f"{day.isoformat()}:{user_id.hex}".encode()).digest()
    index = int.from_bytes(digest[:8], "big") % len(pool)
    if pool[index].key == avoid_key:
        index = (index + 1) % len(pool)
    return pool[index]


def _fallback_verse(*, user_id, mood, language, day, avoid_key) -> DailyVerse:
    verse: CuratedVerse = curated_verse_pick(user_id=user_id, mood=mood, day=day, avoid_key=avoid_key)
    return DailyVerse(
        user_id=user_id,
        day=day,
        mood=mood,
        language=language,
        reference=verse.reference(language),
        verse_key=verse.key,
        text=verse.text(language),
        reflection=fallback_reflection(mood or "default", language),
        source=DailyVerse.Source.FALLBACK,
    )


def daily_verse_payload(verse: DailyVerse) -> dict:
    """What is cached and served for a user's verse of the day."""
    return {
        "day": verse.day.isoformat(),
        "reference": verse.reference,
        "text": verse.text,
        "reflection": verse.reflection,
        "mood": verse.mood,
        "language": verse.language,
        "source": verse.source,
    }


def daily_verses_generate(*, day: datetime.date | None = None, progress: Progress | None = None) -> dict:
    """Give every active user one verse for `day` (default: today); safe to run again.

    Users are handled in batches of VERSES_BATCH_SIZE. A user whose verse is cached is
    skipped; one who already has a row gets it cached; the others get a new row. The
    (user, day) constraint makes a concurrent or repeated run harmless.
    """
    day = day or timezone.localdate()
    started = time.monotonic()
    report = {"day": day.isoformat(), "users_processed": 0, "verses_created": 0,
              "already_present": 0, "cache_hits": 0, "fallbacks": 0}
    active = users_active().order_by("id").values_list("id", "mood", "language")
    total = active.count() if progress else 0
    for batch in _batches(active.iterator(chunk_size=2000), settings.VERSES_BATCH_SIZE):
        _generate_batch(day=day, batch=batch, report=report)
        report["users_processed"] += len(batch)
        if progress:
            progress(report["users_processed"], total)
    report["duration_seconds"] = round(time.monotonic() - started, 3)
    logger.info("event=daily_verses_generated %s", " ".join(f"{k}={v}" for k, v in report.items()))
    return report


def _generate_batch(*, day: datetime.date, batch: list[tuple], report: dict) -> None:
    cached = verse_cache_get_many(day, [user_id for user_id, _, _ in batch])
    report["cache_hits"] += len(cached)
    pending = [row for row in batch if row[0] not in cached]
    if not pending:
        return
    pending_ids = [user_id for user_id, _, _ in pending]
    present = {v.user_id: v for v in DailyVerse.objects.filter(day=day, user_id__in=pending_ids)}
    missing = [row for row in pending if row[0] not in present]
    if missing:
        yesterday = dict(
            DailyVerse.objects.filter(
                day=day - datetime.timedelta(days=1), user_id__in=[row[0] for row in missing]
            ).values_list("user_id", "verse_key")
        )
        new = [
            _fallback_verse(user_id=user_id, mood=mood, language=language, day=day,
                            avoid_key=yesterday.get(user_id))
            for user_id, mood, language in missing
        ]
        DailyVerse.objects.bulk_create(new, ignore_conflicts=True)
        new_ids = {verse.id for verse in new}
        # Re-read: a concurrent run may have won some rows; theirs are kept, ours skipped.
        rows = list(DailyVerse.objects.filter(day=day, user_id__in=[row[0] for row in missing]))
        created = [row for row in rows if row.id in new_ids]
        report["verses_created"] += len(created)
        report["fallbacks"] += sum(1 for row in created if row.source == DailyVerse.Source.FALLBACK)
        present.update({row.user_id: row for row in rows})
    report["already_present"] += len(pending) - len(missing)
    verse_cache_set_many(day, {user_id: daily_verse_payload(v) for user_id, v in present.items()})
