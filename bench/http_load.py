"""HTTP load benchmark: GET /api/v1/verses/today against a trivial Django view (GET /livez).

Usage, from the project root:

    .venv/bin/python bench/http_load.py [--duration 10] [--connections 16] [--workers 2]
                                        [--rounds 2] [--threads 1] [--warmup 2] [--target 0.6]
                                        [--users 1] [--no-analyze]

It prepares a database, starts gunicorn on a free loopback port, loads both endpoints with
`wrk` for the same duration and connection count, one after the other, `--rounds` times
alternately (each endpoint keeps its best round, which filters out the noise of a shared
machine), prints a table (requests/s, latency percentiles up to p99) and the ratio today/livez in
requests per second, then stops gunicorn. The per-user throttle is on (it counts every request).
The target is a ratio of at least 0.6 (issue 25): on Redis the token's answer and the throttle are
one script call (verses/today_cache.py); PostgreSQL answers a miss (verses/views.py).

`--users 1` (the default) loads one user's token: after its first two requests every answer is a
kept one. `--users N` loads N users' tokens in turn (a wrk Lua script), as N phones asking once
each after the push: with N large enough that a token comes back after more than
VERSES_TODAY_CACHE_SECONDS, every request is a miss (PostgreSQL), the first of each user also
records their activity of the day.

Steps:
  1. DATABASE_URL (default postgres://postgres@127.0.0.1:5432/soulverse_bench): the database is
     created if missing (PostgreSQL), then `manage.py migrate`.
  2. Fewer than 1,000 users: `manage.py seed_demo_users --count 5000 --seed 1`.
  3. `manage.py trigger_daily_verses` (today's verses; curated ones: the AI is off here).
  4. ANALYZE of the tables the endpoint reads (autovacuum's job in production; it may be off on a
     development server, and stale statistics make PostgreSQL look a user's DailyVerse up through
     the (day, verse) index, scanning all of the day's rows: --no-analyze measures that state).
     One active non-staff user (in Africa/Lome when possible) and a new API token of theirs (knox);
     prints the index(es) the plan of the endpoint's query uses. With --users N, N-1 more active
     non-staff users of Africa/Lome with today's verse, a new token each.
  5. gunicorn soulverse.wsgi:application --workers N on 127.0.0.1:<free port>; waits for
     /livez, and checks that both endpoints answer 200 before measuring.
  6. `wrk --latency` on /livez and on /api/v1/verses/today (with `Authorization: Token ...`; with
     --users N, a Lua script that sends the N keys in turn).

Environment for every step (the manage.py commands and gunicorn): DATABASE_URL and REDIS_URL
(default redis://127.0.0.1:6379/15) as given; DJANGO_DEBUG=false, a bench DJANGO_SECRET_KEY,
DJANGO_SECURE_SSL_REDIRECT=false, DJANGO_ALLOWED_HOSTS=127.0.0.1, GEMINI_API_KEY empty (never
any call outside the machine), CACHE_KEY_PREFIX=soulverse-bench, LOG_LEVEL=WARNING and
THROTTLE_RATE_USER=100000000/minute (one user's token at full speed; the throttle still counts each
request) unless set.
DATABASE_CONN_MAX_AGE keeps its default (persistent connections, as in production).

`wrk` is installed with `apt-get install -y wrk` when missing (said on the output). Loopback only;
every step has a timeout and gunicorn is stopped on exit, Ctrl+C included.

The default Redis database is also bench/daily_run.py's, which flushes it (harmless here: what
verses/today keeps there is made again at the next request), but both load the same cores: do
not run the two benchmarks at once. This script never deletes anything; it adds tokens, a
`command` run and today's verses.

Exit status: 0 when the ratio meets --target, 1 below it, 2 when the benchmark could not run
(setup failure, or an endpoint answering anything but 200).
"""

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/soulverse_bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"
LIVEZ = "/livez"
TODAY = "/api/v1/verses/today"
MIN_USERS = 1000  # below this the user table counts as nearly empty


class BenchError(Exception):
    pass


def log(message: str) -> None:
    print(f"[bench] {message}", flush=True)


def bench_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    env.setdefault("REDIS_URL", DEFAULT_REDIS_URL)
    env.update(
        {
            "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": "bench-only-secret-key-not-for-production-0123456789abcdef",
            "DJANGO_SECURE_SSL_REDIRECT": "false",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            "GEMINI_API_KEY": "",
            "GEMINI_BASE_URL": "",
        }
    )
    env.setdefault("CACHE_KEY_PREFIX", "soulverse-bench")
    env.setdefault("Q_CLUSTER_NAME", "soulverse-bench")
    env.setdefault("LOG_LEVEL", "WARNING")
    env.setdefault("GUNICORN_ACCESS_LOG", "")  # gunicorn.conf.py: no access log line per request
    # One user's token at thousands of requests/s: its per-user throttle (counted on every request of
    # verses/today, as in production) must not turn the measurement into 429s.
    env.setdefault("THROTTLE_RATE_USER", "100000000/minute")
    env["PYTHONUNBUFFERED"] = "1"
    return env


