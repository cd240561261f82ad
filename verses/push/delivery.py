"""The delivery tick: each due user is sent the verse of their local date, once.

A tick (every 15 minutes, or `deliver_verses --at`) groups the eligible users' time zones by the
local date and time they read at the tick's instant, makes the pairs' verses of each due local
date (the AI phase, shared with the 06:00 run), and splits the due users into chunks of
PUSH_CHUNK_SIZE (one FCM batch). A chunk works in three steps, each committed before the next:

1. claim: give its users their verse of the day (the same INSERT … SELECT as the 06:00 run, so
   `verses/today` and the push show the same verse), a delivery per (user, local date), and
   mark the ones it will send `sending`, claimed by the chunk;
2. send, outside any transaction (no row lock is held while FCM answers);
3. record FCM's verdicts (retried in place through a database outage: never sent again for it).

A push is sent twice only if its worker dies between 1 and 3 with the push handed to FCM (in
flight): the chunk's re-run resends what it had claimed; a claim left by a chunk that ended
otherwise is taken over by a later tick once `claimed_until` has passed.
"""

import datetime
import logging
import uuid
import zoneinfo
from collections import Counter

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from soulverse.db import db_retry
from users.models import User
from verses.ai.counts import AI_CALLS, AI_FAILURES
from verses.generation.counts import FALLBACKS
from verses.generation.daily import daily_verses_assign, users_chunk_bounds
from verses.generation.pairs import pair_verses_ensure
from verses.models import DailyVerse, Delivery
from verses.push import fcm
from verses.push.counts import (
    DELIVER_VERSES_COUNTS,
    PUSH_CHUNK_COUNTS,
    PUSH_CHUNKS,
    PUSH_DUE,
    PUSH_FAILED,
    PUSH_GAVE_UP,
    PUSH_GROUPS,
    PUSH_INVALID_TOKENS,
    PUSH_RETRIED,
    PUSH_SENT,
    PUSH_VALIDATED,
)
from verses.push.hold import users_push_unheld
from verses.selectors import push_due_groups, users_push_due

logger = logging.getLogger(__name__)


class VerdictsUnrecorded(RuntimeError):
    """FCM's verdicts could not be recorded through a database outage: the chunk fails rather
    than send them again; its claims expire and a later tick resends (counted as in flight)."""


def push_tick_prepare(*, at: datetime.datetime, dry_run: bool = False) -> tuple[dict, list[dict]]:
    """Plan the tick at instant `at`: (the tick's own counts, the chunks' keyword arguments).

    Queries: one for the zones, then per group of zones sharing a local date and time, one for
    the due users' pairs and one for the chunk bounds; never one per user."""
    # Every push count is in the run's counts, 0 when no chunk adds to it (flat ints, exported as metrics).
    counts = Counter({count.name: 0 for count in DELIVER_VERSES_COUNTS})
    chunks: list[dict] = []
    if fcm.fcm_app() is None:
        return {"at": at.isoformat(), "push_enabled": 0, **counts}, []
    report = Counter(ai_calls=0, fallbacks=0, cache_hits=0)
    report[AI_FAILURES.name] = Counter()
    for group in push_due_groups(at=at):
        due = users_push_due(day=group.day, zones=group.zones, local_time=group.local_time)
        pairs = list(due.order_by().values_list("mood", "language").distinct())
        if not pairs:
            continue
        counts[PUSH_GROUPS.name] += 1
        pair_verses_ensure(day=group.day, pairs=pairs, report=report)
        for after, upto in users_chunk_bounds(due, chunk_size=settings.PUSH_CHUNK_SIZE):
            chunks.append(
                {
                    "at": at.isoformat(),
                    "day": group.day.isoformat(),
                    "zones": list(group.zones),
                    "local_time": group.local_time.isoformat(),
                    "after": after and str(after),
                    "upto": upto and str(upto),
                    "dry_run": dry_run,
                }
            )
    counts.update(
        {AI_CALLS.name: report[AI_CALLS.name], FALLBACKS.name: report[FALLBACKS.name], PUSH_CHUNKS.name: len(chunks)}
    )
    logger.info(
        "event=push_tick_planned at=%s groups=%s chunks=%s dry_run=%s",
        at.isoformat(),
        counts[PUSH_GROUPS.name],
        len(chunks),
        dry_run,
    )
    return {"at": at.isoformat(), "push_enabled": 1, **counts}, chunks


