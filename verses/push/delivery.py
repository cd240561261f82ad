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

A user's verse goes to each of their devices (one message per device, `fid` or `token`); the user
is sent it (`sent_at`, counted once) when a first device accepted it, and the delivery records
which did (`sent_devices`): a delivery taken up again (a device FCM could not reach this tick,
a chunk re-run) is sent only to the devices not yet accepted. FCM's verdict on one device acts
on that device only (a dead one is removed, the user's others keep it).

A push is sent twice only if its worker dies between 1 and 3 with the push handed to FCM (in
flight): the chunk's re-run resends what it had claimed (to each device of it); a claim left by
a chunk that ended otherwise is taken over by a later tick once `claimed_until` has passed.

Prepare ahead, fire on time: a tick also prepares the users due by the next one
(PUSH_PREPARE_AHEAD_MINUTES later): their pairs' verses, their verse of the day and a `pending`
delivery, in chunk tasks after the tick's sending ones. At their slot a user who has a delivery
already skips that part of step 1. Preparation claims nothing and sends nothing: who is due is
decided again at the slot from the users as they are then (time zone, notify_at, active, devices,
held), so a user who changed in between is not pushed by it; a delivery prepared for a user who
is never due stays `pending`, which no count of pushes reads (sent, failed, given up: only rows a
chunk has claimed).
"""

import datetime
import json
import logging
import uuid
import zoneinfo
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import Exists, F, Model, OuterRef, Q, QuerySet
from django.utils import timezone

from soulverse.db import db_retry, tables_analyze_if_stale
from users.models import Device, User, identifier_short
from verses.ai.counts import AI_CALLS, AI_FAILURES
from verses.generation.counts import FALLBACKS
from verses.generation.daily import daily_verses_assign, users_groups_and_chunk_bounds
from verses.generation.pairs import pair_verses_ensure
from verses.models import DailyVerse, Delivery
from verses.push import fcm
from verses.push.counts import (
    DELIVER_VERSES_COUNTS,
    PUSH_CHUNK_COUNTS,
    PUSH_CHUNKS,
    PUSH_DEVICES_SENT,
    PUSH_DUE,
    PUSH_FAILED,
    PUSH_FID_NOT_REGISTERED,
    PUSH_GAVE_UP,
    PUSH_GROUPS,
    PUSH_INVALID_TOKENS,
    PUSH_PREPARE_CHUNKS,
    PUSH_PREPARED,
    PUSH_RETRIED,
    PUSH_SENT,
    PUSH_VALIDATED,
)
from verses.push.hold import users_push_unheld
from verses.selectors import DueGroup, deliveries_in_range, push_due_groups, users_push_due, users_push_next_slot

logger = logging.getLogger(__name__)


_ROW_FIELDS = (
    "user_id",
    "user__language",
    "user__timezone",
    "verse_id",
    "verse__reference",
    "verse__text",
)


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
    # The previous tick may have prepared a million deliveries: without fresh statistics (no
    # autovacuum, or not yet) the chunks' due-users query and claim scan the table instead of
    # probing its (user, day) index, once per chunk (bench/push.py: 5x the slot's PostgreSQL CPU
    # per push at 1,000,000 users).
    tables_analyze_if_stale(Delivery._meta.db_table)
    for group in push_due_groups(at=at):
        due = users_push_due(day=group.day, zones=group.zones, local_time=group.local_time)
        pairs, bounds = _pairs_and_chunk_bounds(due, chunk_size=settings.PUSH_CHUNK_SIZE)
        if not pairs:
            continue
        counts[PUSH_GROUPS.name] += 1
        pair_verses_ensure(day=group.day, pairs=pairs, report=report)
        for after, upto in bounds:
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
    sending = len(chunks)
    ahead = settings.PUSH_PREPARE_AHEAD_MINUTES
    if ahead and not dry_run:  # the sending chunks first: workers take the chunks in order
        chunks += _next_slot_plan(at=at, ahead=datetime.timedelta(minutes=ahead), report=report)
    counts.update(
        {
            AI_CALLS.name: report[AI_CALLS.name],
            FALLBACKS.name: report[FALLBACKS.name],
            PUSH_CHUNKS.name: sending,
            PUSH_PREPARE_CHUNKS.name: len(chunks) - sending,
        }
    )
    logger.info(
        "event=push_tick_planned at=%s groups=%s chunks=%s prepare_chunks=%s dry_run=%s",
        at.isoformat(),
        counts[PUSH_GROUPS.name],
        sending,
        len(chunks) - sending,
        dry_run,
    )
    return {"at": at.isoformat(), "push_enabled": 1, **counts}, chunks


def _pairs_and_chunk_bounds(users, *, chunk_size: int) -> tuple[list[tuple[str, str]], list]:
    """`users`' (mood, language) pairs and keyset chunk ranges, from one pass over them."""
    groups, bounds = users_groups_and_chunk_bounds(users, chunk_size=chunk_size)
    return [(mood, language) for mood, language, _ in groups], bounds


def _next_slot_plan(*, at: datetime.datetime, ahead: datetime.timedelta, report: Counter) -> list[dict]:
    """The chunks that prepare the users due at `at + ahead` but not at `at` (their pairs' verses
    made here, as a tick makes its own)."""
    now_by_zone = {zone: (group.day, group.local_time) for group in push_due_groups(at=at) for zone in group.zones}
    chunks = []
    for group in push_due_groups(at=at + ahead):
        # Zones whose clocks read the same at `at` too (a DST change in between parts them).
        by_now = defaultdict(list)
        for zone in group.zones:
            by_now[now_by_zone.get(zone)].append(zone)
        for now, zones in by_now.items():
            since = now[1] if now and now[0] == group.day else None  # a new local date: every user due by then
            users = users_push_unheld(_next_slot_users(group, zones, since), day=group.day)
            pairs, bounds = _pairs_and_chunk_bounds(users, chunk_size=settings.VERSES_ASSIGN_CHUNK_SIZE)
            if not pairs:
                continue
            pair_verses_ensure(day=group.day, pairs=pairs, report=report)
            for after, upto in bounds:
                chunks.append(
                    {
                        "prepare": True,
                        "at": (at + ahead).isoformat(),
                        "day": group.day.isoformat(),
                        "zones": sorted(zones),
                        "local_time": group.local_time.isoformat(),
                        "since": since and since.isoformat(),
                        "after": after and str(after),
                        "upto": upto and str(upto),
                    }
                )
    return chunks


def _next_slot_users(group: DueGroup, zones: list[str], since: datetime.time | None, after=None, upto=None):
    return users_push_next_slot(
        day=group.day, zones=zones, local_time=group.local_time, since=since, after=after, upto=upto
    )


def push_chunk_prepare(
    *,
    day: datetime.date,
    zones: list[str],
    local_time: datetime.time,
    since: datetime.time | None,
    after: uuid.UUID | None,
    upto: uuid.UUID | None,
) -> dict:
    """Prepare the next slot's users with after < id <= upto (due by `local_time` on local date
    `day`, not yet at `since`): their verse of `day` and a pending delivery; nothing claimed, nothing
    sent. Idempotent (existing rows are kept)."""
    counts = Counter({PUSH_PREPARED.name: 0})
    group = DueGroup(day=day, local_time=local_time, zones=tuple(zones))
    users = users_push_unheld(_next_slot_users(group, zones, since, after, upto), day=day)
    user_ids = [user_id for (user_id,) in _rows_merged(users, "id")]
    if user_ids:
        with transaction.atomic():
            chunk_users = User.objects.filter(id__in=user_ids)
            daily_verses_assign(day=day, users=chunk_users)
            counts[PUSH_PREPARED.name] = _deliveries_create(day=day, users=chunk_users)
    logger.info("event=push_prepared day=%s zones=%s users=%s", day.isoformat(), len(zones), len(user_ids))
    return dict(counts)


def _end_of_local_day(day: datetime.date, zone: str) -> datetime.datetime:
    tz = zoneinfo.ZoneInfo(zone)
    return datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time.min, tzinfo=tz)


