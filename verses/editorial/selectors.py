"""Editorial reads: plans, the feast calendar with the operators' choices, a day's pairs for review."""

import datetime

from django.conf import settings
from django.db.models import QuerySet

from verses.editorial.feasts import feasts_between
from verses.editorial.plans import pair_filter, plan_covered_pairs
from verses.models import DailyVerse, FeastSetting, VerseOfTheDay, VersePlan, VerseReview


def verse_plans(*, start: datetime.date | None = None, end: datetime.date | None = None) -> QuerySet[VersePlan]:
    plans = VersePlan.objects.select_related("created_by")
    if start is not None:
        plans = plans.filter(day__gte=start)
    if end is not None:
        plans = plans.filter(day__lte=end)
    return plans.order_by("day", "language", "mood")


def verse_plan_get(*, plan_id) -> VersePlan | None:
    return VersePlan.objects.filter(pk=plan_id).first()


def feast_calendar(*, start: datetime.date, days: int = 365) -> list[dict]:
    """The feasts from `start` over `days` days, each language's verse as the operators left it:
    `default` (nothing chosen), `accepted`, `changed` or `off`."""
    found = feasts_between(start=start, end=start + datetime.timedelta(days=days - 1))
    choices = {(s.feast, s.language): s for s in FeastSetting.objects.filter(feast__in={f.key for _, f in found})}
    calendar = []
    for date, feast in found:
        languages = {}
        for language, default in feast.references.items():
            choice = choices.get((feast.key, language))
            state = (
                "default"
                if choice is None
                else "off"
                if not choice.enabled
                else "changed"
                if choice.reference
                else "accepted"
            )
            languages[language] = {
                "state": state,
                "reference": (choice and choice.reference) or default,
                "default_reference": default,
            }
        calendar.append({"key": feast.key, "name": feast.names["fr"], "date": date, "languages": languages})
    return calendar


def review_pairs(*, day: datetime.date) -> list[VerseOfTheDay]:
    """The current verse of each pair of `day` (French first, then by mood), for review."""
    return list(VerseOfTheDay.objects.filter(day=day).select_related("approved_by").order_by("-language", "mood"))


def pair_verse_get(*, verse_id) -> VerseOfTheDay | None:
    """A pair's current verse (not a superseded or provisional one)."""
    return VerseOfTheDay.objects.filter(pk=verse_id).first()


def verse_reviews(*, day: datetime.date) -> QuerySet[VerseReview]:
    return VerseReview.objects.filter(day=day).select_related("reviewed_by").order_by("-reviewed_at", "-pk")


def approval_required() -> bool:
    return settings.VERSES_REQUIRE_APPROVAL


def plan_received_count(*, day: datetime.date, language: str, mood: str | None) -> int:
    """Users who have already received `day`'s verse of a pair a plan for `language` and `mood`
    (None: every mood) covers."""
    pairs = plan_covered_pairs(language=language, mood=mood)
    return DailyVerse.objects.filter(
        verse__in=VerseOfTheDay.all_objects.filter(day=day).filter(pair_filter(pairs))
    ).count()
