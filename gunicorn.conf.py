"""gunicorn settings (`gunicorn -c gunicorn.conf.py soulverse.wsgi:application`), from the environment.

WEB_TIMEOUT_SECONDS is also read by the Django settings: no request path may wait longer (the
trigger's `wait` is capped at two thirds of it, verses/today never waits on the AI). The hooks do
the Prometheus multiprocess bookkeeping (soulverse/metrics.py)."""

import os
from pathlib import Path

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
# Sync workers: one request at a time each, and a worker stays with its client until the client has
# read the answer and closed (gunicorn drains the socket, up to 2 s, before the next request). On
# the 2-core bench machine 2 workers serving /livez flat out were busy about 1 core of the 2: the
# rest was waiting on clients. So more workers than cores (gunicorn's advice: 2 x cores + 1), and a
# buffering proxy in front (nginx): it waits for slow clients instead of a worker, and refuses
# abusive ones (`limit_req`) for microseconds of C where the app's cheapest refusal (a throttled or
# anonymous request answered before DRF) still costs a few tenths of a millisecond of Python
# (docs/benchmarks.md, "Requests under attack").
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
timeout = int(os.environ.get("WEB_TIMEOUT_SECONDS", "30"))
graceful_timeout = 30
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
# Small requests only (the API takes small JSON bodies; Django caps the body at 64 KB).
limit_request_line = 4094
limit_request_fields = 50
limit_request_field_size = 8190
# gunicorn trusts X-Forwarded-Proto from forwarded_allow_ips to mark a request HTTPS: only when a
# proxy sets it (DJANGO_BEHIND_PROXY). Django reads the same FORWARDED_ALLOW_IPS and drops
# X-Forwarded-For/-Proto from any other peer (soulverse.middleware.ForwardedHeadersMiddleware).
if os.environ.get("DJANGO_BEHIND_PROXY", "").lower() in ("1", "true", "yes", "on"):
    forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
else:
    secure_scheme_headers = {}
    forwarded_allow_ips = ""

# settings.py has the same default; set here so that the master knows the directory too.
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(Path(__file__).resolve().parent / "var" / "prometheus"))


def on_starting(server):
    """Web starts: the files of processes that are gone are removed (see soulverse.metrics)."""
    from soulverse.metrics import metrics_dir_clean

    metrics_dir_clean(path=os.environ["PROMETHEUS_MULTIPROC_DIR"])


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid, os.environ["PROMETHEUS_MULTIPROC_DIR"])


# LOG_FORMAT=json: gunicorn's own lines (start, worker deaths, access) as JSON objects too, the
# access lines with the request id the response carries (soulverse/logs.py).
if os.environ.get("LOG_FORMAT", "line") == "json":
    from soulverse.logs import JSON_FORMATTER

    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"access": {"()": "soulverse.logs.AccessLogFilter"}},
        "formatters": {"json": dict(JSON_FORMATTER)},
        "handlers": {
            "error": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"},
            "access": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stdout",
                "filters": ["access"],
            },
        },
        "root": {"handlers": ["error"], "level": "INFO"},
        "loggers": {
            "gunicorn.error": {"handlers": ["error"], "level": "INFO", "propagate": False},
            "gunicorn.access": {"handlers": ["access"] if accesslog else [], "level": "INFO", "propagate": False},
        },
    }
