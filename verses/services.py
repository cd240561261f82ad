"""Daily verse generation: one verse per (day, mood, language), shared by the users of the pair.

The AI (when configured) proposes a passage and writes a reflection; the text always comes from
the edition. Any failure falls back to a curated verse for that pair only. Users are then given
their pair's verse set-based, chunk by chunk (INSERT … SELECT that skips existing (user, day)).
"""

import contextlib
import datetime
import hashlib
import logging
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from itertools import islice

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, Window
from django.db.models.functions import Mod, RowNumber
from django.utils import timezone

from soulverse.db import rows_delete_before, tables_analyze_if_stale
from users.models import User
from users.selectors import users_active
from verses import partitions
from verses.ai.gemini import AIError, AIRun, provider_get, provider_probe
from verses.bible.curated import CuratedVerse, curated_pool
from verses.bible.references import passage_key
from verses.cache import verse_cache_get_many, verse_cache_set_many
from verses.models import DailyVerse, Delivery, VerseOfTheDay, VerseOpen
from verses.reflections import fallback_reflection
from verses.selectors import local_date
from verses.validation import ProposalRejected, proposal_check

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
            _count(report, "ai_failures", exc.kind)
            logger.warning(
                "event=ai_failed mood=%s language=%s kind=%s detail=%s",
                mood or "default",
                language,
                exc.kind,
                _log_value(getattr(exc, "message", "") or getattr(exc, "detail", "")),
            )
    if fields is None:
        fields = _fallback_fields(day=day, mood=mood, language=language, avoid_key=avoid_key)
        _count(report, "fallbacks")
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
    recent = _recent_verses(day=day, mood=mood, language=language)
    propose = None
    if provider is not None:
        # An on-demand request waits for no RetryInfo (budget 0) and skips a misconfigured AI.
        run = _ai_run_start(provider, budget_seconds=0)

        def propose():
            return _ai_propose(provider, mood=mood, language=language, recent=recent, run=run)

    return _verse_of_the_day_make(day=day, mood=mood, language=language, recent=recent, propose=propose, report=report)


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


def _pair_verses_ensure(
    *, day: datetime.date, pairs: list[tuple[str, str]], report: dict, ai_run: AIRun | None = None
) -> None:
    # The database is the truth (a cache can outlive a row); the cache only confirms it.
    stored = _pair_verses_stored(day)
    cached = verse_cache_get_many(day, pairs)
    report["cache_hits"] += sum(1 for pair, pk in cached.items() if stored.get(pair) == pk)
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
        with _ai_phase_single_flight(day):
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
    """Make the `pairs`' verses (asking the AI when there is a provider) and add them to `stored`."""
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


AI_PHASE_POLL_SECONDS = 0.5


def _ai_phase_wait() -> None:
    time.sleep(AI_PHASE_POLL_SECONDS)


@contextlib.contextmanager
def _ai_phase_single_flight(day: datetime.date) -> Iterator[None]:
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


def users_chunk_bounds(users, *, chunk_size: int) -> list[tuple[uuid.UUID | None, uuid.UUID | None]]:
    """Keyset ranges (after, upto] of `chunk_size` of `users` each, covering them all (one query)."""
    ends = list(
        users.annotate(position=Window(RowNumber(), order_by=F("id").asc()))
        .annotate(remainder=Mod(F("position"), chunk_size))
        .filter(remainder=0)
        .values_list("id", flat=True)
    )
    starts = [None, *ends]
    return list(zip(starts, [*ends, None]))


def daily_verses_chunk_bounds(*, chunk_size: int) -> list[tuple[uuid.UUID | None, uuid.UUID | None]]:
    """Keyset ranges (after, upto] of `chunk_size` active users each, covering them all (one query)."""
    return users_chunk_bounds(users_active(), chunk_size=chunk_size)


def daily_verses_assign_chunk(*, day: datetime.date, after: uuid.UUID | None, upto: uuid.UUID | None) -> dict:
    """Give the active users with after < id <= upto the verse of their pair, in one statement.

    Idempotent: existing (user, day) rows are skipped, so a repeated chunk creates nothing."""
    users = users_active()
    if after is not None:
        users = users.filter(id__gt=after)
    if upto is not None:
        users = users.filter(id__lte=upto)
    if connection.vendor == "postgresql" and connection.in_atomic_block:
        # The chunk is idempotent and marked done in this same transaction: a commit lost in a
        # crash loses the mark with the rows, and the chunk is simply done again. Not waiting for
        # the WAL flush takes the commit off the chunk's time. Durable commits that come later (the
        # run's close) flush this one too: WAL is written in order. Only here: a push chunk's
        # transaction records sends, which must survive a crash (verses/push/delivery.py).
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit = off")
    return daily_verses_assign(day=day, users=users)


