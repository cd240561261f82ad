import datetime

from django.db.models import Count, Q

from verses.models import DailyVerse, VerseOfTheDay


def daily_verse_counts(*, day: datetime.date) -> dict:
    """How many users got a verse for `day`, and how many of those verses were fallbacks."""
    return DailyVerse.objects.filter(day=day).aggregate(
        generated=Count("pk"), fallbacks=Count("pk", filter=Q(verse__source=VerseOfTheDay.Source.FALLBACK))
    )
