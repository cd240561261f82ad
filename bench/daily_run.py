"""Benchmark of the daily verse run, executed the way the schedule executes it.

    .venv/bin/python bench/daily_run.py --users 100000
    .venv/bin/python bench/daily_run.py --users 1000000 --clusters 2 --workers 1

On PostgreSQL + Redis (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/soulverse_bench_daily,
created if missing; REDIS_URL, default redis://127.0.0.1:6379/15, a Redis database the benchmark
owns and flushes). It seeds N active users (kept between runs when the count matches), starts a
local Gemini stub with `--latency` seconds per answer, starts `--clusters` `manage.py qcluster`
processes of `--workers` workers, enqueues the daily job as the schedule does and waits for its
run to close. It prints users/s, wall time, peak RSS of every process, database queries per 1,000
users, AI calls and Redis memory growth. Then it runs the naive design on `--naive-users` users of
the same table (one AI call and one INSERT per user, the original service without its pause) and
prints the ratio of the two rates, measured in the same run.
"""

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from soulverse.testing.gemini_stub import GeminiStub, good_answer  # noqa: E402  (no Django needed)

# An active user in SQL (users.models.active_user_q): is_active and at least one device.
ACTIVE_SQL = "is_active AND EXISTS (SELECT 1 FROM users_device d WHERE d.user_id = users_user.id)"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--clusters", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2, help="workers per cluster")
    parser.add_argument("--latency", type=float, default=0.5, help="seconds per stub answer")
    parser.add_argument("--chunk-size", type=int, default=None, help="VERSES_ASSIGN_CHUNK_SIZE")
    parser.add_argument("--naive-users", type=int, default=1000, help="0 to skip the naive mode")
    parser.add_argument("--broker", choices=["orm", "redis"], default="orm")
    parser.add_argument(
        "--without-statistics",
        action="store_true",
        help="reload the users table as a bulk load leaves it: no planner statistics, no "
        "visibility map (production without autovacuum, a restored dump)",
    )
    return parser.parse_args()


def configure_environment(args: argparse.Namespace, stub: GeminiStub) -> dict:
    env = {
        "DJANGO_SETTINGS_MODULE": "soulverse.settings",
        "DJANGO_SECRET_KEY": "benchmark-only-secret-key",
        "DJANGO_DEBUG": "false",
        "DATABASE_URL": os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/soulverse_bench_daily"),
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15"),
        "CACHE_KEY_PREFIX": "soulverse-bench",
        "Q_CLUSTER_NAME": "soulverse-bench",
        "Q_BROKER": args.broker,
        "Q_WORKERS": str(args.workers),
        "GEMINI_API_KEY": "benchmark-key",
        "GEMINI_BASE_URL": stub.base_url,
        "LOG_LEVEL": "WARNING",
    }
    if args.chunk_size:
        env["VERSES_ASSIGN_CHUNK_SIZE"] = str(args.chunk_size)
    os.environ.update(env)
    return {**os.environ}


def database_create_if_missing(url: str) -> None:
    import environ
    import psycopg2

    config = environ.Env.db_url_config(url)
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


def manage(*args: str, env: dict) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)


def prepare_data(users: int, env: dict) -> None:
    from django.core.cache import cache
    from django.db import connection

    from users.selectors import users_active

    if users_active().count() != users:
        print(f"seeding {users:,} active users ...", flush=True)
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE users_user CASCADE")
        started = time.monotonic()
        manage("seed_demo_users", "--count", str(users), "--all-active", env=env)
        print(f"  seeded in {time.monotonic() - started:.1f} s", flush=True)
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE verses_dailyverse, verses_verseoftheday, scheduler_jobchunk, scheduler_jobrun, "
            "django_q_ormq, django_q_task CASCADE"
        )
        cursor.execute("DROP TABLE IF EXISTS bench_naive_verse")
        cursor.execute("VACUUM ANALYZE")
    cache.clear()  # the benchmark's own Redis database


def users_table_reload_without_statistics() -> float:
    """The users rows written again (new heap: no visibility map, no hint bits) and the table's
    statistics gone, as after a bulk load or a restore with autovacuum off. Returns seconds."""
    from django.db import connection

    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE bench_users_copy AS SELECT * FROM users_user")
        cursor.execute("TRUNCATE users_user CASCADE")
        cursor.execute("INSERT INTO users_user SELECT * FROM bench_users_copy")
        cursor.execute("DROP TABLE bench_users_copy")
        cursor.execute("DELETE FROM pg_statistic WHERE starelid = 'users_user'::regclass")
        cursor.execute(
            "UPDATE pg_class SET reltuples = -1 WHERE oid = 'users_user'::regclass "
            "OR oid IN (SELECT indexrelid FROM pg_index WHERE indrelid = 'users_user'::regclass)"
        )
    return time.monotonic() - started


