"""Benchmark of the push tick, executed the way the schedule executes it.

    flock /tmp/bench.lock .venv/bin/python bench/push.py --users 200000
    flock /tmp/bench.lock .venv/bin/python bench/push.py --users 20000 --chunk-size 500 --workers 2 --send-mode async

On PostgreSQL + Redis (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/soulverse_bench_push,
created if missing; REDIS_URL, default redis://127.0.0.1:6379/4, a Redis database the benchmark
flushes). It seeds N active users due at 06:00 in Lomé, with 1 to 3 devices each (1.3 on
average, FIDs and registration tokens: seed_demo_users; kept between runs when the count
matches; VACUUM ANALYZE after the load), starts the local FCM stub in a process of its own
(FcmStubProcess: the test stub's protocol code on asyncio, OAuth token endpoint + messages:send;
over HTTPS with a test authority trusted through FCM_CA_BUNDLE, HTTP/2 or HTTP/1.1 by ALPN,
unless `--no-tls`) with `--latency` seconds per request; or, with `--stand-in nginx`, nginx + njs
for messages:send and that stub for the OAuth token endpoint only (bench/fcm_nginx.py: the Python
stand-in's CPU bounds the bench on 2 cores), starts `--clusters` `manage.py qcluster` processes of
`--workers` workers, enqueues one tick (`at` = 06:00 Lomé) as the schedule does and waits for its
run to close. It prints messages/s (one message per device) and users/s, wall time, and CPU seconds and peak RSS per kind of process:
the cluster processes (the client: in production the only part on our machines besides the
database), the stub (FCM is remote in production) and the PostgreSQL backends of the benchmark's
database. Then, in the same run, it sends `--baseline-users` of the same users' messages with
firebase-admin's plain `messaging.send_each` (an app as firebase-admin configures it, batches of
500, one process, no database) and prints the ratio, and how far the rate is from FCM's default
quota (600,000 messages a minute, 10,000/s).

The stand-in records the wall-clock time of the first and the last send it accepted: the bench
prints both from the slot (the tick's enqueue). `--prepared` first runs the tick before the slot
(`at` = 05:45 Lomé), which prepares the slot's users (their verse of the day, the pairs' verses,
pending deliveries), and prints its time and CPU apart; the slot's figures start at the slot.
"""

import argparse
import datetime
import logging
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.daily_run import (  # noqa: E402 (after the sys.path line above)
    clusters_start,
    clusters_stop,
    database_create_if_missing,
    manage,
    peak_rss_mb,
    process_tree,  # noqa: E402
)
from bench.fcm_nginx import FcmNginx  # noqa: E402
from soulverse.testing.fcm_stub import FcmStubProcess  # noqa: E402

AT = datetime.datetime(2026, 1, 10, 6, 0, tzinfo=datetime.UTC)  # 06:00 in Lomé
PREPARE_AHEAD = datetime.timedelta(minutes=15)  # the tick before the slot (the schedule's */15)
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
FCM_QUOTA_PER_SECOND = 600_000 / 60  # FCM's default per-project quota


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--clusters", type=int, default=1)
    # 3 workers on 2 cores and chunks of 2,000 (4 FCM batches): the best measured here (README).
    parser.add_argument("--workers", type=int, default=3, help="workers per cluster (Q_WORKERS)")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per FCM request at the stub")
    parser.add_argument("--chunk-size", type=int, default=2000, help="PUSH_CHUNK_SIZE")
    parser.add_argument(
        "--fcm-concurrency", type=int, help="FCM_CONCURRENCY: requests in flight per worker (default: the setting's)"
    )
    parser.add_argument(
        "--send-mode", choices=["pool", "threads", "async", "h2", "curl"], default="curl", help="FCM_SEND_MODE"
    )
    parser.add_argument("--tls", action=argparse.BooleanOptionalAction, default=True, help="HTTPS (FCM is HTTPS only)")
    parser.add_argument(
        "--stand-in",
        choices=["python", "nginx"],
        default="python",
        help="FCM stand-in for messages:send: the Python stub (FcmStubProcess) or nginx + njs (bench/fcm_nginx.py)",
    )
    # 1: one worker's CPU per message bounds it far above FCM's quota, and a second one was no faster on 2 cores.
    parser.add_argument("--nginx-workers", type=int, default=1, help="nginx's worker_processes (--stand-in nginx)")
    parser.add_argument("--baseline-users", type=int, default=5000, help="0 to skip plain send_each")
    parser.add_argument("--broker", choices=["orm", "redis"], default="orm")
    parser.add_argument(
        "--prepared",
        action="store_true",
        help="run the tick before the slot first (it prepares the slot's users: verses, pending deliveries), "
        "timed apart; the slot's figures then start at the slot's tick",
    )
    return parser.parse_args()


