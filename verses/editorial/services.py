"""Editorial writes: verse plans, feast choices, the review of a pair's verse, the evening
preparation. A pair's verse already received by some users is never changed for them: it is
superseded, and the pair's new verse serves everyone else (verses.models.VerseOfTheDay)."""

import datetime
import logging
from collections import Counter

from django.db import transaction
from django.utils import timezone

from users.models import Language, Mood
from verses.ai.counts import AI_CALLS, AI_FAILURES, AI_TOKEN_COUNTS
from verses.ai.run import AIError
from verses.bible.references import ReferenceInvalid
from verses.editorial.feasts import FEASTS_BY_KEY
from verses.editorial.plans import pair_filter, passage_fields, plan_covered_pairs, planned_verses
from verses.editorial.signals import verse_reviewed
from verses.generation.counts import FALLBACKS, PAIRS
from verses.generation.pairs import pair_verse_ai_fields, pair_verses_ensure
from verses.generation.reflections import fallback_reflection
from verses.generation.validation import (
    MAX_PASSAGE_VERSES,
    MAX_REFLECTION_CHARS,
    MIN_REFLECTION_CHARS,
    ProposalRejected,
)
from verses.models import DailyVerse, FeastSetting, VerseOfTheDay, VersePlan, VerseReview

logger = logging.getLogger(__name__)

# The fields of a pair's verse an editorial change sets.
_CONTENT_FIELDS = ("book", "chapter", "verse_start", "verse_end", "reference", "text", "reflection", "source")


class EditorialInvalid(ValueError):
    """Bad editorial input: `field` names it, `message` says why in French; nothing changed."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


class AlreadyReceived(Exception):
    """The day's verse of a pair the plan covers is already given to `users` users."""

    def __init__(self, users: int):
        super().__init__(users)
        self.users = users


class AIAgainFailed(Exception):
    def __init__(self, kind: str):
        super().__init__(kind)
        self.kind = kind


def all_pairs() -> list[tuple[str, str]]:
    """Every (mood, language) pair: 8 moods and "no mood", in each language (18)."""
    return [(mood, language) for language in Language.values for mood in ["", *Mood.values]]


def reflection_clean(reflection: str) -> str:
    text = " ".join(str(reflection).split())
    if not MIN_REFLECTION_CHARS <= len(text) <= MAX_REFLECTION_CHARS:
        raise EditorialInvalid(
            "reflection",
            f"La réflexion doit compter entre {MIN_REFLECTION_CHARS} et {MAX_REFLECTION_CHARS} caractères "
            f"({len(text)} reçus).",
        )
    return text


def reference_fields(*, reference: str, language: str) -> dict:
    """The checked passage of `reference` in the language's edition; EditorialInvalid("reference")."""
    try:
        fields = passage_fields(reference=reference, language=language)
    except ReferenceInvalid as exc:
        raise EditorialInvalid("reference", exc.message) from None
    if fields["verse_end"] - fields["verse_start"] + 1 > MAX_PASSAGE_VERSES:
        raise EditorialInvalid("reference", f"Passage trop long : {MAX_PASSAGE_VERSES} versets au plus.")
    return fields


def _snapshot(verse: VerseOfTheDay) -> dict:
    return {
        "verse_id": verse.pk,
        "reference": verse.reference,
        "text": verse.text,
        "reflection": verse.reflection,
        "source": verse.source,
        "ai_failure": verse.ai_failure,
        "approved": verse.approved_at is not None,
    }


def _pair_verse_change(verse: VerseOfTheDay, fields: dict) -> VerseOfTheDay:
    """The pair's verse with `fields`: changed in place if nobody has received it, else the old row
    is superseded (its users keep it) and a new current row made. Call in a transaction."""
    if not DailyVerse.objects.filter(day=verse.day, verse=verse).exists():
        for name, value in fields.items():
            setattr(verse, name, value)
        verse.save()
        return verse
    verse.superseded_at = timezone.now()
    verse.save(update_fields=["superseded_at"])
    keep = {
        name: getattr(verse, name)
        for name in (*_CONTENT_FIELDS, "ai_failure", "approved_at", "approved_by_id")
        if name not in fields
    }
    return VerseOfTheDay.objects.create(day=verse.day, mood=verse.mood, language=verse.language, **keep, **fields)


