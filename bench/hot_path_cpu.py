"""CPU time per request of the project's WSGI application, called in this process: no server, no
socket, no proxy. What the code of each hot-path layer costs, nearly independent of what other
processes do to the machine (unlike requests/s on shared cores).

Usage, from the project root (after bench/http_load.py has prepared its database once):

    .venv/bin/python bench/hot_path_cpu.py [--requests 2000] [--plain]

Same environment as bench/http_load.py (its bench_env(): DATABASE_URL, REDIS_URL as given). A new
API token of one active user (knox) for verses/today. Per endpoint: one request (its status is
printed), 200 unmeasured, then --requests measured, one after the other; prints microseconds of
CPU (time.process_time: this process only, PostgreSQL's and Redis's own work excluded) and of
wall time per request. --plain: Django's application alone (django.core.wsgi), without
soulverse/replay.py. Endpoints ending in -drf add a query string: neither the replay nor the
plain views take them; the DRF views answer.
"""

import argparse
import io
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import http_load as base  # noqa: E402  (bench/http_load.py: the environment)

sys.path.insert(0, str(base.ROOT))
WRONG_KEY = "Token " + "0" * 64


def environ(path: str, query: str, headers: dict) -> dict:
    """A request as gunicorn hands it over, straight from a client (no proxy)."""
    return {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SCRIPT_NAME": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.version": (1, 0),
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        **headers,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="measured requests per endpoint (default 2000)")
    parser.add_argument("--plain", action="store_true", help="Django's application alone, without the replay")
    args = parser.parse_args()
    os.environ.update(base.bench_env())
    os.environ["DJANGO_SETTINGS_MODULE"] = "soulverse.settings"
    if args.plain:
        from django.core.wsgi import get_wsgi_application

        application = get_wsgi_application()
    else:
        from soulverse.wsgi import application
    from users.models import User, active_user_q
    from users.services import api_token_create

    user = User.objects.filter(active_user_q(), is_staff=False).order_by("email").first()
    if user is None:
        print("no active user: run bench/http_load.py once first (it seeds the database)", file=sys.stderr)
        return 2
    _, key = api_token_create(user=user)
    today, valid = base.TODAY, {"HTTP_AUTHORIZATION": f"Token {key}"}
    endpoints = {
        "livez": ("/livez", "", {}),
        "health": ("/api/v1/scheduler/health", "", {}),
        "schema": ("/api/schema/", "", {}),
        "today-bad-key": (today, "", {"HTTP_AUTHORIZATION": WRONG_KEY}),
        "today": (today, "", valid),
        "health-drf": ("/api/v1/scheduler/health", "via=drf", {}),
        "schema-drf": ("/api/schema/", "via=drf", {}),
        "today-bad-key-drf": (today, "via=drf", {"HTTP_AUTHORIZATION": WRONG_KEY}),
        "today-drf": (today, "via=drf", valid),
    }

    def call(path: str, query: str, headers: dict) -> str:
        started = []
        result = application(environ(path, query, headers), lambda status, *_: started.append(status))
        try:
            b"".join(result)
        finally:
            if hasattr(result, "close"):
                result.close()
        return started[0]

    print(f"{'endpoint':<19}{'status':>7}{'µs CPU':>9}{'µs wall':>9}   ({'plain Django' if args.plain else 'replay'})")
    for name, (path, query, headers) in endpoints.items():
        status = call(path, query, headers)
        for _ in range(200):
            call(path, query, headers)
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(args.requests):
            call(path, query, headers)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        print(
            f"{name:<19}{status[:3]:>7}{cpu / args.requests * 1e6:>9.0f}{wall / args.requests * 1e6:>9.0f}", flush=True
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
