import datetime
import uuid

from django.conf import settings
from django.db import connection
from django.db.models import Count, Exists, Max, OuterRef, Q, QuerySet
from django.utils import timezone

from users.models import DailyStats, Device, Language, Mood, User, UserActivity, active_user_q

WEEK_DAYS = 7
MONTH_DAYS = 30


def users_active(
    *,
    mood: str | None = None,
    language: str | None = None,
    timezone: str | None = None,
    after: uuid.UUID | None = None,
    upto: uuid.UUID | None = None,
) -> QuerySet[User]:
    """Users who get a daily verse: `is_active` and at least one device; with after < id <= upto
    when given (a chunk's keyset range)."""
    if after is None and upto is None:
        qs = User.objects.filter(active_user_q())
    else:
        # The range bounds the devices probed too: PostgreSQL then merges the two index ranges
        # (a hundred pages a chunk) instead of probing the devices' index once per user.
        users, devices = User.objects.filter(is_active=True), Device.objects.filter(user_id=OuterRef("pk"))
        if after is not None:
            users, devices = users.filter(id__gt=after), devices.filter(user_id__gt=after)
        if upto is not None:
            users, devices = users.filter(id__lte=upto), devices.filter(user_id__lte=upto)
        qs = users.filter(Exists(devices))
    if mood is not None:
        qs = qs.filter(mood=mood)
    if language is not None:
        qs = qs.filter(language=language)
    if timezone is not None:
        qs = qs.filter(timezone=timezone)
    return qs


def users_push_eligible(*, after: uuid.UUID | None = None, upto: uuid.UUID | None = None) -> QuerySet[User]:
    """Active users who have not turned the daily push off (after < id <= upto when given)."""
    return users_active(after=after, upto=upto).filter(notifications_enabled=True)


def users_count_summary() -> dict:
    """Total and active users, active ones by mood and by language, in one query: users grouped by
    (mood, language), joined to the set of users with a device (one hash join; an EXISTS inside
    the count would be a probe per user)."""
    users, devices = User._meta.db_table, Device._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT u.mood, u.language, COUNT(*), "
            f"SUM(CASE WHEN u.is_active AND d.user_id IS NOT NULL THEN 1 ELSE 0 END) "
            f"FROM {users} u LEFT JOIN (SELECT DISTINCT user_id FROM {devices}) d ON d.user_id = u.id "
            f"GROUP BY u.mood, u.language"
        )
        groups = cursor.fetchall()
    by_mood = dict.fromkeys([value or "none" for value in [*Mood.values, ""]], 0)
    by_language = dict.fromkeys(Language.values, 0)
    total = active = 0
    for mood, language, group_total, group_active in groups:
        total += group_total
        active += group_active
        if (mood := mood or "none") in by_mood:
            by_mood[mood] += group_active
        if language in by_language:
            by_language[language] += group_active
    return {"active_users": active, "total_users": total, "by_mood": by_mood, "by_language": by_language}


def devices_of_user(*, user: User) -> QuerySet[Device]:
    """The user's devices, most recently seen first."""
    return Device.objects.filter(user=user).order_by("-last_seen_at", "-id")


def user_activity_counts(*, day: datetime.date) -> dict:
    """Distinct users active on `day`, over the 7 days and over the 30 days ending on it, from the
    per-day activity (one pass over the 30 days: each user's last active day)."""
    last_days = (
        UserActivity.objects.filter(day__gt=day - datetime.timedelta(days=MONTH_DAYS), day__lte=day)
        .values("user")
        .annotate(last=Max("day"))
    )
    return last_days.aggregate(
        daily=Count("user", filter=Q(last=day)),
        weekly=Count("user", filter=Q(last__gt=day - datetime.timedelta(days=WEEK_DAYS))),
        monthly=Count("user"),
    )


_SERIES_FIELDS = (
    "active_users",
    "daily_active_users",
    "weekly_active_users",
    "monthly_active_users",
    "new_users",
    "verses_generated",
    "fallbacks_used",
    "pushes_sent",
    "pushes_opened",
)


def daily_stats_series(*, days: int, end: datetime.date | None = None) -> dict:
    """The stored daily figures of the `days` days ending on `end` (default: yesterday, the last
    day computed), oldest first; a day not computed has null figures."""
    end = end or timezone.localdate() - datetime.timedelta(days=1)
    start = end - datetime.timedelta(days=days - 1)
    stored = {row["day"]: row for row in DailyStats.objects.filter(day__gte=start, day__lte=end).values()}
    series = []
    for offset in range(days):
        day = start + datetime.timedelta(days=offset)
        row = stored.get(day)
        point = {
            "day": day,
            "computed_at": row and row["computed_at"],
            **{name: row and row[name] for name in _SERIES_FIELDS},
        }
        sent, opened = point["pushes_sent"], point["pushes_opened"]
        point["open_rate"] = round(opened / sent, 4) if sent and opened is not None else None
        series.append(point)
    return {"days": days, "start": start, "end": end, "timezone": settings.SCHEDULER_TIMEZONE, "series": series}
