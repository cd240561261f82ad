import datetime

from django.db.models import Count, Q

from verses.models import DailyVerse


def daily_verse_counts(*, day: datetime.date) -> dict:
    """How many verses were given for `day`, and how many of them came from the fallback."""
    return DailyVerse.objects.filter(day=day).aggregate(
        generated=Count("pk"), fallbacks=Count("pk", filter=Q(source=DailyVerse.Source.FALLBACK))
    )
