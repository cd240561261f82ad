import datetime
import logging
import uuid
import zoneinfo
from collections import defaultdict
from dataclasses import dataclass
from typing import NamedTuple

from django.conf import settings
from django.db import connection
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from knox.crypto import hash_token
from knox.models import AuthToken
from rest_framework.fields import DateTimeField

from soulverse.db import execute_prepared
from users.models import User, UserActivity
from users.selectors import users_push_eligible
from verses.models import DailyVerse, Delivery, VerseOfTheDay, VerseOpen

logger = logging.getLogger(__name__)


def daily_verse_counts(*, day: datetime.date) -> dict:
    """How many users got a verse for `day`, and how many of those verses were fallbacks."""
    return DailyVerse.objects.filter(day=day).aggregate(
        generated=Count("pk"), fallbacks=Count("pk", filter=Q(verse__source=VerseOfTheDay.Source.FALLBACK))
    )


def pushes_sent_count(*, day: datetime.date) -> int:
    """Pushes sent for `day` (the users' local date): users whose verse some device of theirs
    accepted, from the delivery records."""
    # Two counts: the sent ones through the (day, state) index alone, then the few failed ones
    # that reached a device already (another device of the user left for a later tick).
    deliveries = Delivery.objects.filter(day=day)
    return (
        deliveries.filter(state=Delivery.State.SENT).count()
        + deliveries.filter(state=Delivery.State.FAILED, sent_at__isnull=False).count()
    )


def verse_push_counts(*, day: datetime.date) -> dict:
    """Pushes of the verse of `day` sent and opened by their users."""
    return {"sent": pushes_sent_count(day=day), "opened": VerseOpen.objects.filter(day=day).count()}


def local_date(timezone_name: str) -> datetime.date:
    """Today in `timezone_name`, or in the service's time zone if the name is not a known zone."""
    try:
        return timezone.localdate(timezone=zoneinfo.ZoneInfo(timezone_name))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return timezone.localdate()


# The token's user, whether their activity of the (service's) day is recorded, and their verses of
# the three dates that may be "today" somewhere: one row per verse, or one row with NULL verse
# columns when none is made. The token is found by its digest (knox's primary key: the key itself
# is not stored), and must not have expired.
TODAY_BY_TOKEN_SQL = f"""
    SELECT u.is_active, u.timezone, u.id, a.day, t.expiry, dv.day, dv.created_at,
           v.reference, v.text, v.reflection, v.mood, v.language, v.source
    FROM {AuthToken._meta.db_table} t
    JOIN {User._meta.db_table} u ON u.id = t.user_id
    LEFT JOIN {UserActivity._meta.db_table} a ON a.user_id = u.id AND a.day = %s
    LEFT JOIN {DailyVerse._meta.db_table} dv ON dv.user_id = u.id AND dv.day BETWEEN %s AND %s
    LEFT JOIN {VerseOfTheDay._meta.db_table} v ON v.id = dv.verse_id
    WHERE t.digest = %s AND (t.expiry IS NULL OR t.expiry > %s)"""
_created_at = DateTimeField()


class VerseToday(NamedTuple):
    user_id: uuid.UUID | None  # None: no live token has this key (unknown, revoked or expired)
    active: bool  # the token's user is active
    data: dict | None  # DailyVerseSerializer's fields; None: the verse of the user's local date is not made yet
    activity_recorded: bool  # the user's activity of `activity_day` is already stored
    # Until when (a Unix time) this answer holds: the end of the user's local date or the token's
    # expiry, whichever comes first (verses.today_cache keeps the answer no longer).
    valid_until: float = 0.0


NO_TOKEN = VerseToday(None, False, None, False)


def daily_verse_today_by_token(*, key: str, activity_day: datetime.date) -> VerseToday:
    """What GET /verses/today shows the user holding API token `key`, and whether their activity of
    `activity_day` is recorded, in one prepared query: NO_TOKEN if no live token has this key, else
    the token's user (active or not) with their verse of their local date (or None, not made yet)."""
    now = timezone.now()
    utc_today = now.date()  # every local date is within a day of it
    with connection.cursor() as cursor:
        execute_prepared(
            cursor,
            name="verses_today_by_knox_token_with_expiry",
            sql=TODAY_BY_TOKEN_SQL,
            params=[
                activity_day,
                utc_today - datetime.timedelta(days=1),
                utc_today + datetime.timedelta(days=1),
                hash_token(key),
                connection.ops.adapt_datetimefield_value(now),
            ],
        )
        rows = cursor.fetchall()
    if not rows:
        return NO_TOKEN
    active, zone, user_id, active_day, expiry = rows[0][:5]
    user_id = uuid.UUID(str(user_id))
    today = local_date(zone)
    valid_until = _local_day_end(zone, today)
    if expiry is not None:
        if timezone.is_naive(expiry):  # SQLite keeps UTC without an offset
            expiry = timezone.make_aware(expiry, datetime.UTC)
        valid_until = min(valid_until, expiry.timestamp())
    for *_, day, created_at, reference, text, reflection, mood, language, source in rows:
        if day == today:
            if timezone.is_naive(created_at):  # SQLite keeps UTC without an offset
                created_at = timezone.make_aware(created_at, datetime.UTC)
            data = {
                "day": day.isoformat(),
                "reference": reference,
                "text": text,
                "reflection": reflection,
                "mood": mood,
                "language": language,
                "source": source,
                "created_at": _created_at.to_representation(created_at),
            }
            return VerseToday(user_id, bool(active), data, active_day is not None, valid_until)
    return VerseToday(user_id, bool(active), None, active_day is not None, valid_until)