def _deliveries_create(*, day: datetime.date, users) -> int:
    """A pending delivery per due user, with their verse of `day`; existing rows are kept. How
    many it created."""
    user_sql, user_params = users.values("id").query.sql_with_params()
    table = connection.ops.quote_name(Delivery._meta.db_table)
    daily = connection.ops.quote_name(DailyVerse._meta.db_table)
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    day_value = connection.ops.adapt_datefield_value(day)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (user_id, day, verse_id, state, attempts, message_id, error, claim, sent_devices, "
            f"created_at, updated_at) SELECT u.id, %s, dv.verse_id, %s, 0, '', '', '', %s, %s, %s FROM ({user_sql}) u "
            f"JOIN {daily} dv ON dv.user_id = u.id AND dv.day = %s "
            f"WHERE 1=1 ON CONFLICT (user_id, day) DO NOTHING",
            [day_value, Delivery.State.PENDING, "[]", now, now, *user_params, day_value],
        )
        return max(cursor.rowcount, 0)


def deliveries_claim(
    *, deliveries: QuerySet, user_ids: list, claim: str, fields: tuple[str, ...] = ("day", *_ROW_FIELDS)
) -> list[dict]:
    """Mark the sendable ones of `deliveries` (Delivery or CampaignDelivery rows) of the chunk's
    users `sending`, claimed by `claim`; their rows to send (with `fields`).

    Sendable: pending, failed on an earlier tick, refused for devices all dead that the user has
    replaced since (a user with no device is not due), or sending under this same claim (a re-run
    of the chunk after its worker died) or under a claim that has expired."""
    now = timezone.now()
    claimable = Q(state__in=[Delivery.State.PENDING, Delivery.State.FAILED, Delivery.State.INVALID_TOKEN]) | Q(
        state=Delivery.State.SENDING
    ) & (Q(claim=claim) | Q(claimed_until__lt=now))
    # Rows another chunk is claiming are left to it (SKIP LOCKED); every statement finds its rows
    # by key, through the (user, day) unique index or the primary key.
    model = deliveries.model
    ids = list(
        deliveries.select_for_update(skip_locked=True)
        .filter(user_id__in=user_ids)
        .filter(claimable)
        .values_list("id", flat=True)
    )
    model.objects.filter(id__in=ids).update(
        state=Delivery.State.SENDING,
        claim=claim,
        attempts=F("attempts") + 1,
        updated_at=now,
        claimed_until=now + datetime.timedelta(seconds=settings.PUSH_CLAIM_SECONDS),
    )
    return list(model.objects.filter(id__in=ids).values("id", "attempts", "sent_devices", *fields))


