"""Load test of issue 12: GET /api/v1/verses/today at full speed while anonymous clients hammer
`health`, the API schema and wrong tokens and a daily run writes 100,000 users, against the same
load without the attackers.

Usage, from the project root:

    .venv/bin/python bench/attack_load.py [--duration 10] [--rounds 2] [--connections 16]
                                          [--attack-connections 4] [--workers 2] [--users 100000]
                                          [--breakdown] [--attack-rate REQUESTS_PER_SECOND]

Same machinery as bench/http_load.py (its database and gunicorn steps, wrk on loopback, every step
bounded), on DATABASE_URL (default postgres://postgres@127.0.0.1:5432/soulverse_bench_attack) and
REDIS_URL (default redis://127.0.0.1:6379/14):

  1. at least --users active users (seed_demo_users --all-active), today's verses, one user's token;
  2. gunicorn --workers N; warm-up;
  3. --rounds times, alternately:
     - baseline: wrk -c<connections> on verses/today for --duration seconds, alone;
     - daily run only: the same wrk while a `manage.py shell` process writes the daily verses of
       --users users for a spare day, over and over (delete then daily_verses_prepare, then every
       chunk's INSERT … SELECT, as a daily run's tasks do): the issue's "same load without the
       attackers";
     - attacked: the same wrk and daily run, while three more wrk processes of
       --attack-connections each hammer GET /api/v1/scheduler/health (anonymous), GET /api/schema/
       (anonymous) and GET /api/v1/verses/today with a wrong token;
     - with --breakdown, attackers only: the wrk and the attackers, without the daily run;
  4. prints, per mode, verses/today's best requests/s and its p99 and its errors (must be 0); the
     issue's figure, attacked / daily run only, for requests/s (target: at least 0.8) and p99; as
     context, attacked / baseline (what the attackers and the daily run cost together) and
     attackers only / baseline; the attackers' requests/s; and where the CPU went during each
     measured run, per part, in cores (from /proc: gunicorn, the web's and the writer's PostgreSQL
     backends, the writer, Redis, the wrk clients, other processes on the machine, interrupts,
     steal): on a shared machine the figures mean nothing without it.

Attackers are unbounded by default: each wrk connection sends its next request as soon as it has
the answer, so they take whatever the server gives (a closed loop on the same cores). With
--attack-rate R each attacker sends at most R requests/s (wrk's delay() hook), a bounded abuser; the
summary line says which model was measured.

Exit status: 0 when attacked / daily run only (requests/s) meets --target and verses/today had no
error in any mode, 1 otherwise, 2 when the benchmark could not run.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
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
from django.db import connection
from django.utils import timezone
with connection.cursor() as cursor:  # its PostgreSQL backend is told apart in the CPU shares
    cursor.execute("SET application_name = '{application_name}'")
from verses.models import DailyVerse
from verses.generation.daily import daily_verses_assign_chunk, daily_verses_prepare
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


WRITER_APPLICATION_NAME = "bench-daily-writer"
TICK = os.sysconf("SC_CLK_TCK")


def _processes() -> dict[int, tuple[float, int, str, str]]:
    """Every process: (CPU seconds, user + system; parent pid; name; command line), from /proc."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                head, _, rest = stat.read().rpartition(")")
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                command = cmdline.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = rest.split()
        found[int(entry)] = (
            (int(fields[11]) + int(fields[12])) / TICK,
            int(fields[1]),
            head.partition("(")[2],
            command,
        )
    return found


def _machine() -> tuple[float, float, float]:
    """(busy, of which interrupts (irq + softirq), steal) CPU seconds of the machine since boot, from
    /proc/stat. Steal: time the hypervisor gave the virtual CPUs to others (counted as busy)."""
    with open("/proc/stat") as stat:
        values = [int(v) for v in stat.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values[:8]) - idle) / TICK, (values[5] + values[6]) / TICK, values[7] / TICK


def _writer_backends(database_url: str) -> set[int]:
    import psycopg2

    try:
        connection = psycopg2.connect(database_url, connect_timeout=5)
    except psycopg2.Error:
        return set()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pid FROM pg_stat_activity WHERE application_name = %s", [WRITER_APPLICATION_NAME])
            return {row[0] for row in cursor.fetchall()}
    finally:
        connection.close()