def daily_verses_assign(*, day: datetime.date, users) -> dict:
    """Give `users` (a queryset) the verse of their pair for `day` in one INSERT … SELECT that
    skips existing (user, day) rows; the pairs' verses must exist."""
    user_sql, user_params = users.values("id", "mood", "language").query.sql_with_params()
    verse_table = connection.ops.quote_name(VerseOfTheDay._meta.db_table)
    daily_table = connection.ops.quote_name(DailyVerse._meta.db_table)
    day_value = connection.ops.adapt_datefield_value(day)
    # "WHERE 1=1" lets SQLite tell the upsert clause from the join's ON.
    sql = (
        f"INSERT INTO {daily_table} (user_id, day, verse_id, created_at) "
        f"SELECT u.id, %s, v.id, %s FROM ({user_sql}) u "
        f"JOIN {verse_table} v ON v.day = %s AND v.mood = u.mood AND v.language = u.language "
        f"AND NOT v.provisional "
        f"WHERE 1=1 ON CONFLICT (user_id, day) DO NOTHING"
    )
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            sql, [day_value, connection.ops.adapt_datetimefield_value(timezone.now()), *user_params, day_value]
        )
        created = max(cursor.rowcount, 0)
    return {"verses_created": created, "assign_seconds": round(time.perf_counter() - started, 4)}


def daily_verses_prepare(*, day: datetime.date, ai_run: AIRun | None = None) -> tuple[dict, list[dict]]:
    """Make the day's verse of every (mood, language) pair of the active users, and split the
    users into chunks for `daily_verses_assign_chunk`: (counts, chunks' keyword arguments)."""
    started = time.monotonic()
    report = Counter(
        users_processed=0,
        verses_created=0,
        ai_calls=0,
        ai_prompt_tokens=0,
        ai_output_tokens=0,
        ai_thinking_tokens=0,
        fallbacks=0,
        cache_hits=0,
    )
    report["ai_failures"] = Counter()
    daily_verse_partitions_ensure(today=day)  # the clean-up job makes them too; a missed one costs nothing here
    tables_analyze_if_stale(User._meta.db_table, VerseOfTheDay._meta.db_table)
    # One pass over the active users: their (mood, language) pairs and how many they are.
    groups = list(users_active().order_by().values_list("mood", "language").annotate(users=Count("id")))
    pairs = [(mood, language) for mood, language, _ in groups]
    _pair_verses_ensure(day=day, pairs=pairs, report=report, ai_run=ai_run)
    report["users_processed"] = sum(users for _, _, users in groups)
    counts = {"day": day.isoformat(), "pairs": len(pairs), **report, "ai_failures": dict(report["ai_failures"])}
    _log_report(counts)
    bounds = daily_verses_chunk_bounds(chunk_size=settings.VERSES_ASSIGN_CHUNK_SIZE)
    chunks = [
        {"day": day.isoformat(), "after": after and str(after), "upto": upto and str(upto)} for after, upto in bounds
    ]
    counts["prepare_seconds"] = round(time.monotonic() - started, 3)
    return counts, chunks


def daily_verse_partitions_ensure(*, today: datetime.date | None = None) -> list[str]:
    """PostgreSQL: the daily verse table has its partitions up to MONTHS_AHEAD months after
    `today`'s; returns the ones created (nothing to do on SQLite)."""
    if connection.vendor != "postgresql":
        return []
    today = today or timezone.localdate()
    with transaction.atomic(), connection.cursor() as cursor:
        if not partitions.is_partitioned(cursor):
            return []
        return partitions.partitions_ensure(cursor, first=today, last=partitions.months_ahead_end(today))


SQLITE_DELETE_BATCH = 10_000


def daily_verses_history_purge(*, today: datetime.date | None = None) -> dict:
    """Forget the per-user verses older than VERSES_HISTORY_DAYS, by whole months (the first day
    kept is a month's first): on PostgreSQL their monthly partitions are dropped, on SQLite the
    rows are deleted in batches. Partitions for the coming months are made first."""
    today = today or timezone.localdate()
    start = partitions.history_start(today=today, days=settings.VERSES_HISTORY_DAYS)
    report = {
        "daily_verses_kept_from": start.isoformat(),
        "daily_verse_partitions_created": 0,
        "daily_verse_partitions_dropped": 0,
        "daily_verses_deleted": 0,
    }
    if connection.vendor == "postgresql":
        report["daily_verse_partitions_created"] = len(daily_verse_partitions_ensure(today=today))
        with transaction.atomic(), connection.cursor() as cursor:
            if partitions.is_partitioned(cursor):
                report["daily_verse_partitions_dropped"] = len(partitions.partitions_drop_before(cursor, start=start))
                report["daily_verses_deleted"] = max(cursor.rowcount, 0)  # the default partition's
                return report
    table = connection.ops.quote_name(DailyVerse._meta.db_table)
    while True:  # short transactions: SQLite has one writer at a time
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {table} WHERE rowid IN "
                f"(SELECT rowid FROM {table} WHERE day < %s LIMIT {SQLITE_DELETE_BATCH})",
                [start],
            )
            deleted = cursor.rowcount
        report["daily_verses_deleted"] += deleted
        if deleted < SQLITE_DELETE_BATCH:
            return report


