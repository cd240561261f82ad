"""The AI phase of a day, one process at a time: a lease in the cache."""

import contextlib
import datetime
import logging
import time
import uuid
from collections.abc import Iterator

from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)


AI_PHASE_POLL_SECONDS = 0.5


def _ai_phase_wait() -> None:
    time.sleep(AI_PHASE_POLL_SECONDS)


@contextlib.contextmanager
def ai_phase_single_flight(day: datetime.date) -> Iterator[None]:
    """One process at a time asks the AI for `day`'s pairs: at 06:00 in Lomé the daily run and the
    push tick both need Lomé's pairs; the second waits, then finds them made (no AI call twice).

    A lease in the cache (`add` is atomic on Redis and on the database cache) that lasts the AI
    budget and a minute, so a holder that died is waited for that long at most. Without a working
    cache nobody waits: both may ask, and the unique constraint keeps one verse per pair."""
    key = f"verses:ai-phase:{day.isoformat()}"
    token = uuid.uuid4().hex
    lease = int(settings.VERSES_AI_BUDGET_SECONDS) + 60
    deadline = time.monotonic() + lease
    held = waited = False
    while True:
        try:
            held = bool(cache.add(key, token, timeout=lease))
        except Exception:
            logger.warning("event=ai_phase_lock_unavailable day=%s", day.isoformat(), exc_info=True)
            break
        if held or time.monotonic() > deadline:
            break
        if not waited:
            logger.info("event=ai_phase_waiting day=%s", day.isoformat())
            waited = True
        _ai_phase_wait()
    try:
        yield
    finally:
        if held:
            try:
                if cache.get(key) == token:
                    cache.delete(key)
            except Exception:  # the lease expires by itself
                logger.warning("event=ai_phase_unlock_failed day=%s", day.isoformat(), exc_info=True)
