"""The console's jobs, run by the scheduler (scheduler/registry.py names them by dotted path):
the nightly clean-up over every app and the daily statistics."""

import datetime
import logging

from django.conf import settings
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.db import connection
from django.utils import timezone
from django_q.models import Failure, Success

from console.stats import daily_stats_update
from scheduler.services import job_runs_purge, retention_cutoff
from users.services import user_activity_purge
from verses.generation.cache import verse_cache_purge
from verses.history import daily_verses_history_purge
from verses.partitions import history_start
from verses.push.cleanup import deliveries_purge, deliveries_unconfirmed_close
from verses.services import verse_opens_purge

logger = logging.getLogger(__name__)


def _database_cache_expired_purge() -> int:
    if not hasattr(cache, "_table"):
        return 0  # Redis expires its keys itself
    table = connection.ops.quote_name(cache._table)
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} WHERE expires < %s", [timezone.now()])
        return cursor.rowcount


def cache_cleanup() -> dict:
    """Delete what the project owns and no longer needs, close the pushes left unconfirmed on past
    days, and report how much."""
    report = {}
    try:
        report["verse_cache_entries"] = verse_cache_purge(keep_day=timezone.localdate())
    except Exception as exc:  # a cache outage must not stop the database clean-up
        logger.warning("event=verse_cache_purge_failed error=%s", type(exc).__name__)
        report["verse_cache_entries"] = 0
        report["cache_error"] = type(exc).__name__
    report["expired_cache_rows"] = _database_cache_expired_purge()
    cutoff = retention_cutoff()
    report["job_runs"] = job_runs_purge(before=cutoff)
    report["task_results"] = (
        Success.objects.filter(stopped__lt=cutoff).delete()[0] + Failure.objects.filter(stopped__lt=cutoff).delete()[0]
    )
    report.update(daily_verses_history_purge())
    report["expired_sessions"] = Session.objects.filter(expire_date__lt=timezone.now()).delete()[0]
    # The same first day kept as the per-user verse history.
    kept_from = history_start(today=timezone.localdate(), days=settings.VERSES_HISTORY_DAYS)
    report["activity_days"] = user_activity_purge(before=kept_from)
    report["verse_opens"] = verse_opens_purge(before=kept_from)
    report["deliveries"] = deliveries_purge(before=kept_from)
    # A local date before yesterday in UTC is over in every time zone (UTC-12 at the latest).
    report["deliveries_unconfirmed"] = deliveries_unconfirmed_close(
        before=timezone.now().date() - datetime.timedelta(days=1)
    )
    logger.info("event=cache_cleanup %s", " ".join(f"{k}={v}" for k, v in report.items()))
    return report


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
