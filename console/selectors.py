"""Reads of the console: the status and health over every app (engine, AI, editions, push),
and the dashboard's chart data, as plain data that console/serializers.py's output serializers
render."""

import datetime
import logging

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Count, IntegerField, Q, Sum
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce, TruncDate
from django.utils import timezone

from scheduler.models import JobRun
from scheduler.registry import DAILY_VERSES_JOB_ID, DELIVER_VERSES_JOB_ID, JOBS
from scheduler.selectors import cluster_state, jobs_running, scheduler_jobs
from soulverse.memos import Memo
from users.selectors import daily_stats_series
from verses.ai.gemini import provider_state
from verses.bible.editions import editions_state
from verses.models import VerseOfTheDay
from verses.push.counts import PUSH_HEALTH_COUNTS, PUSH_OUTCOME_COUNTS
from verses.push.fcm import push_state
from verses.push.hold import pushes_held_count

logger = logging.getLogger(__name__)


def scheduler_status() -> dict:
    jobs = scheduler_jobs()
    enabled = all(job["enabled"] for job in jobs)
    cluster = cluster_state()
    return {
        "running": enabled and cluster["alive"],
        "enabled": enabled,
        "jobs_count": len(jobs),
        "jobs": jobs,
        "timezone": settings.SCHEDULER_TIMEZONE,
        "cluster": cluster,
        "ai": provider_state(),
        "editions": editions_state(),
        "push": push_state(),
        "status_checked_at": timezone.now(),
    }


def _check_database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return {"status": "ok"}
    except Exception as exc:  # logged by health_check when the state changes, not at every call
        return {"status": "error", "error": type(exc).__name__}


def _check_cache() -> dict:
    """A read, never a write: a PING on Redis (django-redis would swallow the error of a plain
    get), a get on the database cache."""
    backend = "redis" if settings.REDIS_URL else "database"
    try:
        if hasattr(cache, "client") and hasattr(cache.client, "get_client"):
            cache.client.get_client(write=False).ping()
        else:
            cache.get("health:probe")
        ok = True
    except Exception:
        ok = False
    return {"status": "ok" if ok else "degraded", "backend": backend}


def _check_daily_run() -> dict:
    last = (
        JobRun.objects.filter(job_id=DAILY_VERSES_JOB_ID, status=JobRun.Status.SUCCEEDED)
        .order_by("-started_at")
        .first()
    )
    if last is None:
        return {"status": "never", "last_success_at": None, "age_seconds": None}
    age = (timezone.now() - last.finished_at).total_seconds()
    stale = age > settings.SCHEDULER_DAILY_MAX_AGE_HOURS * 3600
    return {"status": "stale" if stale else "ok", "last_success_at": last.finished_at, "age_seconds": round(age)}


def _last_push_tick() -> dict | None:
    run = JobRun.objects.filter(job_id=DELIVER_VERSES_JOB_ID).order_by("-started_at").first()
    if run is None:
        return None
    return {
        "run_id": run.pk,
        "status": run.status,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        **{count.name: run.counts.get(count.name, 0) for count in PUSH_HEALTH_COUNTS},
    }


def health_check() -> tuple[bool, dict]:
    """(healthy, report). The cache being down degrades the service but keeps it healthy."""
    database = _check_database()
    checks = {"database": database}
    if database["status"] == "ok":
        running = jobs_running()
        # One job paused on purpose (PATCH jobs/{id}) degrades the service; none running is down.
        checks["scheduler"] = {"status": "enabled" if running == len(JOBS) else "partial" if running else "disabled"}
        checks["daily_verses"] = _check_daily_run()
    checks["cache"] = _check_cache()
    ai = provider_state()
    # Without the AI the curated verses are used: worth showing, not a failure. A wrong key or
    # model (the probe, cached for an hour) is: every pair falls back until it is fixed.
    ai_status = "misconfigured" if ai["status"] == "misconfigured" else "enabled" if ai["enabled"] else ai["status"]
    checks["ai"] = {"status": ai_status, "model": ai["model"], "reason": ai["reason"]}
    editions_missing = False
    if database["status"] == "ok":
        editions = editions_state()
        # With the AI on, a language without its edition cannot have its answers checked: all fall back.
        editions_missing = ai["enabled"] and any(e["status"] != "ok" for e in editions.values())
        checks["editions"] = {"status": "missing" if editions_missing else "ok", **editions}
    push = push_state()
    # Without credentials, or PUSH_ENABLED=false, no push (verses still wait in the app): shown, not a
    # failure (in production `check --deploy` refuses credentials missing while push is on).
    checks["push"] = {
        "status": push["status"],
        "dry_run": push["dry_run"],
        "last_tick": _last_push_tick() if database["status"] == "ok" else None,
    }
    if database["status"] == "ok":
        # VERSES_REQUIRE_APPROVAL: a due push waiting for an operator's approval degrades the service.
        held = pushes_held_count(at=timezone.now())
        checks["editorial"] = {
            "status": "held" if held else "ok",
            "approval_required": settings.VERSES_REQUIRE_APPROVAL,
            "held": held,
        }
    cluster = cluster_state()
    checks["cluster"] = {"status": "ok" if cluster["alive"] else "down", **cluster}
    healthy = (
        database["status"] == "ok"
        and checks["scheduler"]["status"] != "disabled"
        and checks["daily_verses"]["status"] != "stale"
        and cluster["alive"]
    )
    degraded = (
        checks["cache"]["status"] != "ok"
        or ai_status == "misconfigured"
        or editions_missing
        or checks.get("scheduler", {}).get("status") == "partial"
        or checks.get("editorial", {}).get("status") == "held"
    )
    status = "down" if not healthy else "degraded" if degraded else "ok"
    _health_state_log(status, checks)
    return healthy, {"status": status, "checks": checks, "checked_at": timezone.now()}


