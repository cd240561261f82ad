"""Benchmark of the push tick, executed the way the schedule executes it.

    .venv/bin/python bench/push.py --users 100000
    .venv/bin/python bench/push.py --users 100000 --send-mode async

On PostgreSQL + Redis (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/soulverse_bench_push,
created if missing; REDIS_URL, default redis://127.0.0.1:6379/4, a Redis database the benchmark
flushes). It seeds N active users due at 06:00 in Lomé (kept between runs when the count
matches), starts the local FCM stub (OAuth token endpoint + messages:send) with `--latency`
seconds per request, starts `--clusters` `manage.py qcluster` processes of `--workers` workers,
enqueues one tick (`at` = 06:00 Lomé) as the schedule does and waits for its run to close. It
prints messages/s, wall time, CPU seconds and peak RSS per process. Then, in the same run, it
sends `--baseline-users` of the same users' messages with firebase-admin's plain
`messaging.send_each` (batches of 500, one process, no database) and prints the ratio.
"""

import argparse
import datetime
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.daily_run import clusters_start, clusters_stop, database_create_if_missing, manage, peak_rss_mb, \
    process_tree  # noqa: E402
from verses.tests.fcm_stub import FcmStub  # noqa: E402

AT = datetime.datetime(2026, 1, 10, 6, 0, tzinfo=datetime.UTC)  # 06:00 in Lomé
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--clusters", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2, help="workers per cluster")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per FCM request at the stub")
    parser.add_argument("--chunk-size", type=int, default=500, help="PUSH_CHUNK_SIZE")
    parser.add_argument("--send-mode", choices=["threads", "async"], default="threads", help="FCM_SEND_MODE")
    parser.add_argument("--baseline-users", type=int, default=5000, help="0 to skip plain send_each")
    parser.add_argument("--broker", choices=["orm", "redis"], default="orm")
    return parser.parse_args()


def configure_environment(args, stub: FcmStub, credentials: str) -> dict:
    env = {
        "DJANGO_SETTINGS_MODULE": "soulverse.settings",
        "DJANGO_SECRET_KEY": "benchmark-only-secret-key",
        "DJANGO_DEBUG": "false",
        "DATABASE_URL": os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/soulverse_bench_push"),
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/4"),
        "CACHE_KEY_PREFIX": "soulverse-bench-push",
        "Q_CLUSTER_NAME": "soulverse-bench-push",
        "Q_BROKER": args.broker,
        "Q_WORKERS": str(args.workers),
        "GEMINI_API_KEY": "",
        "FCM_CREDENTIALS_FILE": credentials,
        "FCM_BASE_URL": stub.base_url,
        "FCM_SEND_MODE": args.send_mode,
        "PUSH_CHUNK_SIZE": str(args.chunk_size),
        "LOG_LEVEL": "WARNING",
    }
    os.environ.update(env)
    return {**os.environ}


def prepare_data(users: int, env: dict) -> None:
    from django.core.cache import cache
    from django.db import connection

    from users.selectors import users_push_eligible

    if users_push_eligible().filter(timezone="Africa/Lome").count() != users:
        print(f"seeding {users:,} active users ...", flush=True)
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE users_user CASCADE")
        started = time.monotonic()
        manage("seed_demo_users", "--count", str(users), "--all-active", env=env)
        with connection.cursor() as cursor:  # all due at the tick: 06:00 in Lomé
            cursor.execute("UPDATE users_user SET timezone = 'Africa/Lome', notify_at = '06:00'")
        print(f"  seeded in {time.monotonic() - started:.1f} s", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE verses_delivery, verses_dailyverse, verses_verseoftheday, scheduler_jobchunk, "
                       "scheduler_jobrun, django_q_ormq, django_q_task CASCADE")
        cursor.execute("VACUUM ANALYZE")
    cache.clear()


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def tick(processes) -> tuple[float, dict, dict[int, float], dict[int, float]]:
    from scheduler.models import JobRun
    from scheduler.registry import DELIVER_VERSES_JOB_ID
    from scheduler.services import job_run_enqueue

    pids = [pid for process in processes for pid in process_tree(process.pid)]
    cpu_before = {pid: cpu_seconds(pid) for pid in pids}
    started = time.monotonic()
    run, _ = job_run_enqueue(job_id=DELIVER_VERSES_JOB_ID, trigger=JobRun.Trigger.SCHEDULE,
                             params={"at": AT.isoformat()})
    while run.status == JobRun.Status.RUNNING:
        time.sleep(0.05)
        run.refresh_from_db()
    wall = time.monotonic() - started
    if run.status != JobRun.Status.SUCCEEDED:
        raise SystemExit(f"the run failed: {run.error}")
    pids = [pid for process in processes for pid in process_tree(process.pid)]
    cpu = {pid: cpu_seconds(pid) - cpu_before.get(pid, 0.0) for pid in pids}
    rss = {pid: peak_rss_mb(pid) for pid in pids}
    return wall, run.counts, cpu, {pid: value for pid, value in rss.items() if value}