class CpuShares:
    """CPU used by each part of the benchmark between start() and stop(), in cores (CPU seconds per
    second; the machine has os.cpu_count() of them), from /proc: gunicorn (master and workers), the
    PostgreSQL backends of the bench database (the writer's apart), the writer's Python process,
    Redis, the wrk clients, and everything else on the machine (other people's work on a shared
    one); then the machine's busy time that no process was charged: interrupts (the softirq of
    loopback TCP, mostly), steal (a virtual machine's CPU given to others) and the rest."""

    def __init__(
        self, *, gunicorn_pid: int, database: str, database_url: str, writer_pid: int | None, attacker_pids: set[int]
    ):
        self.gunicorn_pid, self.database, self.database_url = gunicorn_pid, database, database_url
        self.writer_pid, self.attacker_pids = writer_pid, attacker_pids

    def start(self) -> None:
        self.started, self.before, self.machine_before = time.monotonic(), _processes(), _machine()
        self.writer_backends = _writer_backends(self.database_url) if self.writer_pid else set()

    def stop(self) -> None:
        self.seconds = time.monotonic() - self.started
        self.after, self.machine_after = _processes(), _machine()

    def _part(self, pid: int, parent: int, name: str, command: str) -> str:
        if pid == self.gunicorn_pid or parent == self.gunicorn_pid:
            return "gunicorn (web)"
        if pid in self.writer_backends:
            return "postgres: writer's backend"
        if name == "postgres" and f" {self.database} " in command:
            return "postgres: web's backends"
        if name == "postgres" or name.startswith("postgres"):
            return "postgres: other (bg, other DBs)"
        if pid == self.writer_pid or parent == self.writer_pid:
            return "writer (python)"
        if pid in self.attacker_pids:
            return "wrk attackers"
        if name == "wrk" and parent == os.getpid():
            return "wrk verses/today"
        if name.startswith("redis-server"):
            return "redis"
        if pid == os.getpid():
            return "bench script"
        return "other processes"

    def report(self) -> dict[str, float]:
        """Cores per part, largest first, then what no process was charged, and `machine busy`."""
        parts: dict[str, float] = {}
        for pid, (cpu, parent, name, command) in self.after.items():
            used = cpu - self.before.get(pid, (0.0,))[0]  # a process started since: all of its CPU
            if used > 0:
                part = self._part(pid, parent, name, command)
                parts[part] = parts.get(part, 0.0) + used / self.seconds
        busy, interrupts, steal = (
            (after - before) / self.seconds for after, before in zip(self.machine_after, self.machine_before)
        )
        shares = dict(sorted(parts.items(), key=lambda item: -item[1]))
        shares["interrupts (irq, softirq)"] = interrupts
        shares["steal (hypervisor)"] = steal
        shares["rest, not in a process"] = max(busy - interrupts - steal - sum(parts.values()), 0.0)
        shares["machine busy"] = busy
        return shares


def shares_line(shares: dict[str, float]) -> str:
    return ", ".join(f"{name} {cores:.2f}" for name, cores in shares.items())


def users_ensure(env: dict, count: int) -> None:
    active = int(
        base.manage(
            env, "shell", "-c", "from users.selectors import users_active; print(users_active().count())"
        ).splitlines()[-1]
    )
    if active < count:
        base.log(f"{active} active users: seeding {count - active} more")
        base.manage(env, "seed_demo_users", "--count", str(count - active), "--all-active", timeout=900)


def measured_run(wrk: str, url: str, run: dict, auth: dict, shares: CpuShares) -> dict:
    """base.wrk_run, with the CPU shares taken from 1 s after its start to 1 s before its end."""
    margin = min(1.0, run["duration"] / 4)
    timers = [threading.Timer(margin, shares.start), threading.Timer(run["duration"] - margin, shares.stop)]
    for timer in timers:
        timer.start()
    try:
        result = base.wrk_run(wrk, url, **run, headers=auth)
    finally:
        for timer in timers:
            timer.join()
    result["shares"] = shares.report()
    return result