# This process's last health state: a line is logged when it changes, not at every call.
health_logged_state = Memo("health.logged_state")
# The public answer (healthy, status), computed at most once per HEALTH_PUBLIC_CACHE_SECONDS per
# process: a probe hammered by anonymous callers costs about what /livez does.
health_public_memo = Memo("health.public")


def _health_state_log(status: str, checks: dict) -> None:
    last = health_logged_state.get("state")
    if status == last:
        return
    failing = ",".join(
        sorted(
            name
            for name, check in checks.items()
            if name not in ("ai", "push")  # off: no failure
            and check.get("status") in ("error", "down", "degraded", "stale", "disabled")
        )
    )
    level = logging.INFO if status == "ok" else logging.WARNING
    logger.log(level, "event=health_state_changed from=%s to=%s failing=%s", last or "unknown", status, failing or "-")
    health_logged_state.set("state", status)


def health_public() -> tuple[bool, str]:
    """(healthy, "ok" | "degraded" | "down"), memoised for HEALTH_PUBLIC_CACHE_SECONDS in this process."""
    memo = health_public_memo.get("answer")
    if memo is None:
        healthy, report = health_check()
        memo = (healthy, report["status"])
        health_public_memo.set("answer", memo, ttl=settings.HEALTH_PUBLIC_CACHE_SECONDS)
    return memo


def health_public_memoised() -> str | None:
    """health_public's state while its memo holds, else None; never checks anything itself."""
    memo = health_public_memo.get("answer")
    return memo[1] if memo is not None else None


# --- The admin dashboard --------------------------------------------------------------------

PUSH_COUNT_KEYS = tuple(count.name for count in PUSH_OUTCOME_COUNTS)


USER_SERIES = ("active_users", "daily_active_users", "weekly_active_users", "monthly_active_users")


def dashboard_series(*, days: int = 30, today: datetime.date | None = None) -> dict:
    """The dashboard's chart data: one value per day for the `days` days up to `today` (local).

    Users and verses by source come from the daily statistics (users.selectors.daily_stats_series;
    None on a day without them), AI failure kinds from the day's verses (one per mood and language),
    pushes from the runs' counts (verses.push.counts.PUSH_OUTCOME_COUNTS; absent: 0).
    """
    today = today or timezone.localdate()
    first = today - datetime.timedelta(days=days - 1)
    day_list = [first + datetime.timedelta(days=n) for n in range(days)]
    index = {day: n for n, day in enumerate(day_list)}

    def zeros() -> list[int]:
        return [0] * days

    # A day without statistics (not computed yet, or the job failed) is None, not 0.
    points = daily_stats_series(days=days, end=today)["series"]
    users = {name: [point[name] for point in points] for name in USER_SERIES}
    verses = {
        "ai": [
            None if p["verses_generated"] is None else max(p["verses_generated"] - (p["fallbacks_used"] or 0), 0)
            for p in points
        ],
        "fallback": [p["fallbacks_used"] for p in points],
    }

    ai_failures: dict[str, list[int]] = {}
    for row in (
        VerseOfTheDay.objects.filter(day__range=(first, today))
        .exclude(ai_failure="")
        .values("day", "ai_failure")
        .annotate(pairs=Count("pk"))
        .order_by("ai_failure")
    ):
        ai_failures.setdefault(row["ai_failure"], zeros())[index[row["day"]]] = row["pairs"]

    pushes = {key: zeros() for key in PUSH_COUNT_KEYS}
    start, end = _local_day_bounds(first), _local_day_bounds(today + datetime.timedelta(days=1))
    has_push_counts = Q()
    for key in PUSH_COUNT_KEYS:
        has_push_counts |= Q(counts__has_key=key)
    # Summed in the database: a delivery tick every 15 minutes is about 3,000 runs a month.
    sums = {key: Coalesce(Sum(Cast(KeyTextTransform(key, "counts"), IntegerField())), 0) for key in PUSH_COUNT_KEYS}
    for row in (
        JobRun.objects.filter(has_push_counts, started_at__gte=start, started_at__lt=end)
        .annotate(local_day=TruncDate("started_at", tzinfo=timezone.get_current_timezone()))
        .order_by()
        .values("local_day")
        .annotate(**sums)
    ):
        for key in PUSH_COUNT_KEYS:
            pushes[key][index[row["local_day"]]] = row[key]
    return {"days": day_list, "users": users, "verses": verses, "ai_failures": ai_failures, "pushes": pushes}


def _local_day_bounds(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=timezone.get_current_timezone())