def _pushes(rows: list[dict], *, day: datetime.date) -> dict[uuid.UUID, list[fcm.Push]]:
    """By user, one push of their verse per device of theirs that FCM has not accepted it for yet."""

    def verse_push(row: dict, **device) -> fcm.Push:
        return fcm.Push(
            **device,
            language=row["user__language"],
            day=day,
            reference=row["verse__reference"],
            text=row["verse__text"],
            verse_id=row["verse_id"],
            expires_at=_end_of_local_day(day, row["user__timezone"]),
        )

    return device_pushes(rows, verse_push)


def device_pushes(rows: list[dict], push_for: Callable[..., fcm.Push]) -> dict[uuid.UUID, list[fcm.Push]]:
    """By user, `push_for(row, key=, kind=, target=, confirmed=)` for each device of theirs not in
    the row's `sent_devices` (one query for the chunk's devices)."""
    devices = defaultdict(list)
    for device in (
        Device.objects.filter(user_id__in=[row["user_id"] for row in rows])
        .order_by("user_id", "id")
        .values_list("id", "user_id", "kind", "identifier", "confirmed_at")
    ):
        devices[device[1]].append(device)
    pushes = {}
    for row in rows:
        sent = set(row.get("sent_devices") or ())
        pushes[row["user_id"]] = [
            push_for(row, key=device_id, kind=kind, target=identifier, confirmed=confirmed_at is not None)
            for device_id, _, kind, identifier, confirmed_at in devices[row["user_id"]]
            if device_id not in sent
        ]
    return pushes