def database_ensure(url: str) -> None:
    """Create the PostgreSQL database of `url` when it does not exist (SQLite creates its file)."""
    parts = urllib.parse.urlsplit(url)
    if not parts.scheme.startswith("postgres"):
        return
    import psycopg2  # in requirements.txt (the project's PostgreSQL driver)
    from psycopg2 import sql

    name = urllib.parse.unquote(parts.path.lstrip("/"))
    connection = psycopg2.connect(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
        user=urllib.parse.unquote(parts.username or "postgres"),
        password=urllib.parse.unquote(parts.password) if parts.password else None,
        dbname="postgres",
        connect_timeout=5,
    )
    try:
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if cursor.fetchone() is None:
                cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
                log(f"database {name} created")
    finally:
        connection.close()


def manage(env: dict, *args: str, timeout: float = 300) -> str:
    command = [sys.executable, "manage.py", *args]
    try:
        done = subprocess.run(command, check=False, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"manage.py {args[0]} took more than {timeout:.0f} s") from exc
    if done.returncode != 0:
        raise BenchError(f"manage.py {' '.join(args[:1])} failed ({done.returncode}):\n{done.stderr.strip()}")
    return done.stdout.strip()


USER_COUNT = "from users.models import User; print(User.objects.count())"
USER_AND_TOKEN = """
import datetime
import re
from django.db import connection
from django.db.models import Case, IntegerField, Value, When
from django.utils import timezone
from knox.crypto import hash_token
from knox.models import AuthToken
from users.models import User, UserActivity, active_user_q
from users.services import api_token_create
from verses.models import DailyVerse, VerseOfTheDay
from verses.selectors import TODAY_BY_TOKEN_SQL
if ANALYZE:  # what autovacuum does in production (it may be off on a development server)
    with connection.cursor() as cursor:
        for model in (User, AuthToken, UserActivity, DailyVerse, VerseOfTheDay):
            cursor.execute("ANALYZE " + connection.ops.quote_name(model._meta.db_table))
user = (User.objects.filter(active_user_q(), is_staff=False)
        .annotate(lome=Case(When(timezone="Africa/Lome", then=Value(0)), default=Value(1),
                            output_field=IntegerField()))
        .order_by("lome", "email").first())
_, key = api_token_create(user=user)  # a new device's token (the key is shown once)
# The plan of the endpoint's one query (verses/selectors.py): the token's key, then the user's
# primary key, the activity's primary key (user, day) and the unique (user, day) index of the
# daily verses are the right ones.
utc_today = timezone.now().date()
with connection.cursor() as cursor:
    cursor.execute(connection.ops.explain_query_prefix() + TODAY_BY_TOKEN_SQL,
                   [timezone.localdate(), utc_today - datetime.timedelta(days=1),
                    utc_today + datetime.timedelta(days=1), hash_token(key), timezone.now()])
    plan = "\\n".join(str(row[-1]) for row in cursor.fetchall())
indexes = sorted(set(re.findall(r"(?:[Uu]sing|USING (?:COVERING )?INDEX) (\\w+)", plan)))
# More users (--users N): active, not staff, in Lome (the service's date is theirs), with today's verse.
others = (User.objects.filter(active_user_q(), is_staff=False, timezone="Africa/Lome")
          .filter(daily_verses__day=timezone.localdate()).exclude(pk=user.pk).order_by("email")[:USERS - 1])
with open(KEYS_FILE, "w") as keys:
    keys.write("".join(api_token_create(user=other)[1] + "\\n" for other in [user, *others][1:]))
print(key, user.email, user.timezone, ",".join(indexes) or "-")
"""


