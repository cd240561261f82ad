"""Which pairs of a day carry a planned verse: an operator's plan (VersePlan) for the pair's mood
or for every mood, else the day's feast (its default reference, or the operator's choice), and the
fields of the pair's verse it gives (the text always from the edition)."""

import datetime
import logging

from django.db.models import Q
from django.utils import timezone

from users.models import Mood
from verses.bible.editions import passage_verify
from verses.bible.references import ReferenceInvalid, passage_parse, reference_display
from verses.editorial.feasts import feast_on
from verses.generation.reflections import fallback_reflection
from verses.models import FeastSetting, VerseOfTheDay, VersePlan

logger = logging.getLogger(__name__)


def passage_fields(*, reference: str, language: str) -> dict:
    """book, chapter, verses, the reference as the edition shows it and the edition's text of a
    written reference; raises ReferenceInvalid."""
    book, chapter, start, end = passage_parse(reference)
    text = passage_verify(language=language, book=book, chapter=chapter, verse_start=start, verse_end=end)
    return {
        "book": book,
        "chapter": chapter,
        "verse_start": start,
        "verse_end": end,
        "reference": reference_display(book=book, chapter=chapter, verse_start=start, verse_end=end, language=language),
        "text": text,
    }


def _plan_fields(plan: VersePlan, *, mood: str) -> dict | None:
    try:
        fields = passage_fields(reference=plan.reference, language=plan.language)
    except ReferenceInvalid as exc:  # checked when planned; an edition re-imported since may lack it
        logger.warning("event=verse_plan_unusable plan=%s reason=%s", plan.pk, exc.part)
        return None
    return {**fields, "reflection": plan.reflection or fallback_reflection(mood or "default", plan.language)}


def _feast_fields(*, day: datetime.date, language: str) -> dict | None:
    feast = feast_on(day)
    if feast is None:
        return None
    setting = FeastSetting.objects.filter(feast=feast.key, language=language).first()
    if setting is not None and not setting.enabled:
        return None
    reference = (setting and setting.reference) or feast.references[language]
    try:
        fields = passage_fields(reference=reference, language=language)
    except ReferenceInvalid as exc:  # e.g. Louis Segond not imported yet: the day goes as any other
        logger.warning("event=feast_verse_unusable feast=%s language=%s reason=%s", feast.key, language, exc.part)
        return None
    return {**fields, "reflection": (setting and setting.reflection) or feast.reflections[language]}


def planned_verses(*, day: datetime.date, pairs: list[tuple[str, str]]) -> dict[tuple[str, str], dict]:
    """The VerseOfTheDay fields (source `plan`, approved) of the `pairs` that carry a planned verse on `day`."""
    if not pairs:
        return {}
    languages = {language for _, language in pairs}
    plans = list(VersePlan.objects.filter(day=day, language__in=languages))
    by_pair = {(plan.mood, plan.language): plan for plan in plans if plan.mood is not None}
    all_moods = {plan.language: plan for plan in plans if plan.mood is None}
    feast_fields: dict[str, dict | None] = {}
    planned = {}
    for mood, language in pairs:
        plan = by_pair.get((mood, language)) or all_moods.get(language)
        if plan is not None:
            fields = _plan_fields(plan, mood=mood)
            approved_by = plan.created_by_id
        else:
            if language not in feast_fields:
                feast_fields[language] = _feast_fields(day=day, language=language)
            fields = feast_fields[language]
            approved_by = None
        if fields is not None:
            planned[(mood, language)] = {
                **fields,
                "source": VerseOfTheDay.Source.PLAN,
                "approved_at": timezone.now(),
                "approved_by_id": approved_by,
            }
    return planned


def plan_covered_pairs(*, language: str, mood: str | None) -> list[tuple[str, str]]:
    """The (mood, language) pairs a plan covers: its mood's, or every mood's (no mood included)."""
    if mood is not None:
        return [(mood, language)]
    return [(value, language) for value in ["", *Mood.values]]


def pair_filter(pairs: list[tuple[str, str]]) -> Q:
    query = Q(pk__in=[])
    for mood, language in pairs:
        query |= Q(mood=mood, language=language)
    return query
