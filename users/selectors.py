from django.db.models import Count, Q, QuerySet

from users.models import ACTIVE_USER_Q, Language, Mood, User


def users_active(
    *, mood: str | None = None, language: str | None = None, timezone: str | None = None
) -> QuerySet[User]:
    """Users who get a daily verse: `is_active` and a non-empty FCM token."""
    qs = User.objects.filter(ACTIVE_USER_Q)
    if mood is not None:
        qs = qs.filter(mood=mood)
    if language is not None:
        qs = qs.filter(language=language)
    if timezone is not None:
        qs = qs.filter(timezone=timezone)
    return qs


def users_push_eligible() -> QuerySet[User]:
    """Active users who have not turned the daily push off."""
    return users_active().filter(notifications_enabled=True)


def users_count_summary() -> dict:
    """Total and active users, active ones by mood and by language, in one query."""
    aggregates = {"total": Count("pk"), "active": Count("pk", filter=ACTIVE_USER_Q)}
    for value in [*Mood.values, ""]:
        aggregates[f"mood_{value or 'none'}"] = Count("pk", filter=ACTIVE_USER_Q & Q(mood=value))
    for value in Language.values:
        aggregates[f"language_{value}"] = Count("pk", filter=ACTIVE_USER_Q & Q(language=value))
    row = User.objects.aggregate(**aggregates)
    return {
        "active_users": row["active"],
        "total_users": row["total"],
        "by_mood": {value or "none": row[f"mood_{value or 'none'}"] for value in [*Mood.values, ""]},
        "by_language": {value: row[f"language_{value}"] for value in Language.values},
    }
