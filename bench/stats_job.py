"""Benchmark of the 00:00 statistics job (user_stats_update) on PostgreSQL at scale.

    .venv/bin/python bench/stats_job.py --users 1000000 --days 30
    .venv/bin/python bench/stats_job.py --users 1000000 --days 30 --active-share 0.3 --repeats 5

DATABASE_URL (default postgres://postgres@127.0.0.1:5432/soulverse_dau_stats, created if missing,
then migrated) must be PostgreSQL. The benchmark owns that database: it loads, with SQL
(generate_series), N active users, their activity of the `--days` days ending yesterday (each user
on each day with probability `--active-share`; 1.0, the default, is the upper bound: everyone
every day), yesterday's verse for every user, and push opens of yesterday for 30 % of them. The
activity is loaded one day at a time, as production writes it, and the growth of the activity table
(heap, primary key, `day` index) is measured after each day: rows and bytes per day. The data is
kept between runs with the same arguments. Then `VACUUM ANALYZE` of the loaded tables: this
machine's PostgreSQL runs with autovacuum off, and a bulk load leaves no statistics nor visibility
map (in production autovacuum does this after a day's writes).

Then it runs the job function as the cluster calls it (console.jobs.user_stats_update, for
yesterday) `--repeats` times, deleting yesterday's DailyStats row before each run so that each is
the nightly first computation, and prints each run's time, its parts, and the figures it stored.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

OPENED_SHARE = 0.3
TABLES = ("users_user", "users_useractivity", "verses_verseoftheday", "verses_dailyverse", "verses_verseopen")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=30, help="days of activity ending yesterday (default 30)")
    parser.add_argument(
        "--active-share",
        type=float,
        default=1.0,
        help="probability that a user is active on a day (default 1.0: everyone every day)",
    )
    parser.add_argument("--repeats", type=int, default=3, help="runs of the job (default 3)")
    parser.add_argument("--explain", action="store_true", help="print the plan of the activity query")
    args = parser.parse_args()
    if args.users < 1 or args.days < 1 or args.repeats < 1 or not 0 < args.active_share <= 1:
        parser.error("--users, --days, --repeats must be positive and --active-share in (0, 1]")
    return args


def configure_environment() -> None:
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "soulverse.settings",
            "DJANGO_SECRET_KEY": "benchmark-only-secret-key",
            "DJANGO_DEBUG": "false",
            "DATABASE_URL": os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/soulverse_dau_stats"),
            "REDIS_URL": "",  # the job reads no cache
            "GEMINI_API_KEY": "",
            "LOG_LEVEL": "WARNING",
        }
    )


def database_create_if_missing(url: str) -> None:
    import environ
    import psycopg2

    config = environ.Env.db_url_config(url)
    if "postgresql" not in config["ENGINE"]:
        sys.exit("error: DATABASE_URL must be PostgreSQL")
    admin = psycopg2.connect(
        dbname="postgres",
        user=config["USER"],
        host=config["HOST"],
        port=config["PORT"] or 5432,
        password=config["PASSWORD"] or None,
    )
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [config["NAME"]])
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{config["NAME"]}"')
    admin.close()


def mib(size: float) -> str:
    return f"{size / 2**20:,.1f} MiB"


def relation_sizes(cursor) -> dict[str, int]:
    cursor.execute("""
        SELECT c.relname, pg_relation_size(c.oid) FROM pg_class c
        WHERE c.relname = 'users_useractivity'
           OR c.oid IN (SELECT indexrelid FROM pg_index WHERE indrelid = 'users_useractivity'::regclass)""")
    return dict(cursor.fetchall())


def load(args: argparse.Namespace, yesterday) -> None:
    """Users, activity day by day (its growth measured), yesterday's verses and opens; VACUUM ANALYZE."""
    import datetime

    from django.db import connection

    marker = f"{args.users}:{args.days}:{args.active_share}:{yesterday.isoformat()}"
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS bench_stats_meta (marker text, growth text)")
        cursor.execute("SELECT growth FROM bench_stats_meta WHERE marker = %s", [marker])
        row = cursor.fetchone()
        if row:
            print(f"data of a previous run with the same arguments kept ({marker})")
            print(row[0])
            return
        print(
            f"loading {args.users:,} users and {args.days} days of activity (share {args.active_share}) ...", flush=True
        )
        cursor.execute("TRUNCATE bench_stats_meta, users_dailystats, users_user, verses_verseoftheday CASCADE")
        started = time.monotonic()
        cursor.execute(
            """
            INSERT INTO users_user (id, email, password, is_active, is_staff, is_superuser, mood,
                                    language, timezone, date_joined)
            SELECT gen_random_uuid(), 'bench-' || g || '@example.invalid', '!', true, false, false,
                   'joyful', 'fr', 'Africa/Lome', %s::timestamptz - (g %% 400) * interval '1 day'
            FROM generate_series(1, %s) g""",
            [f"{yesterday.isoformat()} 12:00+00", args.users],
        )
        cursor.execute(  # one token device each: every user active
            "INSERT INTO users_device (user_id, kind, identifier, platform, app_version, created_at, last_seen_at) "
            "SELECT id, 'token', 'bench-token-' || id, '', '', now(), now() FROM users_user"
        )
        print(f"  users: {time.monotonic() - started:.1f} s", flush=True)
        sample = "" if args.active_share >= 1 else f"WHERE random() < {args.active_share}"
        days = [yesterday - datetime.timedelta(days=n) for n in range(args.days - 1, -1, -1)]
        growth, rows, seconds = [], [], []
        before = relation_sizes(cursor)
        for day in days:
            started = time.monotonic()
            cursor.execute(
                f"INSERT INTO users_useractivity (user_id, day) SELECT id, %s FROM users_user {sample}", [day]
            )
            seconds.append(time.monotonic() - started)
            rows.append(cursor.rowcount)
            after = relation_sizes(cursor)
            growth.append({name: after[name] - before.get(name, 0) for name in after})
            before = after
        started = time.monotonic()
        cursor.execute(
            """
            INSERT INTO verses_verseoftheday (day, mood, language, book, chapter, verse_start, verse_end,
                reference, text, reflection, source, ai_failure, created_at)
            VALUES (%s, 'joyful', 'fr', 19, 23, 1, 1, 'Psaumes 23:1', 'L''Éternel est mon berger',
                    'Une réflexion.', 'fallback', '', now()) RETURNING id""",
            [yesterday],
        )
        verse_id = cursor.fetchone()[0]
        cursor.execute(
            "INSERT INTO verses_dailyverse (user_id, day, verse_id, created_at) "
            "SELECT id, %s, %s, now() FROM users_user",
            [yesterday, verse_id],
        )
        cursor.execute(
            "INSERT INTO verses_verseopen (user_id, day, opened_at) "
            f"SELECT id, %s, now() FROM users_user WHERE random() < {OPENED_SHARE}",
            [yesterday],
        )
        print(f"  yesterday's verses and opens: {time.monotonic() - started:.1f} s", flush=True)
        report = growth_report(rows, growth, seconds)
        cursor.execute("INSERT INTO bench_stats_meta VALUES (%s, %s)", [marker, report])
    print(report)
    started = time.monotonic()
    with connection.cursor() as cursor:
        for table in TABLES:
            cursor.execute(f"VACUUM ANALYZE {table}")
    print(
        f"VACUUM ANALYZE of the loaded tables (autovacuum is off here): {time.monotonic() - started:.1f} s", flush=True
    )


