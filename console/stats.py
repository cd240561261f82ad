"""The daily statistics: the users' figures (users.services) with those of the verses and the
pushes (verses.selectors), for the 00:00 job, `manage.py user_stats_update` and the stats endpoint."""

import datetime

from django.db import transaction
from django.utils import timezone

from users.models import DailyStats
from users.services import daily_stats_record
from verses.selectors import daily_verse_counts, verse_push_counts


@transaction.atomic
def daily_stats_update(*, day: datetime.date | None = None) -> DailyStats:
    """Compute (or recompute) the figures of `day`; default: the day that just ended. A
    recomputed day gives the same figures (users.services.daily_stats_record)."""
    day = day or timezone.localdate() - datetime.timedelta(days=1)
    verses = daily_verse_counts(day=day)
    pushes = verse_push_counts(day=day)
    return daily_stats_record(
        day=day,
        verses_generated=verses["generated"],
        fallbacks_used=verses["fallbacks"],
        pushes_sent=pushes["sent"],
        pushes_opened=pushes["opened"],
    )