@dataclass
class _Verdicts:
    """What FCM said for each user's devices in a chunk."""

    accepted: dict = field(default_factory=lambda: defaultdict(list))  # user id -> [(device id, message id)]
    dead: dict = field(default_factory=lambda: defaultdict(list))  # user id -> [device id] (removed)
    unsent: dict = field(default_factory=lambda: defaultdict(list))  # user id -> [error] (retryable or failed)
    errors: dict = field(default_factory=lambda: defaultdict(list))  # user id -> [error] of every device not sent
    fid_not_registered: list = field(default_factory=list)  # (user id, device) of FIDs FCM never routed

    @classmethod
    def read(cls, pushes_by_user: dict, results: dict) -> "_Verdicts":
        verdicts = cls()
        for user_id, pushes in pushes_by_user.items():
            for push in pushes:
                result = results[push.key]
                if result.outcome == fcm.Outcome.SENT:
                    verdicts.accepted[user_id].append((push.key, result.message_id))
                    continue
                verdicts.errors[user_id].append(result.error)
                if result.outcome in (fcm.Outcome.INVALID_TOKEN, fcm.Outcome.FID_NOT_REGISTERED):
                    verdicts.dead[user_id].append(push.key)
                    if result.outcome == fcm.Outcome.FID_NOT_REGISTERED:
                        verdicts.fid_not_registered.append((user_id, push))
                else:
                    verdicts.unsent[user_id].append(result.error)
        return verdicts


def _delivery_outcome(row: dict, verdicts: _Verdicts, counts: Counter) -> tuple:
    """The row's new (id, state, message id, error, sent devices), its counts added up.

    The user is sent the verse (counted once, `sent_at` set) when a first device accepts it. The
    delivery is `sent` once no device is left to try, `failed` while one is (a later tick sends
    to it, and only to it: FCM answered 5xx/429 past the tick's retries), `invalid_token` when
    every device it was for is dead."""
    user_id = row["user_id"]
    accepted, unsent = verdicts.accepted[user_id], verdicts.unsent[user_id]
    before = list(row.get("sent_devices") or ())
    sent_devices = [*before, *(device_id for device_id, _ in accepted)]
    errors = "; ".join(dict.fromkeys(verdicts.errors[user_id]))
    if sent_devices and not before:
        counts[PUSH_SENT.name] += 1
    if unsent:
        state = Delivery.State.FAILED
        if not sent_devices:  # nobody reached yet
            counts[PUSH_FAILED.name] += 1
            if row["attempts"] >= settings.PUSH_MAX_TICKS:
                counts[PUSH_GAVE_UP.name] += 1
                logger.warning(
                    "event=push_gave_up user=%s day=%s error=%s", user_id.hex[:8], row["day"].isoformat(), errors
                )
    elif sent_devices:
        state = Delivery.State.SENT
    else:
        state = Delivery.State.INVALID_TOKEN
        errors = errors or "no device"  # the user's devices were all removed since the claim
    message_id = accepted[0][1] if accepted else ""
    return row["id"], state, message_id[:200], errors[:200], json.dumps(sent_devices)


def _results_record(
    *, rows: list[dict], verdicts: _Verdicts, claim: str, counts: Counter, model: type[Model] = Delivery
) -> None:
    """Record FCM's verdicts in one UPDATE (Django's bulk_update costs seconds for 500 rows), only
    on rows still under the chunk's claim; remove the devices FCM called dead and mark those it
    accepted for the first time (both by primary key)."""
    values = [_delivery_outcome(row, verdicts, counts) for row in rows]
    dead = [device_id for device_ids in verdicts.dead.values() for device_id in device_ids]
    accepted = [device_id for user_accepted in verdicts.accepted.values() for device_id, _ in user_accepted]
    counts[PUSH_DEVICES_SENT.name] += len(accepted)
    counts[PUSH_FID_NOT_REGISTERED.name] += len(verdicts.fid_not_registered)
    counts[PUSH_INVALID_TOKENS.name] += len(dead) - len(verdicts.fid_not_registered)
    for user_id, push in verdicts.fid_not_registered:
        # Not the identifier: its first characters only.
        logger.warning(
            "event=push_fid_not_registered user=%s device=%s", user_id.hex[:8], identifier_short(push.target)
        )
    if not values:
        return
    now = timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(*_verdicts_statement(values, now=now, claim=claim, model=model))
        if dead:
            Device.objects.filter(id__in=dead).delete()
        if accepted:  # the first time only (an FID confirmed is no longer suspected of FID_NOT_REGISTERED)
            Device.objects.filter(id__in=accepted, confirmed_at__isnull=True).update(confirmed_at=now)