def floor_measure(users: int) -> tuple[float, float, float]:
    """This machine's floor, now: (a scan of the active users' rows, INSERT … SELECT of one narrow
    row per user into an index-less table, the same into a table keyed (user_id, day)), seconds."""
    from django.db import connection

    with connection.cursor() as cursor:
        started = time.monotonic()
        cursor.execute(f"SELECT count(*), max(mood), max(language) FROM users_user WHERE {ACTIVE_SQL}")
        scan = time.monotonic() - started
        cursor.execute("DROP TABLE IF EXISTS bench_floor")
        cursor.execute("CREATE TABLE bench_floor (user_id uuid, day date, verse_id bigint, created_at timestamptz)")
        started = time.monotonic()
        cursor.execute(f"INSERT INTO bench_floor SELECT id, current_date, 1, now() FROM users_user WHERE {ACTIVE_SQL}")
        write = time.monotonic() - started
        assert cursor.rowcount == users
        cursor.execute("DROP TABLE bench_floor")
        # The same with the uniqueness the daily verses need: a primary key (user_id, day).
        cursor.execute(
            "CREATE TABLE bench_floor (user_id uuid, day date, verse_id bigint, created_at timestamptz, "
            "PRIMARY KEY (user_id, day))"
        )
        started = time.monotonic()
        cursor.execute(f"INSERT INTO bench_floor SELECT id, current_date, 1, now() FROM users_user WHERE {ACTIVE_SQL}")
        keyed = time.monotonic() - started
        cursor.execute("DROP TABLE bench_floor")
    return scan, write, keyed


def run_profile(run_id) -> dict:
    """Where the run's time went, from its own records: the job's part (AI phase, chunking), then
    the chunks (their statements' time against the wall time of the chunk phase)."""
    from django.db.models import Max, Min

    from scheduler.models import JobChunk, JobRun

    run = JobRun.objects.get(pk=run_id)
    chunks = JobChunk.objects.filter(run=run)
    span = chunks.aggregate(first=Min("finished_at"), last=Max("finished_at"))
    statement_seconds = [chunk.counts.get("assign_seconds", 0) for chunk in chunks]
    return {
        "prepare": run.counts.get("prepare_seconds", 0),
        "to_first_chunk": (span["first"] - run.started_at).total_seconds(),
        "chunk_phase": (span["last"] - span["first"]).total_seconds(),
        "statements": sum(statement_seconds),
        "statement_mean": sum(statement_seconds) / max(len(statement_seconds), 1),
        "close": (run.finished_at - span["last"]).total_seconds(),
    }


def redis_used_memory() -> int:
    from django_redis import get_redis_connection

    return int(get_redis_connection("default").info("memory")["used_memory"])


def redis_verse_cache_bytes() -> tuple[int, int]:
    """(keys, bytes) of the day's verse cache entries, by Redis' MEMORY USAGE."""
    from django_redis import get_redis_connection

    client = get_redis_connection("default")
    keys = list(client.scan_iter(match="soulverse-bench:*verse:*", count=1000))
    return len(keys), sum(client.memory_usage(key) or 0 for key in keys)


def process_tree(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    # Listed by /proc itself, not glob("[0-9]*/stat"): glob stats each path, and a process that
    # exits meanwhile raised ProcessLookupError (a 1,300,000-message push bench died of it).
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        stat = Path(entry.path, "stat")
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, []))
    return tree