def _planned_pairs_apply(*, day: datetime.date, pairs: list[tuple[str, str]], replace: bool) -> dict:
    """Give the made verses of `pairs` their planned content now; AlreadyReceived unless `replace`."""
    received = DailyVerse.objects.filter(
        verse__in=VerseOfTheDay.all_objects.filter(day=day).filter(pair_filter(pairs))
    ).count()
    if received and not replace:
        raise AlreadyReceived(received)
    planned = planned_verses(day=day, pairs=pairs)
    changed = 0
    for verse in VerseOfTheDay.objects.select_for_update().filter(day=day).filter(pair_filter(pairs)):
        fields = planned.get((verse.mood, verse.language))
        if fields is not None:
            _pair_verse_change(verse, {**fields, "ai_failure": ""})
            changed += 1
    return {"pairs_changed": changed, "users_keeping_previous": received}


@transaction.atomic
def verse_plan_create(
    *,
    day: datetime.date,
    language: str,
    mood: str | None,
    reference: str,
    reflection: str = "",
    replace: bool = False,
    created_by=None,
) -> tuple[VersePlan, dict]:
    """Plan the verse of `day` for `language` and `mood` (None: every mood), replacing that
    key's earlier plan. The pairs' verses already made take it now; refused (AlreadyReceived)
    when some users have received one of them, unless `replace`: then only the users who have
    not received it yet get the planned verse. Returns (plan, what changed)."""
    fields = reference_fields(reference=reference, language=language)
    reflection = reflection_clean(reflection) if reflection else ""
    plan, _ = VersePlan.objects.update_or_create(
        day=day,
        language=language,
        mood=mood,
        defaults={
            **{name: fields[name] for name in ("book", "chapter", "verse_start", "verse_end", "reference")},
            "reflection": reflection,
            "created_by": created_by,
        },
    )
    outcome = _planned_pairs_apply(day=day, pairs=plan_covered_pairs(language=language, mood=mood), replace=replace)
    logger.info(
        "event=verse_plan_saved day=%s language=%s mood=%s pairs_changed=%s users_keeping_previous=%s",
        day.isoformat(),
        language,
        "all" if mood is None else mood or "default",
        outcome["pairs_changed"],
        outcome["users_keeping_previous"],
    )
    return plan, outcome


@transaction.atomic
def verse_plan_delete(*, plan: VersePlan) -> dict:
    """Delete a plan. Its pairs' verses nobody has received yet are removed (made again, by the
    AI or the day's feast, when next needed); one already received stays the pair's verse."""
    pairs = plan_covered_pairs(language=plan.language, mood=plan.mood)
    plan.delete()
    removed, kept = 0, 0
    for verse in VerseOfTheDay.objects.filter(day=plan.day, source=VerseOfTheDay.Source.PLAN).filter(
        pair_filter(pairs)
    ):
        if DailyVerse.objects.filter(day=verse.day, verse=verse).exists() or verse.reviews.exists():
            kept += 1
        else:
            verse.delete()
            removed += 1
    return {"pairs_removed": removed, "pairs_kept": kept}


@transaction.atomic
def feast_setting_update(
    *, feast: str, language: str, enabled: bool, reference: str = "", reflection: str = "", updated_by=None
) -> FeastSetting:
    """Accept (no reference), change (a reference) or switch off a feast's verse in one language."""
    if feast not in FEASTS_BY_KEY:
        raise EditorialInvalid("feast", f"Fête inconnue : « {feast} ».")
    if reference:
        reference = reference_fields(reference=reference, language=language)["reference"]
    if reflection:
        reflection = reflection_clean(reflection)
    setting, _ = FeastSetting.objects.update_or_create(
        feast=feast,
        language=language,
        defaults={"enabled": enabled, "reference": reference, "reflection": reflection, "updated_by": updated_by},
    )
    return setting


# --- Review -------------------------------------------------------------------------------


def _review_record(*, verse: VerseOfTheDay, action: str, before: dict, by) -> VerseReview:
    review = VerseReview.objects.create(
        verse=verse,
        day=verse.day,
        mood=verse.mood,
        language=verse.language,
        action=action,
        reviewed_by=by,
        before=before,
        after=_snapshot(verse),
    )
    logger.info(
        "event=verse_reviewed day=%s mood=%s language=%s action=%s",
        verse.day.isoformat(),
        verse.mood or "default",
        verse.language,
        action,
    )
    verse_reviewed.send(sender=VerseReview, review=review)
    return review