def _verdicts_statement(
    values: list[tuple], *, now: datetime.datetime, claim: str, model: type[Model] = Delivery
) -> tuple[str, list]:
    """The UPDATE that records a chunk's (id, state, message id, error, sent devices) rows of
    `model` (Delivery or CampaignDelivery), on the rows still under its claim. PostgreSQL: five bound arrays, unnested (one statement the same
    whatever the chunk's size: 5 parameters, not 5 per row); SQLite: a VALUES list.

    The state and the claim are compared with parameters PostgreSQL cannot see when it plans
    (`(SELECT %s)`): the tick ANALYZEs the table before any chunk claims, so its statistics say
    no row is `sending` and every claim is empty. With the values in sight PostgreSQL expected one
    row and compared each of the chunk's rows with every verdict (a nested loop over the unnested
    verdicts: 1.2 s a chunk of 2,000 at 100,000 users against 40 ms; bench/push.py); unseen, it
    looks the verdicts' rows up by primary key (or hashes a small table)."""
    table = connection.ops.quote_name(model._meta.db_table)
    now_value = connection.ops.adapt_datetimefield_value(now)
    columns = "v(id, state, message_id, error, sent_devices)"
    if connection.vendor == "postgresql":
        prefix, prefix_params = "", []
        source = f"unnest(%s::bigint[], %s::text[], %s::text[], %s::text[], %s::jsonb[]) AS {columns}"
        source_params = [list(column) for column in zip(*values, strict=True)]
        sent = "v.sent_devices <> '[]'::jsonb"
    else:
        prefix = f"WITH {columns} AS (VALUES {', '.join(['(%s, %s, %s, %s, %s)'] * len(values))}) "
        prefix_params = [value for row in values for value in row]
        source, source_params = "v", []
        sent = "v.sent_devices <> '[]'"
    sql = (
        f"{prefix}UPDATE {table} SET state = v.state, message_id = v.message_id, error = v.error, "
        f"sent_devices = v.sent_devices, claim = '', claimed_until = NULL, updated_at = %s, "
        f"sent_at = CASE WHEN {sent} THEN COALESCE({table}.sent_at, %s) ELSE {table}.sent_at END "
        f"FROM {source} WHERE {table}.id = v.id AND {table}.state = (SELECT %s) AND {table}.claim = (SELECT %s)"
    )
    return sql, [*prefix_params, now_value, now_value, *source_params, Delivery.State.SENDING, claim]


def _chunk_user_ids(*, day, zones, local_time, after, upto) -> list[tuple[uuid.UUID, bool]]:
    """The chunk's due users (after < id <= upto), each with whether a delivery of `day` is theirs
    already (prepared ahead, or a later attempt), read once and then named by key: the due-users
    query joins the deliveries, and a plan made for it while that table was still small (early in
    a tick, before any ANALYZE) rescanned it for each user as the tick filled it: a 1,000,000-user
    tick stalled for 40 minutes on one chunk's claim (bench/push.py)."""
    users = users_push_due(day=day, zones=zones, local_time=local_time, after=after, upto=upto)
    has_delivery = Exists(deliveries_in_range(day=day, after=after, upto=upto).filter(user=OuterRef("pk")))
    return _rows_merged(users_push_unheld(users, day=day).annotate(has_delivery=has_delivery), "id", "has_delivery")


def _rows_merged(users, *fields: str) -> list:
    """A chunk's users query run without nested loops on PostgreSQL: PostgreSQL estimates its key
    range at a row or so and probes the devices' and the deliveries' index ranges once per user
    (0.8 s a chunk of 2,000 at 1,000,000 users); merged along the user key, with the range on
    both subqueries (users_active, deliveries_in_range), it reads each range once (45 ms)."""
    if connection.vendor != "postgresql":
        return list(users.values_list(*fields))
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_nestloop = off")
        try:
            return list(users.values_list(*fields))
        finally:  # within a caller's transaction, for this query only
            cursor.execute("RESET enable_nestloop")