def prepare(env: dict, *, analyze: bool, users: int, keys_file: str) -> list[str]:
    """Database, users, today's verses; the tokens of `users` active users (the first one's first)."""
    database_ensure(env["DATABASE_URL"])
    log("migrate")
    manage(env, "migrate", "--noinput", timeout=600)
    count = int(manage(env, "shell", "-c", USER_COUNT).splitlines()[-1])
    if count < MIN_USERS:
        log(f"{count} users: seed_demo_users --count 5000")
        log(manage(env, "seed_demo_users", "--count", "5000", "--seed", "1", timeout=600))
    else:
        log(f"{count} users already there")
    try:
        log(manage(env, "trigger_daily_verses", timeout=600).splitlines()[-1])
    except BenchError as exc:  # e.g. a run still in progress: /today makes the verse on demand
        log(f"trigger_daily_verses: {exc} (continuing)")
    script = f"ANALYZE = {analyze}\nUSERS = {users}\nKEYS_FILE = {keys_file!r}\n{USER_AND_TOKEN}"
    key, email, zone, indexes = manage(env, "shell", "-c", script).splitlines()[-1].split()
    log(
        f"user {email} ({zone}); {'tables analyzed; ' if analyze else ''}"
        f"index(es) of the endpoint's query: {indexes.replace(',', ', ')}"
    )
    keys = [key, *Path(keys_file).read_text().split()]
    if len(keys) < users:
        raise BenchError(f"only {len(keys)} users fit (--users {users}): active, in Africa/Lome, with today's verse")
    if users > 1:
        log(f"{len(keys)} users' tokens, sent in turn")
    return keys