def _locked(verse: VerseOfTheDay) -> VerseOfTheDay:
    return VerseOfTheDay.objects.select_for_update().get(pk=verse.pk)


@transaction.atomic
def pair_verse_approve(*, verse: VerseOfTheDay, by) -> VerseReview:
    verse = _locked(verse)
    before = _snapshot(verse)
    verse.approved_at, verse.approved_by = timezone.now(), by
    verse.save(update_fields=["approved_at", "approved_by"])
    return _review_record(verse=verse, action=VerseReview.Action.APPROVE, before=before, by=by)


@transaction.atomic
def pair_verse_reflection_edit(*, verse: VerseOfTheDay, reflection: str, by) -> VerseReview:
    """The operator's reflection, which counts as their approval."""
    reflection = reflection_clean(reflection)
    verse = _locked(verse)
    before = _snapshot(verse)
    verse = _pair_verse_change(
        verse, {"reflection": reflection, "approved_at": timezone.now(), "approved_by_id": getattr(by, "pk", None)}
    )
    return _review_record(verse=verse, action=VerseReview.Action.EDIT, before=before, by=by)


@transaction.atomic
def pair_verse_replace(*, verse: VerseOfTheDay, reference: str, reflection: str = "", by) -> VerseReview:
    """Another reference (its text from the edition; source `plan`), with the operator's reflection
    or the mood's curated one; counts as their approval."""
    fields = reference_fields(reference=reference, language=verse.language)
    reflection = (
        reflection_clean(reflection) if reflection else fallback_reflection(verse.mood or "default", verse.language)
    )
    verse = _locked(verse)
    before = _snapshot(verse)
    verse = _pair_verse_change(
        verse,
        {
            **fields,
            "reflection": reflection,
            "source": VerseOfTheDay.Source.PLAN,
            "ai_failure": "",
            "approved_at": timezone.now(),
            "approved_by_id": getattr(by, "pk", None),
        },
    )
    return _review_record(verse=verse, action=VerseReview.Action.REPLACE, before=before, by=by)


def pair_verse_regenerate(*, verse: VerseOfTheDay, by) -> VerseReview:
    """Ask the AI again (outside any transaction: a network call); its new verse awaits approval.
    AIAgainFailed, the verse unchanged, when the AI gives nothing usable."""
    try:
        fields = pair_verse_ai_fields(
            day=verse.day, mood=verse.mood, language=verse.language, avoid_key=verse.passage_key
        )
    except (AIError, ProposalRejected) as exc:
        logger.warning("event=verse_regenerate_failed day=%s kind=%s", verse.day.isoformat(), exc.kind)
        raise AIAgainFailed(exc.kind) from None
    with transaction.atomic():
        verse = _locked(verse)
        before = _snapshot(verse)
        verse = _pair_verse_change(verse, {**fields, "ai_failure": "", "approved_at": None, "approved_by_id": None})
        return _review_record(verse=verse, action=VerseReview.Action.REGENERATE, before=before, by=by)


# --- The evening preparation ------------------------------------------------------------------


def review_day_prepare(*, day: datetime.date) -> dict:
    """Make the verse of every (mood, language) pair of `day` (18), for the operators' review; the
    users get theirs at the morning run and their push, as on any day."""
    report = Counter({AI_CALLS.name: 0, FALLBACKS.name: 0, "cache_hits": 0})
    report[AI_FAILURES.name] = Counter()
    pairs = all_pairs()
    pair_verses_ensure(day=day, pairs=pairs, report=report)
    counts = {
        "day": day.isoformat(),
        PAIRS.name: len(pairs),
        **{count.name: report[count.name] for count in (AI_CALLS, FALLBACKS, *AI_TOKEN_COUNTS)},
        AI_FAILURES.name: dict(report[AI_FAILURES.name]),
    }
    logger.info(
        "event=review_day_prepared day=%s pairs=%s ai_calls=%s fallbacks=%s",
        day.isoformat(),
        len(pairs),
        counts[AI_CALLS.name],
        counts[FALLBACKS.name],
    )
    return counts