def _local_day_end(timezone_name: str, day: datetime.date) -> float:
    """The Unix time at which `day` ends in `timezone_name` (as local_date reads the zone)."""
    try:
        zone = zoneinfo.ZoneInfo(timezone_name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = timezone.get_current_timezone()
    return datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time.min, tzinfo=zone).timestamp()


# --- Push: who is due at a tick ---------------------------------------------------------------


@dataclass(frozen=True)
class DueGroup:
    """Time zones whose clocks read the same local date and time at the tick's instant."""

    day: datetime.date
    local_time: datetime.time
    zones: tuple[str, ...]


def push_due_groups(*, at: datetime.datetime) -> list[DueGroup]:
    """The zones of the push-eligible users (one query), grouped by the local date and time
    they read at instant `at`. A user is due for that local date once its local time has
    reached their `notify_at`: comparing wall-clock times makes a skipped DST hour send at the
    first tick after it, and the unique (user, day) delivery makes a repeated hour send once."""
    groups: dict[tuple[datetime.date, datetime.time], list[str]] = defaultdict(list)
    for name in users_push_eligible().order_by().values_list("timezone", flat=True).distinct():
        try:
            local = at.astimezone(zoneinfo.ZoneInfo(name))
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            logger.warning("event=push_unknown_timezone timezone=%s", name)
            continue
        groups[(local.date(), local.time().replace(microsecond=0))].append(name)
    return [
        DueGroup(day=day, local_time=time, zones=tuple(sorted(zones))) for (day, time), zones in sorted(groups.items())
    ]


def users_push_due(
    *,
    day: datetime.date,
    zones: list[str] | tuple[str, ...],
    local_time: datetime.time,
    after: uuid.UUID | None = None,
    upto: uuid.UUID | None = None,
) -> QuerySet[User]:
    """Eligible users of `zones` whose `notify_at` has come on local date `day` and who have not
    been sent that day's verse (nor given up on after PUSH_MAX_TICKS ticks); after < id <= upto
    when given (a chunk's range)."""
    # A push still `sending` after its last allowed tick is not given up on: it was claimed and
    # its verdict never recorded (its worker died), and the claim's re-run must find it.
    done = (
        deliveries_in_range(day=day, after=after, upto=upto)
        .filter(user=OuterRef("pk"))
        .filter(
            Q(state=Delivery.State.SENT) | Q(attempts__gte=settings.PUSH_MAX_TICKS) & ~Q(state=Delivery.State.SENDING)
        )
    )
    return (
        users_push_eligible(after=after, upto=upto)
        .filter(timezone__in=zones, notify_at__lte=local_time)
        .exclude(Exists(done))
    )


def deliveries_in_range(
    *, day: datetime.date, after: uuid.UUID | None = None, upto: uuid.UUID | None = None
) -> QuerySet[Delivery]:
    """The deliveries of `day` of the users with after < id <= upto: a chunk's subqueries on the
    deliveries carry its key range, so that PostgreSQL can merge them with the chunk's users along
    the (user, day) index instead of reading the whole day's (see verses/push/delivery.py)."""
    deliveries = Delivery.objects.filter(day=day)
    if after is not None:
        deliveries = deliveries.filter(user_id__gt=after)
    if upto is not None:
        deliveries = deliveries.filter(user_id__lte=upto)
    return deliveries


def users_push_next_slot(
    *,
    day: datetime.date,
    zones: list[str] | tuple[str, ...],
    local_time: datetime.time,
    since: datetime.time | None,
    after: uuid.UUID | None = None,
    upto: uuid.UUID | None = None,
) -> QuerySet[User]:
    """The users a coming slot will find due (users_push_due at local date `day` and time
    `local_time`) who are not due yet: their `notify_at` is after `since`, the time their zones
    read now on that same date (None: that date has not begun there yet)."""
    users = users_push_due(day=day, zones=zones, local_time=local_time, after=after, upto=upto)
    return users if since is None else users.filter(notify_at__gt=since)