def stand_in(args) -> FcmStubProcess | FcmNginx:
    """The FCM stand-in, not started yet."""
    if args.stand_in == "nginx":
        return FcmNginx(latency=args.latency, tls=args.tls, workers=args.nginx_workers)
    return FcmStubProcess(latency=args.latency, tls=args.tls)


def stand_in_description(args) -> str:
    if args.stand_in == "nginx":
        return f"nginx + njs, {args.nginx_workers} worker(s) (OAuth token endpoint: the Python stub, counted with it)"
    return "python (FcmStubProcess: asyncio + h2, one process)"


def configure_environment(args, stub: FcmStubProcess | FcmNginx, credentials: str) -> dict:
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
        "FCM_CA_BUNDLE": str(stub.ca_file or ""),
        "PUSH_CHUNK_SIZE": str(args.chunk_size),
        # Connections kept for the whole run, so that every PostgreSQL backend's CPU is measured.
        "DATABASE_CONN_MAX_AGE": "3600",
        "LOG_LEVEL": "WARNING",
    }
    if args.fcm_concurrency:
        env["FCM_CONCURRENCY"] = str(args.fcm_concurrency)
    os.environ.update(env)
    return {**os.environ}


def prepare_data(users: int, env: dict) -> None:
    from django.core.cache import cache
    from django.db import connection

    from users.selectors import users_push_eligible

    if users_push_eligible().filter(timezone="Africa/Lome").count() != users:
        print(f"seeding {users:,} active users (1.3 devices each) ...", flush=True)
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE users_user CASCADE")
        started = time.monotonic()
        manage("seed_demo_users", "--count", str(users), "--all-active", env=env)
        with connection.cursor() as cursor:  # all due at the tick: 06:00 in Lomé
            cursor.execute("UPDATE users_user SET timezone = 'Africa/Lome', notify_at = '06:00'")
        print(f"  seeded in {time.monotonic() - started:.1f} s", flush=True)
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE verses_delivery, verses_dailyverse, verses_verseoftheday, scheduler_jobchunk, "
            "scheduler_jobrun, django_q_ormq, django_q_task CASCADE"
        )
        cursor.execute("VACUUM ANALYZE")
    cache.clear()


