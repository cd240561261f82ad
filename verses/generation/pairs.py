"""The verse of each (day, mood, language) pair: the AI's proposal checked against the edition,
or a curated fallback for that pair only; made once and shared by the users of the pair."""

import datetime
import hashlib
import logging
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from itertools import islice

from django.conf import settings
from django.db import IntegrityError, transaction

from verses.ai.counts import AI_FAILURES
from verses.ai.gemini import provider_get, provider_probe
from verses.ai.run import AIError, AIRun
from verses.bible.curated import CuratedVerse, curated_pool
from verses.bible.references import passage_key
from verses.editorial.plans import planned_verses
from verses.generation.cache import verse_cache_get_many, verse_cache_set_many
from verses.generation.counts import CACHE_HITS, FALLBACKS
from verses.generation.lease import ai_phase_single_flight
from verses.generation.reflections import fallback_reflection
from verses.generation.validation import ProposalRejected, proposal_check
from verses.models import VerseOfTheDay

logger = logging.getLogger(__name__)


RECENT_DAYS = 7  # the AI is asked not to repeat the pair's verses of the last week


def _batches(iterable, size: int) -> Iterator[list]:
    iterator = iter(iterable)
    while batch := list(islice(iterator, size)):
        yield batch


def curated_verse_pick(*, day: datetime.date, mood: str, language: str, avoid_key: str | None) -> CuratedVerse:
    """A curated verse for the pair, the same for a given day, never the one keyed `avoid_key`."""
    pool = curated_pool(mood)
    digest = hashlib.sha256(f"{day.isoformat()}:{mood}:{language}".encode()).digest()
    index = int.from_bytes(digest[:8], "big") % len(pool)
    if _curated_key(pool[index], language) == avoid_key:
        index = (index + 1) % len(pool)
    return pool[index]


def _curated_key(verse: CuratedVerse, language: str) -> str:
    chapter, start, end = verse.numbering(language)
    return passage_key(book=verse.book, chapter=chapter, verse_start=start, verse_end=end)


def _fallback_fields(*, day, mood, language, avoid_key) -> dict:
    verse = curated_verse_pick(day=day, mood=mood, language=language, avoid_key=avoid_key)
    chapter, start, end = verse.numbering(language)
    return {
        "book": verse.book,
        "chapter": chapter,
        "verse_start": start,
        "verse_end": end,
        "reference": verse.reference(language),
        "text": verse.text(language),
        "reflection": fallback_reflection(mood or "default", language),
        "source": VerseOfTheDay.Source.FALLBACK,
    }


def _ai_fields(*, proposal, language: str, avoid_key: str | None) -> dict:
    passage = proposal_check(proposal=proposal, language=language)
    key = passage_key(
        book=passage.book, chapter=passage.chapter, verse_start=passage.verse_start, verse_end=passage.verse_end
    )
    if key == avoid_key:
        raise ProposalRejected("repeated", "yesterday's passage again")
    return {
        "book": passage.book,
        "chapter": passage.chapter,
        "verse_start": passage.verse_start,
        "verse_end": passage.verse_end,
        "reference": passage.reference,
        "text": passage.text,
        "reflection": passage.reflection,
        "source": VerseOfTheDay.Source.AI,
    }


def _recent_verses(*, day: datetime.date, mood: str, language: str) -> list[VerseOfTheDay]:
    """The pair's verses of the last RECENT_DAYS days, newest first (the AI is asked to avoid them)."""
    return list(
        VerseOfTheDay.objects.filter(
            mood=mood, language=language, day__lt=day, day__gte=day - datetime.timedelta(days=RECENT_DAYS)
        ).order_by("-day")
    )


def _ai_propose(provider, *, mood: str, language: str, recent: list[VerseOfTheDay], run: AIRun | None = None):
    return provider.propose(mood=mood or "default", language=language, avoid=[v.reference for v in recent], run=run)


def _ai_run_start(provider, *, budget_seconds: float, run: AIRun | None = None) -> AIRun:
    """The run's AI state; its breaker already open when the model lookup says the setup is wrong."""
    run = run or AIRun(budget_seconds=budget_seconds)
    probe = provider_probe(provider)
    if probe.status == "misconfigured":
        run.trip(AIError(probe.reason, probe.message))
    return run