def attacked_round(
    wrk: str,
    base_url: str,
    auth: dict,
    args,
    run: dict,
    env: dict,
    *,
    attack: bool = True,
    write: bool = True,
    gunicorn_pid: int,
) -> tuple[dict, dict, str]:
    attackers = []
    for name, (path, headers) in ATTACKS.items() if attack else ():
        command = [wrk, "-t1", f"-c{args.attack_connections}", f"-d{args.duration + 4}s", "--timeout", "5s"]
        if args.attack_rate:  # bounded: each connection waits before each request (wrk's delay() hook)
            command += ["-s", args.attack_script]
        for header, value in headers.items():
            command += ["-H", f"{header}: {value}"]
        attackers.append(
            (
                name,
                subprocess.Popen(
                    [*command, base_url + path], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
                ),
            )
        )
    writer = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "shell",
            "-c",
            DAILY_WRITER.format(seconds=args.duration + 2 if write else 0, application_name=WRITER_APPLICATION_NAME),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(2)  # the attack and the write are under way
    if write and args.writer_nice:
        for pid in {writer.pid} | _writer_backends(env["DATABASE_URL"]):
            os.setpriority(os.PRIO_PROCESS, pid, args.writer_nice)
    shares = CpuShares(
        gunicorn_pid=gunicorn_pid,
        database=database_name(env["DATABASE_URL"]),
        database_url=env["DATABASE_URL"],
        writer_pid=writer.pid if write else None,
        attacker_pids={process.pid for _, process in attackers},
    )
    try:
        result = measured_run(wrk, base_url + TODAY, run, auth, shares)
    finally:
        outputs = {}
        for name, process in attackers:
            out, _ = process.communicate(timeout=args.duration + 60)
            outputs[name] = base.wrk_parse(out) if "Requests/sec" in out else {"rps": 0.0, "non_2xx": 0}
        written, errors = writer.communicate(timeout=600)
        if writer.returncode != 0:
            raise base.BenchError(f"the daily writer failed:\n{errors[-2000:]}")
    return result, outputs, written.strip().splitlines()[-1] if written.strip() else "-"


