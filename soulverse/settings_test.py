"""Settings for the test suite: the real settings with test-only defaults.

Real environment values (DATABASE_URL, REDIS_URL, ...) still win.
"""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-secret-key-not-for-production-use-0123456789")
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "false")
# pytest-xdist runs the suite in several worker processes at once (PYTEST_XDIST_WORKER=gw0, gw1,
# ...). Each worker has its own test database (pytest-django adds the suffix); what lives outside it
# is keyed per worker below: cache keys, the cluster's name (its Redis queue and heartbeat), the
# metrics directory. A qcluster or gunicorn a test starts inherits the worker's environment, hence
# `_per_worker` leaves a value already keyed for this worker as it is.
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")


def _per_worker(value: str, separator: str = "-") -> str:
    if not _WORKER or value.endswith(separator + _WORKER):
        return value
    return value + separator + _WORKER


# Tests clear their cache keys: keep them apart from a development server's on a shared Redis.
os.environ["CACHE_KEY_PREFIX"] = _per_worker(os.environ.get("CACHE_KEY_PREFIX", "soulverse-test"))
os.environ["Q_CLUSTER_NAME"] = _per_worker(os.environ.get("Q_CLUSTER_NAME", "soulverse-test"))
# Tests never reach the internet: the AI is off unless a test points it at the local stub, in
# the test process (through `settings`) or in a qcluster it starts (TEST_GEMINI_BASE_URL).
_stub_url = os.environ.get("TEST_GEMINI_BASE_URL", "")
if not _stub_url.startswith("http://127.0.0.1:"):
    _stub_url = ""
os.environ["GEMINI_API_KEY"] = "test-key" if _stub_url else ""
os.environ["GEMINI_BASE_URL"] = _stub_url

# Push likewise: off unless a test points it at the local FCM stub (TEST_FCM_* for a qcluster);
# never application-default credentials (they would probe the network).
_fcm_url = os.environ.get("TEST_FCM_BASE_URL", "")
if not _fcm_url.startswith("http://127.0.0.1:"):
    _fcm_url = ""
os.environ["FCM_BASE_URL"] = _fcm_url
os.environ["FCM_CREDENTIALS_FILE"] = os.environ.get("TEST_FCM_CREDENTIALS_FILE", "") if _fcm_url else ""
for _name in (
    "GOOGLE_APPLICATION_CREDENTIALS",
    "GOOGLE_CLOUD_PROJECT",
    "FCM_DRY_RUN",
    "GEMINI_API_KEY_FILE",
    "SENTRY_DSN_FILE",
):
    os.environ.pop(_name, None)

# Sentry and the heartbeats likewise: only the local stand-ins a test starts (TEST_SENTRY_DSN,
# TEST_JOB_HEARTBEAT_URLS for the processes it starts), never the developer's real ones.
_sentry_dsn = os.environ.get("TEST_SENTRY_DSN", "")
os.environ["SENTRY_DSN"] = _sentry_dsn if "@127.0.0.1:" in _sentry_dsn else ""
_heartbeats = os.environ.get("TEST_JOB_HEARTBEAT_URLS", "")
_heartbeat_urls = [pair.partition("=")[2] for pair in _heartbeats.split(",") if pair]
os.environ["JOB_HEARTBEAT_URLS"] = (
    _heartbeats if all(url.startswith("http://127.0.0.1:") for url in _heartbeat_urls) else ""
)

# Metrics of this test run (of this worker) in a directory of its own, shared with the qcluster
# processes it starts.
if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
    import tempfile

    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="soulverse-test-metrics-")
os.environ["PROMETHEUS_MULTIPROC_DIR"] = _per_worker(os.environ["PROMETHEUS_MULTIPROC_DIR"], os.sep)

from soulverse.settings import *  # noqa: E402,F403

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A file (not in-memory) test database, so that a qcluster subprocess can share it; one
    # per test run, so that two runs never share one (and one per xdist worker: pytest-django
    # appends `_gw0`, `_gw1`, ... to this name in each).
    (BASE_DIR / "var").mkdir(exist_ok=True)  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / "var" / f"test_db_{os.getpid()}.sqlite3")}  # noqa: F405
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast, tests only
# Tests schedule a harmless builtin to watch a cluster fire (scheduler/guards.py refuses others).
SCHEDULER_EXTRA_SCHEDULE_FUNCS = ["math.floor"]
# Rates high enough for the suite (schemathesis sends hundreds of requests); the throttle tests
# lower them.
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = {  # noqa: F405
    "anon": "100000/minute",
    "user": "100000/minute",
    "login": "100000/minute",
}
HEALTH_PUBLIC_CACHE_SECONDS = 0  # each request computes it (a test sets it to see the memo)