def cpu_seconds(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def stand_in_cpu_seconds(stub: FcmStubProcess | FcmNginx) -> float:
    return sum(cpu_seconds(pid) or 0.0 for pid in stub.pids)


def postgres_backends() -> list[int]:
    """The PostgreSQL backends connected to the benchmark's database, but this process's own."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return [pid for (pid,) in cursor.fetchall()]


class Meter:
    """CPU seconds and peak RSS per process, by kind, sampled while the run goes on (a process
    that ends, e.g. a recycled database connection, keeps its last reading)."""

    def __init__(self, kinds):
        self.kinds = kinds  # kind -> callable returning the pids of that kind now
        self.before: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.rss: dict[int, float] = {}
        self.kind_of: dict[int, str] = {}

    def sample(self, *, first: bool = False) -> None:
        for kind, pids in self.kinds.items():
            for pid in pids():
                cpu = cpu_seconds(pid)
                if cpu is None:
                    continue
                self.kind_of.setdefault(pid, kind)
                if first:
                    self.before[pid] = cpu
                self.before.setdefault(pid, 0.0)  # started during the run: all its CPU is the run's
                self.last[pid] = cpu
                rss = peak_rss_mb(pid)
                if rss:
                    self.rss[pid] = rss

    def by_kind(self) -> dict[str, tuple[int, float, float, list[float]]]:
        """kind -> (processes, CPU seconds, peak RSS of the largest in MiB, each process's CPU)."""
        result = {}
        for kind in self.kinds:
            pids = [pid for pid, k in self.kind_of.items() if k == kind]
            cpu = [self.last[pid] - self.before[pid] for pid in pids]
            result[kind] = (
                len(pids),
                sum(cpu),
                max((self.rss.get(pid, 0.0) for pid in pids), default=0.0),
                sorted(cpu, reverse=True),
            )
        return result


def tick(meter: Meter, at: datetime.datetime = AT) -> tuple[float, dict, float]:
    """One tick at instant `at`, enqueued as the schedule does: (wall seconds from the enqueue to
    the run's close, the run's counts, the Unix time of the enqueue: the slot)."""
    from scheduler.models import JobRun
    from scheduler.registry import DELIVER_VERSES_JOB_ID
    from scheduler.services import job_run_enqueue

    meter.sample(first=True)
    slot = time.time()
    started = time.monotonic()
    run, _ = job_run_enqueue(
        job_id=DELIVER_VERSES_JOB_ID, trigger=JobRun.Trigger.SCHEDULE, params={"at": at.isoformat()}
    )
    last_sample = started
    while run.status == JobRun.Status.RUNNING:
        time.sleep(0.05)
        run.refresh_from_db()
        if time.monotonic() - last_sample >= 1.0:
            meter.sample()
            last_sample = time.monotonic()
    wall = time.monotonic() - started
    meter.sample()
    if run.status != JobRun.Status.SUCCEEDED:
        raise SystemExit(f"the run failed: {run.error}")
    return wall, run.counts, slot


def baseline(count: int, stub: FcmStubProcess | FcmNginx, credentials: str) -> tuple[float, float, float]:
    """firebase-admin's plain send_each over `count` users' messages, 500 at a time, from an app
    as firebase-admin configures it (its own connection pool and session settings; only the
    endpoint is the stub's). (messages/s, client CPU ms per message, stub CPU ms per message)."""
    import firebase_admin
    import requests.adapters
    from firebase_admin import _http_client, messaging
    from firebase_admin import credentials as fb_credentials

    from users.models import Device
    from verses.push.fcm import Push, push_message

    if stub.ca_file:  # firebase-admin's own sessions read the environment: trust the stub's authority there
        os.environ["REQUESTS_CA_BUNDLE"] = str(stub.ca_file)
    app = firebase_admin.initialize_app(fb_credentials.Certificate(credentials), name="bench-plain-send-each")
    service = messaging._get_messaging_service(app)
    service._fcm_url = f"{stub.base_url}/v1/projects/{app.project_id}/messages:send"
    service._client.session.mount(
        stub.base_url,
        requests.adapters.HTTPAdapter(  # as it mounts fcm.googleapis.com
            pool_connections=100, pool_maxsize=100, max_retries=_http_client.DEFAULT_RETRY_CONFIG
        ),
    )
    devices = list(Device.objects.order_by("id").values_list("kind", "identifier", "user__language")[:count])
    end = AT + datetime.timedelta(days=1)
    messages = [
        push_message(
            Push(
                key=n,
                kind=kind,
                target=identifier,
                language=language,
                day=AT.date(),
                reference="Jean 3:16",
                text="Car Dieu a tant aimé le monde",
                verse_id=1,
                expires_at=end,
            ),
            now=AT,
        )
        for n, (kind, identifier, language) in enumerate(devices)
    ]
    # It discards the connections beyond its pool of 100 (that is what is measured): not a warning here.
    logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)
    messaging.send_each(messages[:1], app=app)  # the OAuth token, as the cluster's first batch gets it
    before, stub_before = stub.accepted, stand_in_cpu_seconds(stub)
    cpu_before, started = time.process_time(), time.monotonic()
    for start in range(0, len(messages), 500):
        messaging.send_each(messages[start : start + 500], app=app)
    rate = len(messages) / (time.monotonic() - started)
    client_ms = (time.process_time() - cpu_before) * 1000 / len(messages)
    stub_ms = (stand_in_cpu_seconds(stub) - stub_before) * 1000 / len(messages)
    assert stub.accepted - before == len(messages)
    firebase_admin.delete_app(app)
    return rate, client_ms, stub_ms


def main() -> None:
    args = parse_args()
    with stand_in(args) as stub, tempfile.TemporaryDirectory() as directory:
        credentials = str(stub.credentials_file(Path(directory)))
        env = configure_environment(args, stub, credentials)
        database_create_if_missing(env["DATABASE_URL"])
        manage("migrate", "--noinput", env=env)
        import django

        django.setup()
        prepare_data(args.users, env)
        processes = clusters_start(args.clusters, env)
        meter = Meter(
            {
                "cluster processes (client)": lambda: [pid for p in processes for pid in process_tree(p.pid)],
                "FCM stub": lambda: stub.pids,
                "PostgreSQL backends": postgres_backends,
            }
        )
        prepared = None
        try:
            if args.prepared:  # the tick before the slot prepares it: timed and measured apart
                before = Meter(meter.kinds)
                prepare_wall, prepare_counts, _ = tick(before, AT - PREPARE_AHEAD)
                prepared = (prepare_wall, prepare_counts, before.by_kind())
            stub.accept_times_reset()
            wall, counts, slot = tick(meter)
        finally:
            clusters_stop(processes)
        accepted, connections = stub.accepted, stub.connections
        first_accept, last_accept = stub.first_accepted_at - slot, stub.last_accepted_at - slot
        baseline_result = baseline(args.baseline_users, stub, credentials) if args.baseline_users else None

    from django.conf import settings

    users_sent = counts["push_sent"]
    sent = counts["push_devices_sent"]  # messages: one per device
    rate = sent / wall
    print(f"\nCPU per push is the slot's only{' (preparation apart, above)' if prepared else ''}.")
    print(
        f"\npush tick: {args.users:,} due users, {args.clusters} cluster(s) x {args.workers} worker(s), "
        f"chunks of {args.chunk_size}, send mode {args.send_mode}, {settings.FCM_CONCURRENCY} in flight per worker, "
        f"{'TLS' if args.tls else 'plain TCP'}, "
        f"stub latency {args.latency * 1000:.0f} ms, broker {args.broker}, {os.cpu_count()} CPUs"
    )
    print(f"  FCM stand-in                      {stand_in_description(args)}")
    print(f"  connections to the stub           {', '.join(f'{n} {name}' for name, n in connections.items() if n)}")
    if prepared:
        prepare_wall, prepare_counts, prepare_cpu = prepared
        print(
            f"  preparation (the tick before)     {prepare_wall:10.2f} s, {prepare_counts.get('push_prepared', 0):,} "
            f"users prepared (not counted below); CPU "
            + ", ".join(f"{kind.split(' ')[0]} {cpu:.1f} s" for kind, (_, cpu, _, _) in prepare_cpu.items())
        )
    print(f"  slot -> first push accepted       {first_accept:10.2f} s")
    print(f"  slot -> last push accepted        {last_accept:10.2f} s")
    print(f"  wall time (enqueue -> run closed) {wall:10.2f} s")
    print(f"  messages/s (one per device)       {rate:10,.0f}")
    print(f"  users/s                           {users_sent / wall:10,.0f}")
    print(
        f"  messages sent (run / stub)        {sent:,} / {accepted:,}   to {users_sent:,} users "
        f"({sent / max(1, users_sent):.2f} devices each), failed {counts['push_failed']}, "
        f"retried {counts['push_retried']}"
    )
    print(f"  chunks                            {counts.get('push_chunks', 0):10,d}")
    print(f"  database queries / 1,000 pushes   {counts.get('db_queries', 0) * 1000 / max(1, sent):10.2f}")
    print("  CPU and peak RSS per kind of process:")
    for kind, (number, cpu, rss, each) in meter.by_kind().items():
        print(
            f"    {kind:30s} {number:3d} process(es)  CPU {cpu:8.1f} s  ({cpu * 1000 / max(1, sent):5.3f} ms/push)  "
            f"peak RSS {rss:5.0f} MiB (largest)   CPU per process: {', '.join(f'{v:.1f}' for v in each[:8])}"
        )
    print(
        f"  1,000,000 pushes at this rate     {1_000_000 / rate / 60:10.1f} min"
        + (" (extrapolated)" if sent < 1_000_000 else "")
    )
    print(
        f"  FCM's default quota (10,000/s)    {rate / FCM_QUOTA_PER_SECOND:10.1%} of it; "
        f"{FCM_QUOTA_PER_SECOND / rate:.1f}x this rate would be needed to reach it"
    )
    if baseline_result:
        base_rate, base_client, base_stub = baseline_result
        print(
            f"firebase-admin plain send_each (its own session settings), one process, {args.baseline_users:,} "
            f"messages: {base_rate:,.0f} messages/s, client CPU {base_client:.3f} ms/push, "
            f"stub CPU {base_stub:.3f} ms/push -> cluster/plain ratio {rate / base_rate:.2f}x"
        )


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    main()
