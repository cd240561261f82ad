"""Load test of issue 12: GET /api/v1/verses/today at full speed, alone, then while anonymous
clients hammer `health`, the API schema and wrong tokens and a daily run writes 100,000 users.

Usage, from the project root:

    .venv/bin/python bench/attack_load.py [--duration 10] [--rounds 2] [--connections 16]
                                          [--attack-connections 4] [--workers 2] [--users 100000]

Same machinery as bench/http_load.py (its database and gunicorn steps, wrk on loopback, every step
bounded), on DATABASE_URL (default postgres://postgres@127.0.0.1:5432/soulverse_bench_attack) and
REDIS_URL (default redis://127.0.0.1:6379/14):

  1. at least --users active users (seed_demo_users --all-active), today's verses, one user's token;
  2. gunicorn --workers N; warm-up;
  3. --rounds times, alternately:
     - baseline: wrk -c<connections> on verses/today for --duration seconds;
     - attacked: the same wrk, while three more wrk processes of --attack-connections each hammer
       GET /api/v1/scheduler/health (anonymous), GET /api/schema/ (anonymous) and GET
       /api/v1/verses/today with a wrong token, and a `manage.py shell` process writes the
       daily verses of --users users for a spare day, over and over (delete then
       daily_verses_prepare, then every chunk's INSERT … SELECT, as a daily run's tasks do);
  4. prints, per mode, verses/today's best requests/s and its p99, the ratio attacked/baseline
     (target: at least 0.8) and verses/today's errors (must be 0); the attackers' answers by status.

Exit status: 0 when the ratio meets --target and verses/today had no error, 1 otherwise, 2 when the
benchmark could not run.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import http_load as base  # noqa: E402  (bench/http_load.py: database, gunicorn and wrk helpers)

ROOT = base.ROOT
TODAY = base.TODAY
ATTACKS = {
    "health (anonymous)": ("/api/v1/scheduler/health", {}),
    "schema (anonymous)": ("/api/schema/", {}),
    "verses/today, wrong token": (TODAY, {"Authorization": "Token " + "0" * 64}),
}
DAILY_WRITER = """
import datetime, time
from django.utils import timezone
from verses.models import DailyVerse
from verses.services import daily_verses_assign_chunk, daily_verses_prepare
day = timezone.localdate() + datetime.timedelta(days=30)  # a spare day: today's verses stay as they are
deadline = time.monotonic() + {seconds}
runs = []
while time.monotonic() < deadline:
    DailyVerse.objects.filter(day=day).delete()
    started = time.monotonic()
    _, chunks = daily_verses_prepare(day=day)
    created = sum(daily_verses_assign_chunk(day=day, after=c["after"], upto=c["upto"])["verses_created"]
                  for c in chunks)
    runs.append((created, time.monotonic() - started))