def _end_of_local_day(day: datetime.date, zone: str) -> datetime.datetime:
    tz = zoneinfo.ZoneInfo(zone)
    return datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time.min, tzinfo=tz)


def _deliveries_create(*, day: datetime.date, users) -> None:
    """A pending delivery per due user, with their verse of `day`; existing rows are kept."""
    user_sql, user_params = users.values("id").query.sql_with_params()
    table = connection.ops.quote_name(Delivery._meta.db_table)
    daily = connection.ops.quote_name(DailyVerse._meta.db_table)
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    day_value = connection.ops.adapt_datefield_value(day)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (user_id, day, verse_id, state, attempts, message_id, error, claim, created_at, "
            f"updated_at) SELECT u.id, %s, dv.verse_id, %s, 0, '', '', '', %s, %s FROM ({user_sql}) u "
            f"JOIN {daily} dv ON dv.user_id = u.id AND dv.day = %s "
            f"WHERE 1=1 ON CONFLICT (user_id, day) DO NOTHING",
            [day_value, Delivery.State.PENDING, now, now, *user_params, day_value],
        )


def _deliveries_claim(*, day: datetime.date, user_ids: list, claim: str) -> list[dict]:
    """Mark the chunk's sendable deliveries `sending`, claimed by `claim`; their rows to send.

    Sendable: pending, failed on an earlier tick, refused for a token the user has replaced
    since (a user with no token is not due), or sending under this same claim (a re-run of the
    chunk after its worker died) or under a claim that has expired."""
    now = timezone.now()
    claimable = Q(state__in=[Delivery.State.PENDING, Delivery.State.FAILED, Delivery.State.INVALID_TOKEN]) | Q(
        state=Delivery.State.SENDING
    ) & (Q(claim=claim) | Q(claimed_until__lt=now))
    # Rows another chunk is claiming are left to it (SKIP LOCKED); every statement finds its rows
    # by key, through the (user, day) unique index or the primary key.
    ids = list(
        Delivery.objects.select_for_update(skip_locked=True)
        .filter(day=day, user_id__in=user_ids)
        .filter(claimable)
        .values_list("id", flat=True)
    )
    Delivery.objects.filter(id__in=ids).update(
        state=Delivery.State.SENDING,
        claim=claim,
        attempts=F("attempts") + 1,
        updated_at=now,
        claimed_until=now + datetime.timedelta(seconds=settings.PUSH_CLAIM_SECONDS),
    )
    return list(Delivery.objects.filter(id__in=ids).values("id", "attempts", "day", *_ROW_FIELDS))


_ROW_FIELDS = (
    "user_id",
    "user__fcm_token",
    "user__language",
    "user__timezone",
    "verse_id",
    "verse__reference",
    "verse__text",
)


def _results_record(*, rows: list[dict], results: dict, claim: str, counts: Counter) -> None:
    """Record FCM's verdicts in one UPDATE (Django's bulk_update costs seconds for 500 rows),
    and clear the tokens FCM refused; only rows still under the chunk's claim."""
    values, dead_users, dead_tokens = [], [], []
    for row in rows:
        result = results[row["user_id"]]
        if result.outcome == fcm.Outcome.SENT:
            state = Delivery.State.SENT
            counts[PUSH_SENT.name] += 1
        elif result.outcome == fcm.Outcome.INVALID_TOKEN:
            state = Delivery.State.INVALID_TOKEN
            dead_users.append(row["user_id"])
            dead_tokens.append(row["user__fcm_token"])
            counts[PUSH_INVALID_TOKENS.name] += 1
        else:
            state = Delivery.State.FAILED
            counts[PUSH_FAILED.name] += 1
            if row["attempts"] >= settings.PUSH_MAX_TICKS:
                counts[PUSH_GAVE_UP.name] += 1
                logger.warning(
                    "event=push_gave_up user=%s day=%s error=%s",
                    row["user_id"].hex[:8],
                    row["day"].isoformat(),
                    result.error,
                )
        values.append((row["id"], state, result.message_id[:200], result.error[:200]))
    if not values:
        return
    table = connection.ops.quote_name(Delivery._meta.db_table)
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    rows_sql = ", ".join(["(%s, %s, %s, %s)"] * len(values))
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"WITH v(id, state, message_id, error) AS (VALUES {rows_sql}) "
            f"UPDATE {table} SET state = v.state, message_id = v.message_id, error = v.error, "
            f"claim = '', claimed_until = NULL, updated_at = %s, "
            f"sent_at = CASE WHEN v.state = %s THEN %s ELSE {table}.sent_at END "
            f"FROM v WHERE {table}.id = v.id AND {table}.state = %s AND {table}.claim = %s",
            [value for row in values for value in row] + [now, Delivery.State.SENT, now, Delivery.State.SENDING, claim],
        )
        if dead_users:
            # Only the token FCM refused: a user who registered a new one since keeps it.
            User.objects.filter(pk__in=dead_users, fcm_token__in=dead_tokens).update(fcm_token="")