def daily_verses_table_analyze() -> None:
    """Refresh PostgreSQL's statistics of the daily verse table once a day's rows are in.

    Without it the planner does not know the new day yet and may look a user's verse up
    through the (day, verse) index, scanning the whole day instead of one row."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(DailyVerse._meta.db_table)}")


def _log_report(result: dict) -> None:
    fields = " ".join(f"{key}={value}" for key, value in result.items() if key != "ai_failures")
    failures = "".join(f" ai_failure_{kind}={n}" for kind, n in result["ai_failures"].items())
    logger.info("event=daily_verses_prepared %s%s", fields, failures)


def user_local_date(user: User) -> datetime.date:
    return local_date(user.timezone)


def daily_verse_for_user(*, user: User, day: datetime.date | None = None) -> DailyVerse:
    """The user's verse for `day` (default: their local date), at once: never an AI call here.

    - The user's DailyVerse exists: it (a user's verse never changes once given).
    - Their pair's verse exists: given to them now.
    - Neither, AI off: the pair's curated fallback is made (as the daily run would) and given.
    - Neither, AI on: the user gets the pair's *provisional* verse (the curated fallback the run
      would fall back to; one row per pair and day, made by the first such request), kept for the
      day; the request that made that row enqueues the one task that asks the AI for the pair
      (its insert is the single-flight lock, across processes). Users asking after the task
      has run get the pair's verse like everyone else."""
    day = day or user_local_date(user)
    daily = DailyVerse.objects.select_related("verse").filter(user=user, day=day).first()
    if daily is not None:
        return daily
    verse = VerseOfTheDay.objects.filter(day=day, mood=user.mood, language=user.language).first()
    if verse is None:
        if provider_get() is None:
            verse = verse_of_the_day_ensure(day=day, mood=user.mood, language=user.language)
        else:
            verse = _provisional_verse_ensure(day=day, mood=user.mood, language=user.language)
    try:
        with transaction.atomic():
            daily = DailyVerse.objects.create(user=user, day=day, verse=verse)
    except IntegrityError:  # given concurrently (another request, the daily run): theirs
        return DailyVerse.objects.select_related("verse").get(user=user, day=day)
    logger.info(
        "event=verse_on_demand user=%s day=%s source=%s provisional=%s",
        user.short_id,
        day.isoformat(),
        verse.source,
        verse.provisional,
    )
    return daily


def _provisional_verse_ensure(*, day: datetime.date, mood: str, language: str) -> VerseOfTheDay:
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


def verse_of_the_day_make(*, day: datetime.date, mood: str, language: str) -> dict:
    """The pair's verse, asking the AI if it is still to be made (the on-demand worker task)."""
    verse = verse_of_the_day_ensure(day=day, mood=mood, language=language, provider=provider_get())
    return {"verse_id": verse.pk, "source": verse.source, "ai_failure": verse.ai_failure}


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


DELIVERY_UNCONFIRMED_ERROR = "unconfirmed: handed to FCM, its verdict never recorded; FCM may have delivered it"


def deliveries_unconfirmed_close(*, before: datetime.date, days: int = 7) -> int:
    """Close the pushes of the `days` local dates before `before` still `sending` after their claim
    expired: handed to FCM, their verdict never recorded (a worker died, or a database outage
    outlasted the record's retries), and no tick took them over: their user was no longer due for
    that date (notifications turned off, token cleared, account deactivated, another zone or
    `notify_at`), or the date ended first. They become `failed`, saying FCM may have delivered them;
    ticks only send a zone's current local date, so no tick takes them up again. One index seek
    per day on (day, state); rows older than the window (the job stopped for longer) stay as they
    are until the history purge."""
    window = [before - datetime.timedelta(days=n) for n in range(1, days + 1)]
    now = timezone.now()
    return Delivery.objects.filter(day__in=window, state=Delivery.State.SENDING, claimed_until__lt=now).update(
        state=Delivery.State.FAILED, error=DELIVERY_UNCONFIRMED_ERROR, claim="", claimed_until=None, updated_at=now
    )


def deliveries_purge(*, before: datetime.date, batch_size: int = 10_000) -> int:
    """Delete the push delivery records of the days before `before`, `batch_size` rows per statement."""
    return rows_delete_before(Delivery, day=before, batch_size=batch_size)
