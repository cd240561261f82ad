"""What each layer of the hot path (soulverse/hotpath.py) is worth behind the production proxy.

Usage, from the project root:

    .venv/bin/python bench/hot_path_layers.py [--duration 6] [--rounds 3] [--connections 16]
                                              [--workers 3] [--limits lifted|production]
                                              [--endpoints livez,health,schema,...]

Two gunicorns on the same code, database and settings (bench/http_load.py's environment and
database steps, plus DJANGO_BEHIND_PROXY as in production): "replay" serves
`soulverse.wsgi:application` (soulverse/replay.py in front of Django), "plain" serves
`django.core.wsgi:get_wsgi_application()` (Django alone: the same views and memos, no replay).
Each is behind its own Debian nginx running the project's template
(deploy/nginx/templates/soulverse.conf.template), rendered as scripts/smoke_production.sh does
(envsubst, deploy/selfsigned.sh, the official image's main context; no access log, as the bench's
gunicorn). wrk over HTTPS to each nginx, endpoint by endpoint, the two stacks alternated within
each round (their order swapped every round); each keeps its best round.

Endpoints: livez (reference), health and the schema (anonymous), verses/today with a wrong key and
with a valid one; the same with `-drf` and a query string, which neither the replay nor the plain
views take (the DRF views answer): each plain view's worth is its endpoint against its -drf twin.

--limits lifted (default): the template's limit_req rates raised to 1,000,000 r/s, standing for
many client addresses each under its limit (carrier-grade NAT, many probes, a botnet): what gets
through to gunicorn. --limits production: the template as shipped; from wrk's one address nginx
answers 429 itself past the burst, whatever is behind it.

Needs nginx, openssl, envsubst and wrk (installed with apt-get when missing, as http_load.py
does). Loopback only; gunicorns and nginxes run in sessions of their own and are stopped on exit.
Exit status: 0, or 2 when the benchmark could not run.
"""

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import http_load as base  # noqa: E402  (bench/http_load.py: database, gunicorn and wrk helpers)

ROOT = base.ROOT
STACKS = {"replay": "soulverse.wsgi:application", "plain": "django.core.wsgi:get_wsgi_application()"}
WRONG_KEY = "Token " + "0" * 64
TODAY = base.TODAY


def endpoints_for(token: str) -> dict[str, tuple[str, dict]]:
    valid = {"Authorization": f"Token {token}"}
    return {
        "livez": ("/livez", {}),
        "health": ("/api/v1/scheduler/health", {}),
        "health-drf": ("/api/v1/scheduler/health?via=drf", {}),
        "schema": ("/api/schema/", {}),
        "schema-drf": ("/api/schema/?via=drf", {}),
        "today-bad-key": (TODAY, {"Authorization": WRONG_KEY}),
        "today-bad-key-drf": (TODAY + "?via=drf", {"Authorization": WRONG_KEY}),
        "today": (TODAY, valid),
        "today-drf": (TODAY + "?via=drf", valid),
    }


def nginx_start(work: Path, name: str, upstream_port: int, limits: str) -> tuple[subprocess.Popen, str]:
    """The project's nginx template in front of 127.0.0.1:upstream_port; its HTTPS base URL."""
    prefix = work / f"nginx-{name}"
    for sub in ("conf.d", "tmp", "certs", "logs"):
        (prefix / sub).mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["sh", "deploy/selfsigned.sh", "localhost", str(prefix / "certs")], cwd=ROOT, check=True, capture_output=True
    )
    https_port, http_port = base.free_port(), base.free_port()
    proxy_env = {
        "SOULVERSE_UPSTREAM": f"127.0.0.1:{upstream_port}",
        "NGINX_HTTP_PORT": f"127.0.0.1:{http_port}",
        "NGINX_HTTPS_PORT": f"127.0.0.1:{https_port}",
        "PUBLIC_HTTPS_PORT_SUFFIX": f":{https_port}",
        "TLS_CERTIFICATE": str(prefix / "certs/fullchain.pem"),
        "TLS_CERTIFICATE_KEY": str(prefix / "certs/privkey.pem"),
        "METRICS_ALLOW_FROM": "127.0.0.1",
        "NGINX_ACCESS_LOG": "off",
    }
    template = (ROOT / "deploy/nginx/templates/soulverse.conf.template").read_text()
    rendered = subprocess.run(
        ["envsubst", " ".join(f"${{{variable}}}" for variable in proxy_env)],
        input=template,
        env=proxy_env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.replace("access_log off soulverse;", "access_log off;")
    if limits == "lifted":
        rendered = re.sub(r"rate=\d+r/[sm]", "rate=1000000r/s", rendered)
    (prefix / "conf.d/soulverse.conf").write_text(rendered)
    temp_paths = [
        f"    {temp}_temp_path {prefix}/tmp/{temp};" for temp in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    ]
    main = [
        "daemon off;",
        *(["user root;"] if os.getuid() == 0 else []),
        "worker_processes 1;",
        f"pid {prefix}/nginx.pid;",
        f"error_log {prefix}/logs/error.log notice;",
        "events { worker_connections 512; }",
        "http {",
        "    include /etc/nginx/mime.types;",
        "    default_type application/octet-stream;",
        *temp_paths,
        f"    include {prefix}/conf.d/*.conf;",
        "}",
    ]
    (prefix / "nginx.conf").write_text("\n".join(main) + "\n")
    options = ["-p", str(prefix), "-e", str(prefix / "logs/error.log"), "-c", str(prefix / "nginx.conf")]
    tested = subprocess.run(["nginx", "-t", "-q", *options], capture_output=True, text=True, timeout=30)
    if tested.returncode != 0:
        raise base.BenchError(f"nginx -t refused the rendered config: {tested.stderr.strip()}")
    process = subprocess.Popen(["nginx", *options], start_new_session=True, stdout=subprocess.DEVNULL)
    url = f"https://localhost:{https_port}"
    deadline = time.monotonic() + 20
    while subprocess.run(["curl", "-sk", "-o", "/dev/null", "--max-time", "2", url + "/livez"]).returncode != 0:
        if process.poll() is not None or time.monotonic() > deadline:
            raise base.BenchError(f"nginx ({name}) did not answer on {url}")
        time.sleep(0.2)
    return process, url


def gunicorn_start(env: dict, app: str, port: int, workers: int, log_file) -> subprocess.Popen:
    command = [str(Path(sys.executable).parent / "gunicorn"), app, "--bind", f"127.0.0.1:{port}"]
    command += ["--workers", str(workers), "--log-level", "warning", "--graceful-timeout", "5"]
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True
    )


def stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)  # the session we started it in: nothing else
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


def first_status(url: str, headers: dict) -> str:
    command = ["curl", "-sk", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "5", url]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    return subprocess.run(command, capture_output=True, text=True, check=False, timeout=10).stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=6, help="seconds per wrk run (default 6)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; each stack keeps its best (default 3)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (default 16)")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers per stack (default 3, production's)")
    parser.add_argument("--limits", choices=["lifted", "production"], default="lifted")
    parser.add_argument("--endpoints", default="livez,health,schema,today-bad-key,today", help="comma-separated")
    args = parser.parse_args()

    env = base.bench_env()
    env.update(
        {
            "DJANGO_ALLOWED_HOSTS": "localhost,127.0.0.1",
            "DJANGO_BEHIND_PROXY": "true",
            "FORWARDED_ALLOW_IPS": "127.0.0.1",
            "DJANGO_SETTINGS_MODULE": "soulverse.settings",  # for the plain stack's factory
        }
    )
    wrk = base.wrk_ensure()
    processes = []
    with tempfile.TemporaryDirectory(prefix="bench-hot-path-") as work_dir:
        work = Path(work_dir)
        os.chmod(work, 0o755)  # nginx's worker processes read below it
        gunicorn_log = (work / "gunicorn.log").open("w+")
        try:
            token = base.prepare(env, analyze=True)
            every = endpoints_for(token)
            unknown = set(args.endpoints.split(",")) - set(every)
            if unknown:
                raise base.BenchError(f"unknown endpoint(s): {', '.join(sorted(unknown))}")
            endpoints = {name: every[name] for name in args.endpoints.split(",")}
            urls = {}
            for name, app in STACKS.items():
                port = base.free_port()
                processes.append(gunicorn_start(env, app, port, args.workers, gunicorn_log))
                base.gunicorn_wait(processes[-1], f"http://127.0.0.1:{port}")
                nginx, urls[name] = nginx_start(work, name, port, args.limits)
                processes.append(nginx)
            for name, url in urls.items():
                statuses = {
                    endpoint: first_status(url + path, headers) for endpoint, (path, headers) in endpoints.items()
                }
                base.log(f"{name} ({STACKS[name]}) behind nginx at {url}: first answers {statuses}")
            run = {"duration": args.duration, "connections": args.connections, "threads": 1}
            for path, headers in endpoints.values():  # warm-up: memos, kept answers, connections
                for url in urls.values():
                    base.wrk_run(wrk, url + path, **{**run, "duration": 1}, headers=headers)
            base.log(
                f"load average {os.getloadavg()[0]:.2f}; wrk -c{args.connections} -d{args.duration}s over HTTPS, "
                f"limit_req {args.limits}, {args.workers} gunicorn workers per stack"
            )
            results = {(endpoint, name): [] for endpoint in endpoints for name in STACKS}
            for round_ in range(args.rounds):
                order = list(STACKS) if round_ % 2 == 0 else list(reversed(STACKS))
                for endpoint, (path, headers) in endpoints.items():
                    for name in order:
                        result = base.wrk_run(wrk, urls[name] + path, **run, headers=headers)
                        results[(endpoint, name)].append(result)
                        base.log(
                            f"round {round_ + 1} {endpoint:<18} {name:<6} {result['rps']:8.1f} req/s, "
                            f"p99 {result.get('p99_ms', 0):.2f} ms, non-2xx {result['non_2xx']}, "
                            f"errors {result['errors']}"
                        )
        except (base.BenchError, subprocess.CalledProcessError) as exc:
            base.log(f"error: {exc}")
            gunicorn_log.seek(0)
            tail = gunicorn_log.read()[-2000:]
            if tail:
                base.log(f"gunicorn log (end):\n{tail}")
            return 2
        finally:
            for process in reversed(processes):
                stop(process)
            gunicorn_log.close()
    print(f"\n{'endpoint':<19}{'replay best':>12}{'plain best':>12}{'replay/plain':>14}   rounds: replay | plain")
    for endpoint in endpoints:
        replay, plain = results[(endpoint, "replay")], results[(endpoint, "plain")]
        best_replay, best_plain = max(r["rps"] for r in replay), max(r["rps"] for r in plain)
        rounds = " | ".join(", ".join(f"{r['rps']:.0f}" for r in side) for side in (replay, plain))
        print(f"{endpoint:<19}{best_replay:>12.0f}{best_plain:>12.0f}{best_replay / best_plain:>14.2f}   {rounds}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
