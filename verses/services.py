"""Opens of the verse push: recorded once per user and day, purged with the history."""

import datetime
import logging

from django.utils import timezone

from soulverse.db import rows_delete_before
from users.models import User
from verses.models import DailyVerse, VerseOpen

logger = logging.getLogger(__name__)


def verse_open_record(*, user: User, day: datetime.date) -> VerseOpen:
    """Record that the user opened the push of their verse of `day`; idempotent (the first open is
    kept). DailyVerse.DoesNotExist when they have no verse that day."""
    if not DailyVerse.objects.filter(user=user, day=day).exists():
        raise DailyVerse.DoesNotExist
    opened, created = VerseOpen.objects.get_or_create(user=user, day=day, defaults={"opened_at": timezone.now()})
    if created:
        logger.info("event=verse_opened user=%s day=%s", user.short_id, day.isoformat())
    return opened


def verse_opens_purge(*, before: datetime.date, batch_size: int = 10_000) -> int:
    """Delete the push opens of the days before `before`, `batch_size` rows per statement."""
    return rows_delete_before(VerseOpen, day=before, batch_size=batch_size)