def peak_rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def clusters_start(count: int, env: dict) -> list[subprocess.Popen]:
    from scheduler.selectors import cluster_state

    processes = [
        subprocess.Popen(
            [sys.executable, "manage.py", "qcluster"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(count)
    ]
    deadline = time.monotonic() + 60
    while cluster_state()["count"] < count:
        if time.monotonic() > deadline:
            raise SystemExit("the clusters did not report a heartbeat within 60 s")
        time.sleep(0.2)
    return processes


def clusters_stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def scheduled_run(processes: list[subprocess.Popen]) -> tuple[float, dict, dict[int, float]]:
    from scheduler.models import JobRun
    from scheduler.registry import DAILY_VERSES_JOB_ID
    from scheduler.services import job_run_enqueue

    started = time.monotonic()
    run, _ = job_run_enqueue(job_id=DAILY_VERSES_JOB_ID, trigger=JobRun.Trigger.SCHEDULE)
    while run.status == JobRun.Status.RUNNING:
        time.sleep(0.05)
        run.refresh_from_db()
    wall = time.monotonic() - started
    if run.status != JobRun.Status.SUCCEEDED:
        raise SystemExit(f"the run failed: {run.error}")
    rss = {pid: peak_rss_mb(pid) for process in processes for pid in process_tree(process.pid)}
    return wall, {**run.counts, "run_id": run.pk}, {pid: value for pid, value in rss.items() if value}


def naive_run(count: int, stub: GeminiStub) -> float:
    """The original design: for each user one AI call, one check, one INSERT. Returns users/s."""
    from django.conf import settings
    from django.db import connection

    from users.selectors import users_active
    from verses.ai.gemini import GeminiProvider
    from verses.generation.validation import proposal_check

    provider = GeminiProvider(
        api_key="benchmark-key", model=settings.GEMINI_MODEL, base_url=stub.base_url, timeout_seconds=30, retries=0
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE bench_naive_verse (user_id uuid PRIMARY KEY, reference text, body text, "
            "reflection text, created_at timestamptz DEFAULT now())"
        )
    users = list(users_active().order_by("id").values_list("id", "mood", "language")[:count])
    started = time.monotonic()
    for user_id, mood, language in users:
        passage = proposal_check(
            proposal=provider.propose(mood=mood or "default", language=language, avoid=[]), language=language
        )
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO bench_naive_verse (user_id, reference, body, reflection) VALUES (%s, %s, %s, %s)",
                [user_id, passage.reference, passage.text, passage.reflection],
            )
    return len(users) / (time.monotonic() - started)


def main() -> None:
    args = parse_args()
    with GeminiStub(latency=args.latency) as stub:
        stub.respond(good_answer)
        env = configure_environment(args, stub)
        database_create_if_missing(env["DATABASE_URL"])
        manage("migrate", "--noinput", env=env)
        manage("setup_schedules", env=env)
        import django

        django.setup()
        prepare_data(args.users, env)
        if args.without_statistics:
            print(
                f"users table reloaded without statistics in {users_table_reload_without_statistics():.1f} s",
                flush=True,
            )
        processes = clusters_start(args.clusters, env)
        memory_before = redis_used_memory()
        try:
            wall, counts, rss = scheduled_run(processes)
        finally:
            clusters_stop(processes)
        memory_growth = redis_used_memory() - memory_before
        cache_keys, cache_bytes = redis_verse_cache_bytes()
        ai_requests = stub.request_count
        naive_rate = naive_run(args.naive_users, stub) if args.naive_users else None
        floor_scan, floor_write, floor_keyed = floor_measure(args.users)
        profile = run_profile(counts["run_id"])

    from django.conf import settings

    from verses.models import DailyVerse

    rate = args.users / wall
    print(
        f"\ndaily run: {args.users:,} active users, {args.clusters} cluster(s) x {args.workers} worker(s), "
        f"stub latency {args.latency} s, broker {args.broker}, chunk {settings.VERSES_ASSIGN_CHUNK_SIZE:,}, "
        f"{'WITHOUT statistics' if args.without_statistics else 'after VACUUM ANALYZE'}"
    )
    print(f"  wall time (enqueue -> run closed) {wall:10.2f} s")
    print(f"  users/s                           {rate:10,.0f}")
    print(
        f"  verses created                    {counts['verses_created']:10,d}  (rows now: "
        f"{DailyVerse.objects.count():,})"
    )
    print(f"  chunks                            {counts.get('chunks', 0):10,d}")
    print(f"  database queries / 1,000 users    {counts['db_queries'] * 1000 / args.users:10.2f}")
    print(f"  AI calls (report / stub)          {counts['ai_calls']:6d} / {ai_requests}")
    print(f"  Redis memory growth during run    {memory_growth / 1024:10.1f} KiB")
    print(f"  the day's verse cache in Redis    {cache_bytes / 1024:10.1f} KiB in {cache_keys} keys")
    print(f"  peak RSS per process (MiB)        {', '.join(f'{v:.0f}' for v in sorted(rss.values()))}")
    print(f"  peak RSS, largest process         {max(rss.values()):10.1f} MiB")
    floor = floor_scan + floor_write
    print(
        f"  floor, same run: {args.users:,}-row scan {floor_scan:.2f} s + INSERT … SELECT {floor_write:.2f} s = "
        f"{floor:.2f} s  -> run / floor {wall / floor:.2f}x"
    )
    print(
        f"  INSERT … SELECT into a table keyed (user_id, day), same run: {floor_keyed:.2f} s  -> run / that "
        f"{wall / floor_keyed:.2f}x"
    )
    chunks = counts.get("chunks", 0) or 1
    print("  profile (from the run's records):")
    print(f"    job's own part (AI phase, chunking)  {profile['prepare']:8.2f} s")
    print(f"    enqueue -> first chunk done          {profile['to_first_chunk']:8.2f} s")
    print(
        f"    first -> last chunk done             {profile['chunk_phase']:8.2f} s  "
        f"({chunks / max(profile['chunk_phase'], 1e-9):.1f} chunks/s)"
    )
    print(
        f"    chunk statements, sum / mean         {profile['statements']:8.2f} s / "
        f"{profile['statement_mean'] * 1000:.0f} ms"
    )
    workers = args.clusters * args.workers
    per_chunk = profile["chunk_phase"] * workers / chunks
    print(
        f"    wall per chunk per worker            {per_chunk * 1000:8.0f} ms  (statement "
        f"{profile['statement_mean'] * 1000:.0f} ms, the rest: commit, broker, bookkeeping)"
    )
    print(f"    last chunk -> run closed             {profile['close']:8.2f} s")
    if naive_rate:
        print(f"naive mode on {args.naive_users:,} users: {naive_rate:,.1f} users/s -> ratio {rate / naive_rate:,.0f}x")


if __name__ == "__main__":
    main()