def database_name(url: str) -> str:
    return urllib.parse.unquote(urllib.parse.urlsplit(url).path.lstrip("/"))


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
    parser.add_argument(
        "--writer-nice",
        type=int,
        default=0,
        help="experiment: run the writer's Python process and its PostgreSQL backend at this "
        "niceness (0-19; the backend is reniced from here, which needs the rights to)",
    )
    parser.add_argument(
        "--web-group-nice",
        type=int,
        default=0,
        help="experiment: the niceness of gunicorn's scheduler autogroup (-20-19; Linux shares "
        "CPU between sessions first when kernel.sched_autogroup_enabled is 1, so a "
        "process's own niceness only counts within its session: PostgreSQL's backends "
        "are all in the postmaster's)",
    )
    parser.add_argument(
        "--attack-rate",
        type=float,
        default=0,
        help="bounded attackers: at most this many requests/s each (default 0: unbounded, "
        "each connection sends its next request as soon as it has the answer)",
    )
    args = parser.parse_args()

    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/soulverse_bench_attack")
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/14")
    env = base.bench_env()
    wrk = base.wrk_ensure()
    base.log(
        f"database {env['DATABASE_URL']}, cache {env['REDIS_URL']}; {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    process = None
    results = {"baseline": [], "daily run only": [], "attacked": []}
    # With --breakdown, also the attackers without the daily run.
    parts = {"attackers only": []} if args.breakdown else {}
    attack_figures, writes = [], []
    with (
        tempfile.NamedTemporaryFile("w+", prefix="bench-gunicorn-", suffix=".log") as gunicorn_log,
        tempfile.NamedTemporaryFile("w", prefix="bench-attack-", suffix=".lua") as attack_script,
    ):
        if args.attack_rate:
            attack_script.write(
                f"function delay() return {1000 * args.attack_connections / args.attack_rate:.3f} end\n"
            )
            attack_script.flush()
            args.attack_script = attack_script.name
            base.log(
                f"bounded attackers: at most {args.attack_rate:g} requests/s each "
                f"({args.attack_connections} connections)"
            )
        else:
            base.log("unbounded attackers: each connection sends its next request as soon as it has the answer")
        try:
            base.database_ensure(env["DATABASE_URL"])
            base.manage(env, "migrate", "--noinput", timeout=600)
            users_ensure(env, args.users)
            token = base.prepare(env, analyze=True)
            port = base.free_port()
            base_url = f"http://127.0.0.1:{port}"
            process = base.gunicorn_start(env, port, args.workers, gunicorn_log)
            base.gunicorn_wait(process, base_url)
            if args.web_group_nice:
                with open(f"/proc/{process.pid}/autogroup", "w") as autogroup:  # the workers share it
                    autogroup.write(str(args.web_group_nice))
            auth = {"Authorization": f"Token {token}"}
            status, body = base.http_get(base_url + TODAY, auth)
            if status != 200:
                raise base.BenchError(f"GET {TODAY} answered {status}: {body[:200]!r}")
            run = {"duration": args.duration, "connections": args.connections, "threads": 1}
            base.wrk_run(wrk, base_url + TODAY, **{**run, "duration": 2}, headers=auth)  # warm-up
            for round_ in range(1, args.rounds + 1):
                shares = CpuShares(
                    gunicorn_pid=process.pid,
                    database=database_name(env["DATABASE_URL"]),
                    database_url=env["DATABASE_URL"],
                    writer_pid=None,
                    attacker_pids=set(),
                )
                result = measured_run(wrk, base_url + TODAY, run, auth, shares)
                results["baseline"].append(result)
                base.log(
                    f"round {round_} baseline: {result['rps']:.0f} req/s, p99 {result.get('p99_ms', 0):.1f} ms; "
                    f"cores: {shares_line(result['shares'])}"
                )
                result, _, written = attacked_round(
                    wrk, base_url, auth, args, run, env, attack=False, gunicorn_pid=process.pid
                )
                results["daily run only"].append(result)
                base.log(
                    f"round {round_} daily run only: {result['rps']:.0f} req/s, "
                    f"p99 {result.get('p99_ms', 0):.1f} ms; daily runs (verses:seconds) {written}; "
                    f"cores: {shares_line(result['shares'])}"
                )
                result, attackers, written = attacked_round(
                    wrk, base_url, auth, args, run, env, gunicorn_pid=process.pid
                )
                results["attacked"].append(result)
                attack_figures.append(attackers)
                writes.append(written)
                base.log(
                    f"round {round_} attacked: {result['rps']:.0f} req/s, p99 {result.get('p99_ms', 0):.1f} ms; "
                    + ", ".join(f"{name} {a['rps']:.0f} req/s" for name, a in attackers.items())
                    + f"; daily runs (verses:seconds) {written}; cores: {shares_line(result['shares'])}"
                )
                if args.breakdown:
                    result, _, _ = attacked_round(
                        wrk, base_url, auth, args, run, env, write=False, gunicorn_pid=process.pid
                    )
                    parts["attackers only"].append(result)
                    base.log(
                        f"round {round_} attackers only: {result['rps']:.0f} req/s, "
                        f"p99 {result.get('p99_ms', 0):.1f} ms; cores: {shares_line(result['shares'])}"
                    )
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
        print(
            f"{mode:<16}{best[mode]['rps']:>11.1f}{best[mode].get('p99_ms', 0):>9.1f}{errors[mode]:>8}   "
            + ", ".join(f"{r['rps']:.0f}" for r in rounds)
        )
    print(
        "attackers (best round): "
        + "; ".join(f"{name} {max(a[name]['rps'] for a in attack_figures):.0f} req/s" for name in ATTACKS)
    )
    print(f"daily runs during the attacked rounds (verses:seconds): {' | '.join(writes)}")
    names = list(dict.fromkeys(name for mode in best for name in best[mode]["shares"]))
    print(
        f"\nCPU, in cores of the machine's {os.cpu_count()}, during the best round of each mode "
        "(from /proc, 1 s after the start of the measured wrk to 1 s before its end):"
    )
    print(f"{'':<32}" + "".join(f"{mode:>16}" for mode in best))
    for name in names:
        print(f"{name:<32}" + "".join(f"{best[mode]['shares'].get(name, 0.0):>16.2f}" for mode in best))
    label = f"bounded attackers, {args.attack_rate:g} req/s each" if args.attack_rate else "unbounded attackers"
    if args.writer_nice:
        label += f", writer and its PostgreSQL backend at nice {args.writer_nice} (experiment)"
    if args.web_group_nice:
        label += f", gunicorn's autogroup at nice {args.web_group_nice} (experiment)"

    def ratios(mode: str, reference: str) -> tuple[float, float]:
        """(requests/s, p99) of `mode`'s best round over `reference`'s."""
        return (
            best[mode]["rps"] / best[reference]["rps"],
            best[mode].get("p99_ms", 0) / max(best[reference].get("p99_ms", 0), 0.001),
        )

    print(f"\n{label}; verses/today's best round of each mode, requests/s and p99 as a ratio:")
    if "attackers only" in best:
        print(
            "  context: attackers only / baseline: {:.2f} req/s, p99 x{:.2f}".format(
                *ratios("attackers only", "baseline")
            )
        )
    print(
        "  context: attacked / baseline (the attackers and the daily run together): {:.2f} req/s, p99 x{:.2f}".format(
            *ratios("attacked", "baseline")
        )
    )
    ratio, p99_ratio = ratios("attacked", "daily run only")
    ok = ratio >= args.target and not any(errors.values())
    print(
        f"issue 12: attacked / daily run only (the same load without the attackers): {ratio:.2f} req/s, "
        f"p99 x{p99_ratio:.2f}  ({'meets' if ok else 'BELOW'} the target {args.target:.2f} req/s, "
        f"verses/today errors {sum(errors.values())})"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