print(" ".join(f"{{n}}:{{s:.1f}}" for n, s in runs))
"""


def users_ensure(env: dict, count: int) -> None:
    active = int(base.manage(env, "shell", "-c", "from users.selectors import users_active; "
                                                  "print(users_active().count())").splitlines()[-1])
    if active < count:
        base.log(f"{active} active users: seeding {count - active} more")
        base.manage(env, "seed_demo_users", "--count", str(count - active), "--all-active", timeout=900)


def attacked_round(wrk: str, base_url: str, auth: dict, args, run: dict, env: dict, *, attack: bool = True,
                   write: bool = True) -> tuple[dict, dict, str]:
    attackers = []
    for name, (path, headers) in ATTACKS.items() if attack else ():
        command = [wrk, "-t1", f"-c{args.attack_connections}", f"-d{args.duration + 4}s", "--timeout", "5s"]
        for header, value in headers.items():
            command += ["-H", f"{header}: {value}"]
        attackers.append((name, subprocess.Popen([*command, base_url + path], stdout=subprocess.PIPE,
                                                 stderr=subprocess.PIPE, text=True)))
    writer = subprocess.Popen([sys.executable, "manage.py", "shell", "-c",
                               DAILY_WRITER.format(seconds=args.duration + 2 if write else 0)],
                              cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(2)  # the attack and the write are under way
    try:
        result = base.wrk_run(wrk, base_url + TODAY, **run, headers=auth)
    finally:
        outputs = {}
        for name, process in attackers:
            out, _ = process.communicate(timeout=args.duration + 60)
            outputs[name] = base.wrk_parse(out) if "Requests/sec" in out else {"rps": 0.0, "non_2xx": 0}
        written, errors = writer.communicate(timeout=600)
        if writer.returncode != 0:
            raise base.BenchError(f"the daily writer failed:\n{errors[-2000:]}")
    return result, outputs, written.strip().splitlines()[-1] if written.strip() else "-"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--attack-connections", type=int, default=4, help="per attacker (three of them)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--target", type=float, default=0.8)
    parser.add_argument("--breakdown", action="store_true", help="also measure each load alone")
    args = parser.parse_args()

    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/soulverse_bench_attack")
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/14")
    env = base.bench_env()
    wrk = base.wrk_ensure()
    base.log(f"database {env['DATABASE_URL']}, cache {env['REDIS_URL']}; {os.cpu_count()} CPUs, "
             f"load average {os.getloadavg()[0]:.2f}")
    process = None
    results = {"baseline": [], "attacked": []}
    # With --breakdown, also each load alone: the attackers without the daily run, and the run alone.
    parts = {"attackers only": [], "daily run only": []} if args.breakdown else {}
    attack_figures, writes = [], []
    with tempfile.NamedTemporaryFile("w+", prefix="bench-gunicorn-", suffix=".log") as gunicorn_log:
        try:
            base.database_ensure(env["DATABASE_URL"])
            base.manage(env, "migrate", "--noinput", timeout=600)
            users_ensure(env, args.users)
            token = base.prepare(env, analyze=True)
            port = base.free_port()
            base_url = f"http://127.0.0.1:{port}"
            process = base.gunicorn_start(env, port, args.workers, gunicorn_log)
            base.gunicorn_wait(process, base_url)
            auth = {"Authorization": f"Token {token}"}
            status, body = base.http_get(base_url + TODAY, auth)
            if status != 200:
                raise base.BenchError(f"GET {TODAY} answered {status}: {body[:200]!r}")
            run = {"duration": args.duration, "connections": args.connections, "threads": 1}
            base.wrk_run(wrk, base_url + TODAY, **{**run, "duration": 2}, headers=auth)  # warm-up
            for round_ in range(1, args.rounds + 1):
                result = base.wrk_run(wrk, base_url + TODAY, **run, headers=auth)
                results["baseline"].append(result)
                base.log(f"round {round_} baseline: {result['rps']:.0f} req/s, p99 {result.get('p99_ms', 0):.1f} ms")
                result, attackers, written = attacked_round(wrk, base_url, auth, args, run, env)
                results["attacked"].append(result)
                attack_figures.append(attackers)
                writes.append(written)
                base.log(f"round {round_} attacked: {result['rps']:.0f} req/s, p99 {result.get('p99_ms', 0):.1f} ms; "
                         + ", ".join(f"{name} {a['rps']:.0f} req/s" for name, a in attackers.items())
                         + f"; daily runs (verses:seconds) {written}")
                for part, (attack, write) in zip(parts, [(True, False), (False, True)]):
                    result, _, _ = attacked_round(wrk, base_url, auth, args, run, env, attack=attack, write=write)
                    parts[part].append(result)
                    base.log(f"round {round_} {part}: {result['rps']:.0f} req/s, p99 {result.get('p99_ms', 0):.1f} ms")
        except base.BenchError as exc:
            base.log(f"error: {exc}")
            gunicorn_log.seek(0)
            base.log(f"gunicorn log (end):\n{gunicorn_log.read()[-2000:]}")
            return 2
        finally:
            if process is not None:
                base.gunicorn_stop(process)

    results.update(parts)
    best = {mode: max(rounds, key=lambda r: r["rps"]) for mode, rounds in results.items()}
    errors = {mode: sum(r["errors"] + r["non_2xx"] for r in rounds) for mode, rounds in results.items()}
    print()
    print(f"{'verses/today':<16}{'best req/s':>11}{'p99 ms':>9}{'errors':>8}   rounds req/s")
    for mode, rounds in results.items():
        print(f"{mode:<16}{best[mode]['rps']:>11.1f}{best[mode].get('p99_ms', 0):>9.1f}{errors[mode]:>8}   "
              + ", ".join(f"{r['rps']:.0f}" for r in rounds))
    print("attackers (best round): " + "; ".join(
        f"{name} {max(a[name]['rps'] for a in attack_figures):.0f} req/s" for name in ATTACKS))
    print(f"daily runs during the attacked rounds (verses:seconds): {' | '.join(writes)}")
    ratio = best["attacked"]["rps"] / best["baseline"]["rps"]
    p99_ratio = best["attacked"].get("p99_ms", 0) / max(best["baseline"].get("p99_ms", 0), 0.001)
    ok = ratio >= args.target and not any(errors.values())
    print(f"\nratio attacked/baseline: {ratio:.2f} req/s, p99 x{p99_ratio:.2f}  "
          f"({'meets' if ok else 'BELOW'} the target {args.target:.2f}, verses/today errors {sum(errors.values())})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