def growth_report(rows: list[int], growth: list[dict[str, int]], seconds: list[float]) -> str:
    names = sorted(growth[-1], key=lambda name: (name != "users_useractivity", name))
    steady = growth[len(growth) // 2 :]  # the first days also fill the tables' first pages
    lines = [
        f"activity table, per day ({len(rows)} days loaded one by one, mean of the last {len(steady)}):",
        f"  rows per day                    {statistics.mean(rows):>14,.0f}",
        f"  INSERT … SELECT of a day        {statistics.mean(seconds):>12.2f} s",
    ]
    total = 0.0
    for name in names:
        size = statistics.mean(day[name] for day in steady)
        total += size
        lines.append(f"  {name:<32}{mib(size):>14}  ({size / statistics.mean(rows):.1f} B/row)")
    lines.append(f"  {'total':<32}{mib(total):>14}  ({total / statistics.mean(rows):.1f} B/row)")
    return "\n".join(lines)


def run_job(args: argparse.Namespace, yesterday) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from console.jobs import user_stats_update
    from users.models import DailyStats
    from users.selectors import user_activity_counts
    from verses.selectors import daily_verse_counts, verse_push_counts

    if args.explain:
        with CaptureQueriesContext(connection) as queries:
            user_activity_counts(day=yesterday)
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + queries.captured_queries[-1]["sql"].replace("%", "%%"))
            print("\n".join(row[0] for row in cursor.fetchall()))
    times, reports = [], []
    for _ in range(args.repeats):
        DailyStats.objects.filter(day=yesterday).delete()
        with CaptureQueriesContext(connection) as queries:
            started = time.monotonic()
            reports.append(user_stats_update(day=yesterday.isoformat()))
            times.append(time.monotonic() - started)
        print(f"  run: {times[-1]:.2f} s, {len(queries.captured_queries)} queries", flush=True)
    parts = {}
    for name, call in [
        ("activity (DAU, WAU, MAU)", lambda: user_activity_counts(day=yesterday)),
        ("verses of the day", lambda: daily_verse_counts(day=yesterday)),
        ("pushes (opens)", lambda: verse_push_counts(day=yesterday)),
    ]:
        started = time.monotonic()
        call()
        parts[name] = time.monotonic() - started
    print(f"\nstats job for {args.users:,} users, {args.days} days of activity (share {args.active_share}):")
    print(f"  time per run (best / median of {args.repeats})   {min(times):.2f} s / {statistics.median(times):.2f} s")
    for name, seconds in parts.items():
        print(f"    of which {name:<28}{seconds:>8.2f} s")
    print(f"  report: {reports[-1]}")


def main() -> None:
    args = parse_args()
    configure_environment()
    database_create_if_missing(os.environ["DATABASE_URL"])
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL
    )
    import django

    django.setup()
    import datetime

    from django.utils import timezone

    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    print(f"database {os.environ['DATABASE_URL']}; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    load(args, yesterday)
    run_job(args, yesterday)


if __name__ == "__main__":
    main()