def _pushes(rows: list[dict], *, day: datetime.date) -> list[fcm.Push]:
    return [
        fcm.Push(
            key=row["user_id"],
            token=row["user__fcm_token"],
            language=row["user__language"],
            day=day,
            reference=row["verse__reference"],
            text=row["verse__text"],
            verse_id=row["verse_id"],
            expires_at=_end_of_local_day(day, row["user__timezone"]),
        )
        for row in rows
    ]


def push_chunk_deliver(
    *,
    chunk_id: int,
    at: datetime.datetime,
    day: datetime.date,
    zones: list[str],
    local_time: datetime.time,
    after: uuid.UUID | None,
    upto: uuid.UUID | None,
    dry_run: bool = False,
) -> dict:
    """Send the due users with after < id <= upto their verse of `day`: claim, send, record (see
    the module's docstring); idempotent (a user sent already is no longer due)."""
    counts = Counter({count.name: 0 for count in PUSH_CHUNK_COUNTS})
    dry_run = dry_run or settings.FCM_DRY_RUN
    users = users_push_unheld(users_push_due(day=day, zones=zones, local_time=local_time), day=day)
    if after is not None:
        users = users.filter(id__gt=after)
    if upto is not None:
        users = users.filter(id__lte=upto)
    claim = f"chunk:{chunk_id}"
    with transaction.atomic():
        # The chunk's due users, read once and then named by key: the due-users query joins the
        # deliveries, and a plan made for it while that table was still small (early in a tick,
        # before any ANALYZE) rescanned it for each user as the tick filled it: a 1,000,000-user
        # tick stalled for 40 minutes on one chunk's claim (bench/push.py).
        user_ids = list(users.values_list("id", flat=True))
        rows = []
        if user_ids:
            chunk_users = User.objects.filter(id__in=user_ids)
            daily_verses_assign(day=day, users=chunk_users)
            if dry_run:  # validate_only: nothing is recorded
                rows = list(DailyVerse.objects.filter(day=day, user_id__in=user_ids).values("day", *_ROW_FIELDS))
            else:
                _deliveries_create(day=day, users=chunk_users)
                rows = _deliveries_claim(day=day, user_ids=user_ids, claim=claim)
    counts[PUSH_DUE.name] = len(rows)
    results = {}
    if rows:
        sent, counts[PUSH_RETRIED.name] = fcm.pushes_send(
            _pushes(rows, day=day), dry_run=dry_run, now=max(at, timezone.now())
        )
        results = {result.key: result for result in sent}
    if dry_run:
        for result in results.values():
            counts[
                PUSH_VALIDATED.name
                if result.outcome == fcm.Outcome.SENT
                else PUSH_INVALID_TOKENS.name
                if result.outcome == fcm.Outcome.INVALID_TOKEN
                else PUSH_FAILED.name
            ] += 1
    else:
        try:
            db_retry("push_record_retry")(_results_record)(rows=rows, results=results, claim=claim, counts=counts)
        except (OperationalError, InterfaceError) as exc:
            logger.error(
                "event=push_verdicts_unrecorded chunk=%s day=%s pushes=%s", chunk_id, day.isoformat(), len(rows)
            )
            raise VerdictsUnrecorded(f"{len(rows)} verdicts unrecorded: {exc}") from exc
    logger.info(
        "event=push_chunk day=%s zones=%s due=%s sent=%s invalid_tokens=%s failed=%s retried=%s dry_run=%s",
        day.isoformat(),
        len(zones),
        counts[PUSH_DUE.name],
        counts[PUSH_SENT.name],
        counts[PUSH_INVALID_TOKENS.name],
        counts[PUSH_FAILED.name],
        counts[PUSH_RETRIED.name],
        dry_run,
    )
    return dict(counts)
