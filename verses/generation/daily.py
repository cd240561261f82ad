"""The daily run: make every pair's verse, then give users their pair's verse set-based, chunk by
chunk (INSERT … SELECT that skips existing (user, day))."""

import datetime
import logging
import time
import uuid
from collections import Counter

from django.conf import settings
from django.db import connection
from django.db.models import F, Window
from django.db.models.functions import Mod, RowNumber
from django.utils import timezone

from soulverse.db import tables_analyze_if_stale
from users.models import Device, User
from users.selectors import users_active
from verses.ai.counts import AI_CALLS, AI_FAILURES, AI_TOKEN_COUNTS
from verses.ai.run import AIRun
from verses.generation.counts import CACHE_HITS, FALLBACKS, PAIRS, USERS_PROCESSED, VERSES_CREATED
from verses.generation.pairs import pair_verses_ensure
from verses.history import daily_verse_partitions_ensure
from verses.models import DailyVerse, VerseOfTheDay

logger = logging.getLogger(__name__)


def keyset_chunk_bounds(rows, *, chunk_size: int) -> list[tuple]:
    """Keyset ranges (after, upto] of `chunk_size` of `rows` (any queryset, by its primary key:
    user ids for users, delivery ids for a campaign's deliveries) each, covering them all (one
    query)."""
    ends = list(
        rows.annotate(position=Window(RowNumber(), order_by=F("id").asc()))
        .annotate(remainder=Mod(F("position"), chunk_size))
        .filter(remainder=0)
        .values_list("id", flat=True)
    )
    return _bounds(ends)


def _bounds(ends: list[uuid.UUID]) -> list[tuple[uuid.UUID | None, uuid.UUID | None]]:
    starts = [None, *ends]
    return list(zip(starts, [*ends, None]))


def users_groups_and_chunk_bounds(
    users, *, chunk_size: int
) -> tuple[list[tuple[str, str, int]], list[tuple[uuid.UUID | None, uuid.UUID | None]]]:
    """`users`' (mood, language, count) groups and their keyset chunk ranges, from one pass.

    An active user is a semi-join of the users and their devices, the dearest part of planning a
    run (bench/daily_run.py): one scan numbers the users by id and groups them by (mood, language,
    the id when it ends a chunk), a few hundred rows, instead of one scan for the groups and
    another for the bounds."""
    user_sql, user_params = users.order_by().values("id", "mood", "language").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT s.mood, s.language, s.chunk_end, COUNT(*) FROM ("
            "SELECT a.mood, a.language, CASE WHEN ROW_NUMBER() OVER (ORDER BY a.id) %% %s = 0 THEN a.id END "
            f"AS chunk_end FROM ({user_sql}) a) s GROUP BY s.mood, s.language, s.chunk_end",
            [chunk_size, *user_params],
        )
        rows = cursor.fetchall()
    groups = Counter()
    ends = []
    for mood, language, chunk_end, count in rows:
        groups[mood, language] += count
        if chunk_end is not None:
            ends.append(chunk_end if isinstance(chunk_end, uuid.UUID) else uuid.UUID(chunk_end))
    return [(mood, language, count) for (mood, language), count in sorted(groups.items())], _bounds(sorted(ends))


def daily_verses_assign_chunk(*, day: datetime.date, after: uuid.UUID | None, upto: uuid.UUID | None) -> dict:
    """Give the active users with after < id <= upto the verse of their pair, in one statement.

    Idempotent: existing (user, day) rows are skipped, so a repeated chunk creates nothing."""
    users = users_active(after=after, upto=upto)
    if connection.vendor == "postgresql" and connection.in_atomic_block:
        # The chunk is idempotent and marked done in this same transaction: a commit lost in a
        # crash loses the mark with the rows, and the chunk is simply done again. Not waiting for
        # the WAL flush takes the commit off the chunk's time. Durable commits that come later (the
        # run's close) flush this one too: WAL is written in order. Only here: a push chunk's
        # transaction records sends, which must survive a crash (verses/push/delivery.py).
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit = off")
            # "Has a device" is an EXISTS over the devices of the chunk's range. PostgreSQL
            # underestimates that semi-join (a few rows for 5,000) and probes the devices' index
            # once per user, nested in a loop over the pairs' verses; without nested loops it
            # merges the two index ranges (tens of pages) and hashes the verses (bench/daily_run.py).
            cursor.execute("SET LOCAL enable_nestloop = off")
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
        f"AND NOT v.provisional AND v.superseded_at IS NULL "
        f"WHERE 1=1 ON CONFLICT (user_id, day) DO NOTHING"
    )
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            sql, [day_value, connection.ops.adapt_datetimefield_value(timezone.now()), *user_params, day_value]
        )
        created = max(cursor.rowcount, 0)
    return {VERSES_CREATED.name: created, "assign_seconds": round(time.perf_counter() - started, 4)}


def daily_verses_prepare(*, day: datetime.date, ai_run: AIRun | None = None) -> tuple[dict, list[dict]]:
    """Make the day's verse of every (mood, language) pair of the active users, and split the
    users into chunks for `daily_verses_assign_chunk`: (counts, chunks' keyword arguments)."""
    started = time.monotonic()
    report = Counter(
        {
            count.name: 0
            for count in (USERS_PROCESSED, VERSES_CREATED, AI_CALLS, *AI_TOKEN_COUNTS, FALLBACKS, CACHE_HITS)
        }
    )
    report[AI_FAILURES.name] = Counter()
    daily_verse_partitions_ensure(today=day)  # the clean-up job makes them too; a missed one costs nothing here
    tables_analyze_if_stale(User._meta.db_table, Device._meta.db_table, VerseOfTheDay._meta.db_table)
    # One pass over the active users: their (mood, language) pairs, how many they are, the chunks.
    groups, bounds = users_groups_and_chunk_bounds(users_active(), chunk_size=settings.VERSES_ASSIGN_CHUNK_SIZE)
    pairs = [(mood, language) for mood, language, _ in groups]
    pair_verses_ensure(day=day, pairs=pairs, report=report, ai_run=ai_run)
    report[USERS_PROCESSED.name] = sum(users for _, _, users in groups)
    counts = {
        "day": day.isoformat(),
        PAIRS.name: len(pairs),
        **report,
        AI_FAILURES.name: dict(report[AI_FAILURES.name]),
    }
    _log_report(counts)
    chunks = [
        {"day": day.isoformat(), "after": after and str(after), "upto": upto and str(upto)} for after, upto in bounds
    ]
    counts["prepare_seconds"] = round(time.monotonic() - started, 3)
    return counts, chunks


def _log_report(result: dict) -> None:
    fields = " ".join(f"{key}={value}" for key, value in result.items() if key != AI_FAILURES.name)
    failures = "".join(f" ai_failure_{kind}={n}" for kind, n in result[AI_FAILURES.name].items())
    logger.info("event=daily_verses_prepared %s%s", fields, failures)
