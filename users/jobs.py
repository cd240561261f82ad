"""Job functions of the users app, run by scheduler (see scheduler/registry.py)."""

import datetime

from users.services import daily_stats_update


def user_stats_update(*, day: str | None = None) -> dict:
    """The figures of `day` (ISO date; default: the day that just ended)."""
    stats = daily_stats_update(day=datetime.date.fromisoformat(day) if day else None)
    report = {
        "day": stats.day.isoformat(),
        "active_users": stats.active_users,
        "daily_active_users": stats.daily_active_users,
        "weekly_active_users": stats.weekly_active_users,
        "monthly_active_users": stats.monthly_active_users,
        "new_users": stats.new_users,
        "verses_generated": stats.verses_generated,
        "fallbacks_used": stats.fallbacks_used,
        "pushes_sent": stats.pushes_sent,
        "pushes_opened": stats.pushes_opened,
    }
    return {name: value for name, value in report.items() if value is not None}  # counts only