def _chunk_claim(*, day: datetime.date, users: list[tuple[uuid.UUID, bool]], claim: str, dry_run: bool) -> list[dict]:
    """Step 1 (one transaction): the verses of `day` and the deliveries of the users who have
    none yet (none when the chunk was prepared ahead), then the claim."""
    if not users:
        return []
    user_ids = [user_id for user_id, _ in users]
    unprepared = [user_id for user_id, has_delivery in users if not has_delivery]
    with transaction.atomic():
        if dry_run:  # validate_only: nothing is recorded
            daily_verses_assign(day=day, users=User.objects.filter(id__in=user_ids))
            return list(DailyVerse.objects.filter(day=day, user_id__in=user_ids).values("day", *_ROW_FIELDS))
        if unprepared:
            chunk_users = User.objects.filter(id__in=unprepared)
            daily_verses_assign(day=day, users=chunk_users)
            _deliveries_create(day=day, users=chunk_users)
        return deliveries_claim(deliveries=Delivery.objects.filter(day=day), user_ids=user_ids, claim=claim)


def _dry_run_count(verdicts: _Verdicts, rows: list[dict], counts: Counter) -> None:
    for row in rows:
        user_id = row["user_id"]
        if verdicts.accepted[user_id]:
            counts[PUSH_VALIDATED.name] += 1
        elif verdicts.unsent[user_id] or not verdicts.dead[user_id]:
            counts[PUSH_FAILED.name] += 1
    counts[PUSH_FID_NOT_REGISTERED.name] += len(verdicts.fid_not_registered)
    counts[PUSH_INVALID_TOKENS.name] += sum(map(len, verdicts.dead.values())) - len(verdicts.fid_not_registered)


def pushes_send_record(
    *,
    rows: list[dict],
    pushes_by_user: dict,
    claim: str,
    counts: Counter,
    at: datetime.datetime,
    dry_run: bool,
    model: type[Model] = Delivery,
) -> None:
    """Steps 2 and 3 of a chunk whose `rows` (of `model`) are claimed by `claim`: send the pushes
    outside any transaction, then record FCM's verdicts (retried in place through a database
    outage); in a dry run, only count them."""
    pushes = [push for user_pushes in pushes_by_user.values() for push in user_pushes]
    results = {}
    if pushes:  # step 2: no transaction open while FCM answers
        sent, counts[PUSH_RETRIED.name] = fcm.pushes_send(pushes, dry_run=dry_run, now=max(at, timezone.now()))
        results = {result.key: result for result in sent}
    verdicts = _Verdicts.read(pushes_by_user, results)
    if dry_run:
        _dry_run_count(verdicts, rows, counts)
        return
    try:  # step 3
        db_retry("push_record_retry")(_results_record)(
            rows=rows, verdicts=verdicts, claim=claim, counts=counts, model=model
        )
    except (OperationalError, InterfaceError) as exc:
        logger.error("event=push_verdicts_unrecorded claim=%s pushes=%s", claim, len(pushes))
        raise VerdictsUnrecorded(f"{len(pushes)} verdicts unrecorded: {exc}") from exc


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
    """Send the due users with after < id <= upto their verse of `day`, to each of their devices:
    claim, send, record (see the module's docstring); idempotent (a user sent already is no
    longer due, a device FCM accepted the verse for is not sent it again)."""
    counts = Counter({count.name: 0 for count in PUSH_CHUNK_COUNTS})
    dry_run = dry_run or settings.FCM_DRY_RUN
    claim = f"chunk:{chunk_id}"
    users = _chunk_user_ids(day=day, zones=zones, local_time=local_time, after=after, upto=upto)
    rows = _chunk_claim(day=day, users=users, claim=claim, dry_run=dry_run)
    counts[PUSH_DUE.name] = len(rows)
    pushes_by_user = _pushes(rows, day=day) if rows else {}
    pushes_send_record(rows=rows, pushes_by_user=pushes_by_user, claim=claim, counts=counts, at=at, dry_run=dry_run)
    logger.info(
        "event=push_chunk day=%s zones=%s due=%s sent=%s devices_sent=%s invalid_devices=%s fid_not_registered=%s "
        "failed=%s retried=%s dry_run=%s",
        day.isoformat(),
        len(zones),
        counts[PUSH_DUE.name],
        counts[PUSH_SENT.name],
        counts[PUSH_DEVICES_SENT.name],
        counts[PUSH_INVALID_TOKENS.name],
        counts[PUSH_FID_NOT_REGISTERED.name],
        counts[PUSH_FAILED.name],
        counts[PUSH_RETRIED.name],
        dry_run,
    )
    return dict(counts)
