"""Job functions of the users app, run by scheduler (see scheduler/registry.py)."""

from users.services import daily_stats_update


def user_stats_update() -> dict:
    stats = daily_stats_update()
    return {
        "day": stats.day.isoformat(),
        "active_users": stats.active_users,
        "daily_active_users": stats.daily_active_users,
        "new_users": stats.new_users,
        "verses_generated": stats.verses_generated,
        "fallbacks_used": stats.fallbacks_used,
    }