def baseline(count: int, stub: FcmStub) -> float:
    """firebase-admin's plain send_each over `count` users' messages, 500 at a time. Messages/s."""
    from firebase_admin import messaging

    from users.models import User
    from verses.fcm import Push, fcm_app, push_message

    app = fcm_app()
    users = list(User.objects.order_by("id").values_list("fcm_token", "language")[:count])
    end = AT + datetime.timedelta(days=1)
    messages = [push_message(Push(key=n, token=token, language=language, day=AT.date(), reference="Jean 3:16",
                                  text="Car Dieu a tant aimé le monde", verse_id=1, expires_at=end), now=AT)
                for n, (token, language) in enumerate(users)]
    before = stub.accepted
    started = time.monotonic()
    for start in range(0, len(messages), 500):
        messaging.send_each(messages[start:start + 500], app=app)
    rate = len(messages) / (time.monotonic() - started)
    assert stub.accepted - before == len(messages)
    return rate


def main() -> None:
    args = parse_args()
    with FcmStub(latency=args.latency, record=False) as stub, tempfile.TemporaryDirectory() as directory:
        env = configure_environment(args, stub, str(stub.credentials_file(Path(directory))))
        database_create_if_missing(env["DATABASE_URL"])
        manage("migrate", "--noinput", env=env)
        import django

        django.setup()
        prepare_data(args.users, env)
        processes = clusters_start(args.clusters, env)
        try:
            wall, counts, cpu, rss = tick(processes)
        finally:
            clusters_stop(processes)
        accepted = stub.accepted
        self_cpu = time.process_time()
        baseline_rate = baseline(args.baseline_users, stub) if args.baseline_users else None

    rate = counts["push_sent"] / wall
    print(f"\npush tick: {args.users:,} due users, {args.clusters} cluster(s) x {args.workers} worker(s), "
          f"chunks of {args.chunk_size}, send mode {args.send_mode}, stub latency {args.latency * 1000:.0f} ms, "
          f"broker {args.broker}")
    print(f"  wall time (enqueue -> run closed) {wall:10.2f} s")
    print(f"  messages/s                        {rate:10,.0f}   ({rate / 10_000:.1%} of FCM's 10,000/s quota)")
    print(f"  pushes sent (run / stub)          {counts['push_sent']:,} / {accepted:,}   "
          f"failed {counts['push_failed']}, retried {counts['push_retried']}")
    print(f"  chunks                            {counts.get('chunks', 0):10,d}")
    print(f"  database queries / 1,000 pushes   {counts.get('db_queries', 0) * 1000 / max(1, counts['push_sent']):10.2f}")
    print(f"  CPU s per cluster process         {', '.join(f'{v:.1f}' for v in sorted(cpu.values()))}  "
          f"(total {sum(cpu.values()):.1f}; stub + bench process {self_cpu:.1f})")
    print(f"  peak RSS per process (MiB)        {', '.join(f'{v:.0f}' for v in sorted(rss.values()))}")
    print(f"  1,000,000 pushes at this rate     {1_000_000 / rate / 60:10.1f} min")
    if baseline_rate:
        print(f"firebase-admin send_each, one process, {args.baseline_users:,} messages: {baseline_rate:,.0f} "
              f"messages/s -> ratio {rate / baseline_rate:.2f}x")


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    main()