# Sends the keys of KEYS_FILE in turn, one a request (wrk's `request` hook).
WRK_KEYS_LUA = """
local keys = {}
for line in io.lines(%(path)s) do keys[#keys + 1] = line end
local n = 0
request = function()
  n = n + 1
  return wrk.format(nil, nil, {["Authorization"] = "Token " .. keys[(n %% #keys) + 1]})
end
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_get(url: str, headers: dict | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def gunicorn_start(env: dict, port: int, workers: int, log_file) -> subprocess.Popen:
    gunicorn = Path(sys.executable).parent / "gunicorn"
    command = [
        str(gunicorn),
        "soulverse.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--log-level",
        "warning",
        "--graceful-timeout",
        "5",
    ]
    # A session of its own: stopping it stops its workers, never anything else.
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True
    )


def gunicorn_wait(process: subprocess.Popen, base: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchError(f"gunicorn exited ({process.returncode}) before answering")
        try:
            if http_get(base + LIVEZ)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise BenchError(f"gunicorn did not answer within {timeout:.0f} s")


def gunicorn_stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)  # the group of the gunicorn we started (see start)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


def wrk_ensure() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    log("wrk is missing: installing it with apt-get install -y wrk")
    apt = ["apt-get", "install", "-y", "-qq", "wrk"]
    if subprocess.run(apt, check=False, capture_output=True, timeout=300).returncode != 0:
        subprocess.run(["apt-get", "update", "-qq"], check=False, capture_output=True, timeout=300)
        subprocess.run(apt, check=False, capture_output=True, timeout=300)
    found = shutil.which("wrk")
    if not found:
        raise BenchError("wrk is not installed and apt-get could not install it")
    return found


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(value: str, unit: str) -> float:
    return float(value) * _UNITS[unit]


def wrk_parse(output: str) -> dict:
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if rps is None:
        raise BenchError(f"unexpected wrk output:\n{output}")
    result = {"rps": float(rps.group(1)), "errors": 0, "non_2xx": 0}
    latency = re.search(r"Latency\s+([\d.]+)(us|ms|s|m)\s+([\d.]+)(us|ms|s|m)\s+([\d.]+)(us|ms|s|m)", output)
    if latency:
        result["avg_ms"] = _ms(*latency.group(1, 2))
        result["max_ms"] = _ms(*latency.group(5, 6))
    for percent, value, unit in re.findall(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.MULTILINE):
        result[f"p{percent}_ms"] = _ms(value, unit)
    requests = re.search(r"(\d+) requests in", output)
    result["requests"] = int(requests.group(1)) if requests else 0
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    if socket_errors:
        result["errors"] = sum(int(n) for n in socket_errors.groups())
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if non_2xx:
        result["non_2xx"] = int(non_2xx.group(1))
    return result


def wrk_run(
    wrk: str,
    url: str,
    *,
    duration: int,
    connections: int,
    threads: int,
    headers: dict | None = None,
    script: str | None = None,
) -> dict:
    command = [wrk, f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency", "--timeout", "5s"]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    if script:
        command += ["-s", script]
    done = subprocess.run([*command, url], check=False, capture_output=True, text=True, timeout=duration + 60)
    if done.returncode != 0:
        raise BenchError(f"wrk failed ({done.returncode}): {done.stderr.strip()}")
    return wrk_parse(done.stdout)


def report(results: dict[str, list[dict]], target: float) -> float:
    best = {name: max(rounds, key=lambda r: r["rps"]) for name, rounds in results.items()}
    print()
    print(
        f"{'endpoint':<24}{'best req/s':>11}  {'rounds req/s':<20}{'avg ms':>8}{'p50 ms':>8}"
        f"{'p90 ms':>8}{'p99 ms':>8}{'errors':>8}"
    )
    for name, rounds in results.items():
        b = best[name]
        errors = sum(r["errors"] + r["non_2xx"] for r in rounds)
        per_round = ", ".join(f"{r['rps']:.0f}" for r in rounds)
        print(
            f"{name:<24}{b['rps']:>11.1f}  {per_round:<20}"
            f"{b.get('avg_ms', 0):>8.2f}{b.get('p50_ms', 0):>8.2f}{b.get('p90_ms', 0):>8.2f}"
            f"{b.get('p99_ms', 0):>8.2f}{errors:>8}"
        )
    ratio = best[TODAY]["rps"] / best[LIVEZ]["rps"]
    verdict = "meets" if ratio >= target else "BELOW"
    print(f"\nratio today/livez (req/s): {ratio:.2f}  ({verdict} the target {target:.2f})")
    return ratio


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run (default 10)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (default 16)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--rounds", type=int, default=2, help="alternated runs per endpoint; best kept (default 2)")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (default 1: the CPU goes to gunicorn)")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of unmeasured load per endpoint (default 2)")
    parser.add_argument(
        "--no-analyze",
        dest="analyze",
        action="store_false",
        help="do not ANALYZE the tables the endpoint reads before measuring",
    )
    parser.add_argument("--target", type=float, default=0.6, help="minimum ratio today/livez (default 0.6)")
    parser.add_argument(
        "--users", type=int, default=1, help="users whose tokens verses/today is asked with, in turn (default 1)"
    )
    args = parser.parse_args()
    if min(args.duration, args.connections, args.workers, args.rounds, args.threads, args.users) < 1 or args.warmup < 0:
        parser.error("--duration, --connections, --workers, --rounds, --threads and --users must be positive")
    threads = min(args.threads, args.connections)

    env = bench_env()
    wrk = wrk_ensure()
    log(
        f"database {env['DATABASE_URL']}, cache {env['REDIS_URL'] or 'database'}; "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}"
    )
    process = None
    with (
        tempfile.NamedTemporaryFile("w+", prefix="bench-gunicorn-", suffix=".log") as gunicorn_log,
        tempfile.NamedTemporaryFile("w+", prefix="bench-keys-", suffix=".txt") as keys_file,
        tempfile.NamedTemporaryFile("w+", prefix="bench-keys-", suffix=".lua") as wrk_script,
    ):
        try:
            keys = prepare(env, analyze=args.analyze, users=args.users, keys_file=keys_file.name)
            token = keys[0]
            script = None
            if len(keys) > 1:
                Path(keys_file.name).write_text("".join(key + "\n" for key in keys))
                wrk_script.write(WRK_KEYS_LUA % {"path": '"' + keys_file.name + '"'})
                wrk_script.flush()
                script = wrk_script.name
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            log(f"gunicorn --workers {args.workers} on {base}")
            process = gunicorn_start(env, port, args.workers, gunicorn_log)
            gunicorn_wait(process, base)
            auth = {"Authorization": f"Token {token}"}
            targets = {LIVEZ: {}, TODAY: auth}
            for path, headers in targets.items():  # both must answer 200 (no redirect, no 401)
                status, body = http_get(base + path, headers)
                if status != 200:
                    raise BenchError(f"GET {path} answered {status}: {body[:200]!r}")
            log(f"GET {TODAY}: {body[:120].decode(errors='replace')}...")
            run = {"duration": args.duration, "connections": args.connections, "threads": threads}
            if args.warmup:
                for path, headers in targets.items():
                    wrk_run(
                        wrk,
                        base + path,
                        **{**run, "duration": args.warmup},
                        headers=headers,
                        script=script if path == TODAY else None,
                    )
            log(f"wrk -t{threads} -c{args.connections} -d{args.duration}s, {args.rounds} round(s) alternated")
            results = {path: [] for path in targets}
            for round_ in range(1, args.rounds + 1):
                for path, headers in targets.items():
                    result = wrk_run(wrk, base + path, **run, headers=headers, script=script if path == TODAY else None)
                    results[path].append(result)
                    log(
                        f"round {round_} {path}: {result['rps']:.1f} req/s, p50 {result.get('p50_ms', 0):.2f} ms, "
                        f"p99 {result.get('p99_ms', 0):.2f} ms, errors {result['errors'] + result['non_2xx']}"
                    )
        except BenchError as exc:
            log(f"error: {exc}")
            gunicorn_log.seek(0)
            tail = gunicorn_log.read()[-2000:]
            if tail:
                log(f"gunicorn log (end):\n{tail}")
            return 2
        finally:
            if process is not None:
                gunicorn_stop(process)
                log("gunicorn stopped")
    if any(r["non_2xx"] for rounds in results.values() for r in rounds):
        log("error: some responses were not 2xx/3xx: the figures are not valid")
        return 2
    ratio = report(results, args.target)
    return 0 if ratio >= args.target else 1


if __name__ == "__main__":
    sys.exit(main())