def _verse_of_the_day_make(
    *,
    day: datetime.date,
    mood: str,
    language: str,
    recent: list[VerseOfTheDay],
    propose: Callable | None,
    report: dict | None,
) -> VerseOfTheDay:
    """Store the pair's verse: the AI's proposal when `propose()` gives a valid one, else a fallback."""
    yesterday = recent[0] if recent and recent[0].day == day - datetime.timedelta(days=1) else None
    avoid_key = yesterday.passage_key if yesterday else None
    failure = ""
    fields = None
    if propose is not None:
        try:
            fields = _ai_fields(proposal=propose(), language=language, avoid_key=avoid_key)
        except (AIError, ProposalRejected) as exc:
            failure = exc.kind
            _count(report, AI_FAILURES.name, exc.kind)
            logger.warning(
                "event=ai_failed mood=%s language=%s kind=%s detail=%s",
                mood or "default",
                language,
                exc.kind,
                _log_value(getattr(exc, "message", "") or getattr(exc, "detail", "")),
            )
    if fields is None:
        fields = _fallback_fields(day=day, mood=mood, language=language, avoid_key=avoid_key)
        _count(report, FALLBACKS.name)
    try:
        with transaction.atomic():
            return VerseOfTheDay.objects.create(day=day, mood=mood, language=language, ai_failure=failure, **fields)
    except IntegrityError:  # made concurrently by another run: keep theirs
        return VerseOfTheDay.objects.get(day=day, mood=mood, language=language)


def verse_of_the_day_ensure(
    *, day: datetime.date, mood: str, language: str, provider=None, report: dict | None = None
) -> VerseOfTheDay:
    """The pair's verse for `day`, made once (one AI call at most) and stored."""
    existing = VerseOfTheDay.objects.filter(day=day, mood=mood, language=language).first()
    if existing is not None:
        return existing
    planned = planned_verses(day=day, pairs=[(mood, language)])
    if planned:
        return _planned_verse_make(day=day, mood=mood, language=language, fields=planned[(mood, language)])
    recent = _recent_verses(day=day, mood=mood, language=language)
    propose = None
    if provider is not None:
        # An on-demand request waits for no RetryInfo (budget 0) and skips a misconfigured AI.
        run = _ai_run_start(provider, budget_seconds=0)

        def propose():
            return _ai_propose(provider, mood=mood, language=language, recent=recent, run=run)

    return _verse_of_the_day_make(day=day, mood=mood, language=language, recent=recent, propose=propose, report=report)


def _planned_verse_make(*, day: datetime.date, mood: str, language: str, fields: dict) -> VerseOfTheDay:
    """Store the pair's planned verse (verses/editorial): no AI call."""
    try:
        with transaction.atomic():
            return VerseOfTheDay.objects.create(day=day, mood=mood, language=language, **fields)
    except IntegrityError:  # made concurrently by another run: keep theirs
        return VerseOfTheDay.objects.get(day=day, mood=mood, language=language)


def _count(report: dict | None, key: str, kind: str | None = None) -> None:
    if report is None:
        return
    if kind is None:
        report[key] += 1
    else:
        report[key][kind] += 1


def _log_value(text: str) -> str:
    """A log field value without spaces (key=value logs), short."""
    return "_".join(str(text).split())[:120] or "-"


def pair_verses_ensure(
    *, day: datetime.date, pairs: list[tuple[str, str]], report: dict, ai_run: AIRun | None = None
) -> None:
    # The database is the truth (a cache can outlive a row); the cache only confirms it.
    stored = _pair_verses_stored(day)
    cached = verse_cache_get_many(day, pairs)
    report[CACHE_HITS.name] += sum(1 for pair, pk in cached.items() if stored.get(pair) == pk)
    pending = [pair for pair in pairs if cached.get(pair) is None or cached[pair] != stored.get(pair)]
    if not pending:
        return
    provider = provider_get() if any(pair not in stored for pair in pending) else None
    if provider is None:
        _pair_verses_make(
            day=day,
            pairs=[pair for pair in pending if pair not in stored],
            provider=None,
            stored=stored,
            report=report,
            ai_run=ai_run,
        )
    else:
        with ai_phase_single_flight(day):
            stored = _pair_verses_stored(day)  # what the process we waited for has made
            _pair_verses_make(
                day=day,
                pairs=[pair for pair in pending if pair not in stored],
                provider=provider,
                stored=stored,
                report=report,
                ai_run=ai_run,
            )
    verse_cache_set_many(day, {pair: stored[pair] for pair in pending})


