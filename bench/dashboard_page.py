"""The admin dashboard's cost with a month of production-shaped data: render time, queries, size.

Usage, from the project root:

    .venv/bin/python bench/dashboard_page.py [--requests 20] [--delivery-runs-per-day 96]

DATABASE_URL (default postgres://postgres@127.0.0.1:5432/soulverse_dashboard_bench; created if
missing) and REDIS_URL (default redis://127.0.0.1:6379/14) as given. The database is migrated,
then filled once with 30 days as the jobs leave them: daily statistics, 18 verses of the day
per day (some AI failures), three job runs a day and a delivery run every 15 minutes with push
counts. Then GET /admin/dashboard/ through Django's test client as a superuser (in this process:
what the server spends, without the network), and prints the median and worst render time, the
queries per request and the HTML size. The browser's view (page weight with its CSS and scripts,
load time) is measured by console/tests/test_dashboard_browser.py, in var/screenshots/.
"""

import argparse
import datetime
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/soulverse_dashboard_bench")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/14")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "soulverse.settings")
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz")
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver")
os.environ.setdefault("CACHE_KEY_PREFIX", "soulverse-bench")
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ["GEMINI_API_KEY"] = ""

MOODS = ["joyful", "sad", "anxious", "grateful", "lonely", "stressed", "angry", "hopeful", ""]
FAILURES = ["", "", "", "", "timeout", "rate_limit", "text_mismatch", "", "invalid_output"]


def database_ensure() -> None:
    import psycopg2
    from django.conf import settings

    db = settings.DATABASES["default"]
    if not db["ENGINE"].endswith("postgresql"):
        return
    connection = psycopg2.connect(
        dbname="postgres", user=db["USER"], password=db["PASSWORD"], host=db["HOST"], port=db["PORT"]
    )
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db["NAME"]])
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{db["NAME"]}"')
    connection.close()


def month_seed(delivery_runs_per_day: int) -> None:
    from django.db import transaction
    from django.utils import timezone

    from scheduler.models import JobRun
    from scheduler.services import schedules_setup
    from users.models import DailyStats
    from verses.models import VerseOfTheDay

    schedules_setup()
    if DailyStats.objects.exists():
        return
    today = timezone.localdate()
    tz = timezone.get_current_timezone()
    runs, verses = [], []
    for n in range(1, 31):
        day = today - datetime.timedelta(days=n)
        DailyStats.objects.create(
            day=day,
            active_users=200_000 + n * 300,
            daily_active_users=80_000 + n * 97,
            new_users=400,
            verses_generated=200_000,
            fallbacks_used=n * 1000,
        )
        for index, mood in enumerate(MOODS):
            for language in ("fr", "en"):
                failure = FAILURES[(index + n) % len(FAILURES)]
                verses.append(
                    VerseOfTheDay(
                        day=day,
                        mood=mood,
                        language=language,
                        book=19,
                        chapter=23,
                        verse_start=1,
                        verse_end=1,
                        reference="Psaumes 23:1",
                        text="L'Éternel est mon berger.",
                        reflection="Une réflexion.",
                        source="fallback" if failure else "ai",
                        ai_failure=failure,
                    )
                )
        start = datetime.datetime.combine(day, datetime.time(), tzinfo=tz)
        for job_id, hour in (("user_stats_update", 0), ("cache_cleanup", 2), ("daily_verses_generation", 6)):
            runs.append(
                JobRun(
                    job_id=job_id,
                    trigger="schedule",
                    status="succeeded",
                    started_at=start + datetime.timedelta(hours=hour),
                    finished_at=start + datetime.timedelta(hours=hour, seconds=30),
                    counts={"pairs": 18, "users_processed": 200_000, "ai_failures": {"timeout": 2}},
                )
            )
        for tick in range(delivery_runs_per_day):
            at = start + datetime.timedelta(minutes=15 * tick)
            runs.append(
                JobRun(
                    job_id="deliver_verses",
                    trigger="schedule",
                    status="succeeded",
                    started_at=at,
                    finished_at=at + datetime.timedelta(seconds=4),
                    counts={"push_due": 2100, "push_sent": 2080, "push_invalid_tokens": 15, "push_failed": 5},
                )
            )
    VerseOfTheDay.objects.bulk_create(verses)
    started = [run.started_at for run in runs]
    JobRun.objects.bulk_create(runs)
    with transaction.atomic():  # started_at is auto_now_add: set the past afterwards
        for run, at in zip(runs, started):
            JobRun.objects.filter(pk=run.pk).update(started_at=at)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--delivery-runs-per-day", type=int, default=96)
    args = parser.parse_args()

    import django

    django.setup()
    database_ensure()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from scheduler.models import JobRun
    from users.models import User

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    month_seed(args.delivery_runs_per_day)
    admin = User.objects.filter(email="bench-admin@example.invalid").first() or User.objects.create_superuser(
        "bench-admin@example.invalid", None
    )
    client = Client()
    client.force_login(admin)

    client.get("/admin/dashboard/")  # warm-up: templates compiled, connections open
    timings = []
    for _ in range(args.requests):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get("/admin/dashboard/")
            timings.append(time.perf_counter() - started)
        assert response.status_code == 200, response.status_code
    print(f"dashboard: {JobRun.objects.count():,} runs in the table, {connection.vendor}, {args.requests} requests")
    print(f"  render time median {statistics.median(timings) * 1000:7.1f} ms   worst {max(timings) * 1000:.1f} ms")
    print(f"  queries per request {len(queries.captured_queries):5d}")
    print(f"  HTML {len(response.content):,} bytes")


if __name__ == "__main__":
    main()