def _pair_verses_stored(day: datetime.date) -> dict[tuple[str, str], int]:
    return {
        (mood, language): pk
        for mood, language, pk in VerseOfTheDay.objects.filter(day=day).values_list("mood", "language", "pk")
    }


def _pair_verses_make(
    *, day: datetime.date, pairs: list[tuple[str, str]], provider, stored: dict, report: dict, ai_run: AIRun | None
) -> None:
    """Make the `pairs`' verses (asking the AI when there is a provider) and add them to `stored`.
    A pair with a planned verse (an operator's plan or the day's feast) gets it, without the AI."""
    planned = planned_verses(day=day, pairs=pairs)
    for (mood, language), fields in planned.items():
        stored[(mood, language)] = _planned_verse_make(day=day, mood=mood, language=language, fields=fields).pk
    pairs = [pair for pair in pairs if pair not in planned]
    run = (
        _ai_run_start(provider, budget_seconds=settings.VERSES_AI_BUDGET_SECONDS, run=ai_run)
        if provider and pairs
        else None
    )
    for index, batch in enumerate(_batches(pairs, settings.VERSES_BATCH_SIZE)):
        if index and run is not None and run.tripped is None:
            run.sleep(settings.VERSES_BATCH_PAUSE_SECONDS)  # rate limit of the external calls
        recent = {pair: _recent_verses(day=day, mood=pair[0], language=pair[1]) for pair in batch}
        # The batch's AI calls go out together (network only); the answers are checked and stored here.
        with ThreadPoolExecutor(max_workers=max(1, min(len(batch), settings.VERSES_AI_CONCURRENCY))) as pool:
            calls = {
                pair: pool.submit(_ai_propose, provider, mood=pair[0], language=pair[1], recent=recent[pair], run=run)
                for pair in batch
                if provider is not None
            }
            for mood, language in batch:
                call = calls.get((mood, language))
                verse = _verse_of_the_day_make(
                    day=day,
                    mood=mood,
                    language=language,
                    recent=recent[(mood, language)],
                    propose=call.result if call else None,
                    report=report,
                )
                stored[(mood, language)] = verse.pk
    if run is not None:
        report.update(run.counts())  # requests sent (retries included) and their tokens


def provisional_verse_ensure(*, day: datetime.date, mood: str, language: str) -> VerseOfTheDay:
    recent = _recent_verses(day=day, mood=mood, language=language)
    yesterday = recent[0] if recent and recent[0].day == day - datetime.timedelta(days=1) else None
    fields = _fallback_fields(
        day=day, mood=mood, language=language, avoid_key=yesterday.passage_key if yesterday else None
    )
    try:
        with transaction.atomic():
            verse = VerseOfTheDay.all_objects.create(
                day=day, mood=mood, language=language, provisional=True, ai_failure="pending", **fields
            )
    except IntegrityError:  # another request made it (and enqueued the task)
        return VerseOfTheDay.all_objects.get(day=day, mood=mood, language=language, provisional=True)
    transaction.on_commit(lambda: _pair_verse_task_enqueue(day=day, mood=mood, language=language))
    return verse


def _pair_verse_task_enqueue(*, day: datetime.date, mood: str, language: str) -> None:
    from django_q.tasks import async_task  # the web process only enqueues; a worker runs it

    async_task(
        "verses.jobs.verse_of_the_day_make",
        day=day.isoformat(),
        mood=mood,
        language=language,
        task_name=f"verse-of-the-day:{day.isoformat()}:{mood or 'default'}:{language}",
    )
    logger.info(
        "event=verse_pair_task_enqueued day=%s mood=%s language=%s", day.isoformat(), mood or "default", language
    )


def pair_verse_ai_fields(*, day: datetime.date, mood: str, language: str, avoid_key: str | None) -> dict:
    """The AI asked once more for the pair's verse (an operator's review): the fields of a checked
    proposal other than the passage keyed `avoid_key`; raises AIError (also when the AI is off)
    or ProposalRejected."""
    provider = provider_get()
    if provider is None:
        raise AIError("disabled", "the AI is off")
    run = _ai_run_start(provider, budget_seconds=0)
    if run.tripped is not None:
        raise run.tripped
    recent = _recent_verses(day=day, mood=mood, language=language)
    proposal = _ai_propose(provider, mood=mood, language=language, recent=recent, run=run)
    return _ai_fields(proposal=proposal, language=language, avoid_key=avoid_key)
