"""SoulVerse scheduler settings, read from the environment (django-environ).

Every variable is documented in the README. Without any of them the project runs on the
embedded default: a SQLite file, the database cache (shared between the web process and
the qcluster workers) and the django-q2 ORM broker.
"""

import datetime
import ipaddress
import logging
import os
import urllib.parse
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from soulverse.envfiles import env_secret
from soulverse.logs import JSON_FORMATTER
from soulverse.secret_rules import secret_problem

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")  # optional; real environment variables win

DEBUG = env.bool("DJANGO_DEBUG", default=False)

# Secrets: X, or X_FILE naming a file that holds it (compose secrets under /run/secrets).
SECRET_KEY = env_secret("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is required when DJANGO_DEBUG is off (set DJANGO_DEBUG=true for local development)."
        )
    SECRET_KEY = "django-insecure-local-development-only"

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",  # hashed API tokens with expiry, one per device
    "axes",  # login lockout (admin and the token login)
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI assets served locally, no CDN
    "soulverse",
    "scheduler",  # before django_q: its `qcluster` command waits for the database first, then runs the watchdog
    "django_q",
    "users",
    "verses",
    "webhooks",
    "console",  # the top floor: may import every app listed before it
]

MIDDLEWARE = [
    "soulverse.middleware.RequestIdMiddleware",  # first: every log line of the request carries its id
    "soulverse.middleware.ForwardedHeadersMiddleware",  # forwarded headers from trusted proxies only
    "soulverse.middleware.RequestBodyGuardMiddleware",  # 411 for a body without Content-Length
    "django.middleware.security.SecurityMiddleware",
    "soulverse.middleware.HtmlContentSecurityPolicyMiddleware",  # CSP on HTML pages (django-csp)
    "whitenoise.middleware.WhiteNoiseMiddleware",  # the admin's static files under gunicorn
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "soulverse.throttles.AdminLoginThrottleMiddleware",  # admin sign-ins per client address: 429
    "axes.middleware.AxesMiddleware",  # last: turns a locked-out login into a 429
]

# django-axes first: it refuses a locked-out login before the password is even hashed.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    # Not a rule: a password change, by any path, ends the account's API tokens.
    {"NAME": "users.password_validation.ApiTokensEndWithPassword"},
]

ROOT_URLCONF = "soulverse.urls"
WSGI_APPLICATION = "soulverse.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Hot read paths run as server-side prepared statements on PostgreSQL (soulverse.db); turn off
# behind a pooler that cannot keep them (PgBouncer in transaction mode).
DATABASE_PREPARED_STATEMENTS = env.bool("DATABASE_PREPARED_STATEMENTS", default=True)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # web + qcluster share one file: WAL, a busy timeout and IMMEDIATE transactions
    # avoid most "database is locked" errors (Django 5.1+ options).
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "users.User"

# --- Cache ----------------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
CACHE_KEY_PREFIX = env.str("CACHE_KEY_PREFIX", default="soulverse")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": CACHE_KEY_PREFIX,
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                "SOCKET_CONNECT_TIMEOUT": 2,
                "SOCKET_TIMEOUT": 2,
            },
        }
    }
    # Redis down must never break a request or a job: django-redis swallows and logs.
    DJANGO_REDIS_IGNORE_EXCEPTIONS = True
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
else:
    CACHES = {
        "default": {
            # Shared between processes (unlike LocMemCache): the web process must see the
            # cluster heartbeat and the worker's cache writes. Table created by a migration.
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "soulverse_cache",
            "KEY_PREFIX": CACHE_KEY_PREFIX,
            "OPTIONS": {"MAX_ENTRIES": 100_000},
        }
    }

# --- Internationalisation -------------------------------------------------------------------
LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", "Français"), ("en", "English")]
SCHEDULER_TIMEZONE = env.str("SCHEDULER_TIMEZONE", default="Africa/Lome")
TIME_ZONE = SCHEDULER_TIMEZONE
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

# --- REST framework -------------------------------------------------------------------------
# Behind a reverse proxy that sets X-Forwarded-Proto and X-Forwarded-For (and strips them from
# clients), say so: only then are those headers trusted (HTTPS detection, client IP of throttles
# and lockouts). Exposed directly, a client could forge them.
BEHIND_PROXY = env.bool("DJANGO_BEHIND_PROXY", default=False)
# Which peers are that proxy: the list gunicorn reads too (gunicorn.conf.py), addresses or networks.
# A forwarded header from any other peer is dropped (soulverse.middleware.ForwardedHeadersMiddleware).
FORWARDED_ALLOW_IPS = env.list("FORWARDED_ALLOW_IPS", default=["127.0.0.1", "::1"]) if BEHIND_PROXY else []
for _entry in FORWARDED_ALLOW_IPS:
    try:
        _entry == "*" or ipaddress.ip_network(_entry, strict=False)
    except ValueError:
        raise ImproperlyConfigured(f"FORWARDED_ALLOW_IPS: {_entry!r} is not an IP address or network.") from None

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "soulverse.authentication.TokenAuthentication",  # knox, undecodable keys a 401
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Each view says who may use it (scheduler/permissions.py for the scheduler); a view that
    # forgets still needs an authenticated user.
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # On the default cache (Redis with REDIS_URL); rates read at each request (soulverse/throttles.py).
    "DEFAULT_THROTTLE_CLASSES": [
        "soulverse.throttles.AnonThrottle",
        "soulverse.throttles.UserThrottle",
        "soulverse.throttles.ScopedThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("THROTTLE_RATE_ANON", default="60/minute"),
        "user": env.str("THROTTLE_RATE_USER", default="600/minute"),
        "login": env.str("THROTTLE_RATE_LOGIN", default="10/minute"),
        # Admin sign-in attempts per client address (soulverse.throttles.AdminLoginThrottleMiddleware).
        "admin_login": env.str("THROTTLE_RATE_ADMIN_LOGIN", default="20/hour"),
    },
    # Throttles identify anonymous callers by soulverse.middleware.client_ip (trusted proxies only),
    # not by DRF's NUM_PROXIES (which believes X-Forwarded-For from any peer).
    "NUM_PROXIES": 0,
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]
    + (["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "soulverse.api.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "soulverse.api.StrictPageNumberPagination",
    "PAGE_SIZE": 20,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "SoulVerse Scheduler API",
    "DESCRIPTION": "Daily verses for SoulVerse users and the admin endpoints of the scheduler.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and Swagger UI: staff with the scheduler's view permission only (soulverse/urls.py).
    "SERVE_PERMISSIONS": ["scheduler.permissions.CanViewScheduler"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "soulverse.api.schema_authentication_errors",
    ],
    # Choice lists shared by several "status" fields get a name of their own.
    "ENUM_NAME_OVERRIDES": {
        "DeviceKindEnum": "users.models.Device.Kind",
        "DevicePlatformEnum": "users.models.Device.Platform",
        "RunStatusEnum": "scheduler.models.JobRun.Status",
        "RunTriggerEnum": "scheduler.models.JobRun.Trigger",
        "HealthStatusEnum": "console.serializers.HEALTH_STATUSES",
        "DatabaseCheckStatusEnum": "console.serializers.DATABASE_STATUSES",
        "PushStatusEnum": "console.serializers.PUSH_STATUSES",
        "SchedulerCheckStatusEnum": "console.serializers.SCHEDULER_CHECK_STATUSES",
        "DailyVersesCheckStatusEnum": "console.serializers.DAILY_VERSES_STATUSES",
        "CacheCheckStatusEnum": "console.serializers.CACHE_STATUSES",
        "ClusterCheckStatusEnum": "console.serializers.CLUSTER_STATUSES",
        "AiCheckStatusEnum": "console.serializers.AI_STATUSES",
        "AiStateStatusEnum": "console.serializers.AI_PROBE_STATUSES",
        "EditionStatusEnum": "console.serializers.EDITION_STATUSES",
        "SourceEnum": "scheduler.models.ScheduleChange.Source",
        "VerseSourceEnum": "verses.models.VerseOfTheDay.Source",
        "VerseReviewActionEnum": "verses.models.VerseReview.Action",
        "FeastStateEnum": "console.editorial_serializers.FEAST_STATES",
        "EditorialCheckStatusEnum": "console.serializers.EDITORIAL_CHECK_STATUSES",
        "WebhookEventEnum": "webhooks.events.EVENTS",
        "WebhookDeliveryStatusEnum": "webhooks.models.WebhookDelivery.Status",
        "LanguageEnum": "users.models.Language",
        "MoodEnum": "users.models.Mood",
    },
}
DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024  # the API takes small JSON bodies only
# Redis unreachable: the throttles count per process, and try Redis again after this many seconds
# (soulverse/throttles.py).
THROTTLE_STORE_RETRY_SECONDS = env.float("THROTTLE_STORE_RETRY_SECONDS", default=5.0)
# A wrong API token is remembered this long per process: the same wrong token again is refused
# without a query (verses/views.py).
API_TOKEN_INVALID_MEMO_SECONDS = env.float("API_TOKEN_INVALID_MEMO_SECONDS", default=10.0)
# verses/today's answer kept on Redis per token (verses/today_cache.py), at most this long: the
# guard for changes no signal announces (a token or a user ended by a raw UPDATE or DELETE).
# 0: nothing kept (one PostgreSQL query and the throttle's round trip per request, as before).
VERSES_TODAY_CACHE_SECONDS = env.float("VERSES_TODAY_CACHE_SECONDS", default=1.0)

# --- Tokens (django-rest-knox) and login lockout (django-axes) -------------------------------
API_TOKEN_TTL_DAYS = env.int("API_TOKEN_TTL_DAYS", default=90)
REST_KNOX = {
    "TOKEN_TTL": datetime.timedelta(days=API_TOKEN_TTL_DAYS),  # keys are stored as SHA-512 digests
    "AUTO_REFRESH": False,  # no write on the request path
    "TOKEN_LIMIT_PER_USER": env.int("API_TOKEN_LIMIT_PER_USER", default=10),  # devices per user
}
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = datetime.timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_USERNAME_FORM_FIELD = "username"
AXES_CLIENT_IP_CALLABLE = "soulverse.middleware.client_ip"
AXES_VERBOSE = False  # its own log lines carry the username (an email)
AXES_LOCKOUT_CALLABLE = "soulverse.middleware.lockout_response"

# --- django-q2 ------------------------------------------------------------------------------
Q_BROKER = env.str("Q_BROKER", default="orm")
if Q_BROKER not in ("orm", "redis"):
    raise ImproperlyConfigured("Q_BROKER must be 'orm' or 'redis'.")
if Q_BROKER == "redis" and not REDIS_URL:
    raise ImproperlyConfigured("Q_BROKER=redis needs REDIS_URL.")

Q_CLUSTER = {
    "name": env.str("Q_CLUSTER_NAME", default="soulverse"),
    "workers": env.int("Q_WORKERS", default=2),
    # A task is killed after `timeout` s; the ORM broker hands an unacknowledged task to
    # another worker after `retry` s. Keep timeout < retry so that a task never runs twice.
    # A killed worker's task runs again after `retry` s: the daily run's chunks take a second or
    # two, the AI phase at most a few minutes (timeouts x retries), so 5 minutes is ample.
    "timeout": env.int("Q_TIMEOUT", default=300),
    "retry": env.int("Q_RETRY", default=360),
    "max_attempts": 3,
    "catch_up": False,  # after downtime a schedule fires once, never once per missed slot
    "save_limit": 1000,
    "time_zone": SCHEDULER_TIMEZONE,
    "cache": "default",
    "label": "Django Q2",
}
# How long `manage.py qcluster` waits for an unreachable database at start before giving up
# (django-q2's own command exits at once).
Q_STARTUP_DATABASE_WAIT_SECONDS = env.float("Q_STARTUP_DATABASE_WAIT_SECONDS", default=600.0)
if Q_BROKER == "orm":
    Q_CLUSTER["orm"] = "default"
else:
    Q_CLUSTER["django_redis"] = "default"

# --- SoulVerse ------------------------------------------------------------------------------
# AI calls per batch in the daily generation, and the pause between batches (the original
# service: 50 per batch, 1 s).
VERSES_BATCH_SIZE = env.int("VERSES_BATCH_SIZE", default=50)
VERSES_BATCH_PAUSE_SECONDS = env.float("VERSES_BATCH_PAUSE_SECONDS", default=1.0)
# How many of a batch's AI calls are in flight at once.
VERSES_AI_CONCURRENCY = env.int("VERSES_AI_CONCURRENCY", default=8)
VERSES_CACHE_SECONDS = env.int("VERSES_CACHE_SECONDS", default=2 * 60 * 60)
# Users given their verse per INSERT … SELECT statement.
VERSES_ASSIGN_CHUNK_SIZE = env.int("VERSES_ASSIGN_CHUNK_SIZE", default=5000)
# Days of per-user verse history kept (at least: whole months are dropped once all their days
# are older).
VERSES_HISTORY_DAYS = env.int("VERSES_HISTORY_DAYS", default=400)
# The editorial day (verses/editorial): tomorrow's verses are made at this local time (HH:MM, in
# SCHEDULER_TIMEZONE) for the operators' review; with VERSES_REQUIRE_APPROVAL a pair's push waits
# for its approval.
VERSES_REVIEW_PREPARE_AT = env.str("VERSES_REVIEW_PREPARE_AT", default="18:00")
try:
    _review_at = datetime.time.fromisoformat(VERSES_REVIEW_PREPARE_AT)
except ValueError:
    raise ImproperlyConfigured(
        f"VERSES_REVIEW_PREPARE_AT must be a time HH:MM, not {VERSES_REVIEW_PREPARE_AT!r}."
    ) from None
VERSES_REVIEW_PREPARE_CRON = f"{_review_at.minute} {_review_at.hour} * * *"
VERSES_REQUIRE_APPROVAL = env.bool("VERSES_REQUIRE_APPROVAL", default=False)
# Gemini (google-genai). AI_ENABLED=false: curated verses only, on purpose. On but without an API
# key it is off too, and `check --deploy` refuses it in production (verses/checks.py).
AI_ENABLED = env.bool("AI_ENABLED", default=True)
GEMINI_API_KEY = env_secret("GEMINI_API_KEY")
# The one place the default model is named (compose, docs, tests and benchmarks read this).
# A GA Flash model with no announced shutdown (ai.google.dev/gemini-api/docs/deprecations, 2026-11-28).
GEMINI_MODEL = env.str("GEMINI_MODEL", default="") or "gemini-3.8-flash"  # set but empty: the default too
GEMINI_BASE_URL = env.str("GEMINI_BASE_URL", default="")  # e.g. a local stub server
GEMINI_TIMEOUT_SECONDS = env.float("GEMINI_TIMEOUT_SECONDS", default=20.0)
GEMINI_RETRIES = env.int("GEMINI_RETRIES", default=2)  # extra attempts on 429/5xx/timeouts/connection errors
# Gemini 3: Google advises keeping temperature at 1.0 and choosing effort with the thinking level
# (LOW: simple instruction following, fewer thinking tokens counted against the output).
GEMINI_TEMPERATURE = env.float("GEMINI_TEMPERATURE", default=1.0)
GEMINI_THINKING_LEVEL = env.str("GEMINI_THINKING_LEVEL", default="low")
# Gemini 2.5 models take a token budget instead of a level (set GEMINI_THINKING_LEVEL empty).
GEMINI_THINKING_BUDGET = env.int("GEMINI_THINKING_BUDGET", default=None)
# How long a run may wait, in all, for the retry delays Gemini's 429 answers ask for.
VERSES_AI_BUDGET_SECONDS = env.float("VERSES_AI_BUDGET_SECONDS", default=120.0)
# Where `import_bible --download` fetches Louis Segond 1910 (eBible.org's USFM zip).
BIBLE_LSG_DOWNLOAD_URL = env.str("BIBLE_LSG_DOWNLOAD_URL", default="https://ebible.org/Scriptures/fraLSG_usfm.zip")
# The SHA-256 that archive must have (verses.bible.importer.LSG_DOWNLOAD_SHA256); another archive
# needs its own digest (`import_bible --download --sha256`, or this setting with the URL).
BIBLE_LSG_DOWNLOAD_SHA256 = env.str(
    "BIBLE_LSG_DOWNLOAD_SHA256", default="3a0615e992ffd412b1afcaed50d146bba5ec8ae2378f04ca71459a4cd2d7cc33"
)
# Push (FCM HTTP v1 through firebase-admin). PUSH_ENABLED=false: no push, on purpose. On but
# without credentials push is disabled too, and `check --deploy` refuses it in production.
PUSH_ENABLED = env.bool("PUSH_ENABLED", default=True)
FCM_CREDENTIALS_FILE = env.str("FCM_CREDENTIALS_FILE", default="")  # a service-account JSON
FCM_PROJECT_ID = env.str("FCM_PROJECT_ID", default="")  # default: the credentials' project
FCM_BASE_URL = env.str("FCM_BASE_URL", default="")  # tests: a local stub (loopback only)
if FCM_BASE_URL:
    _fcm_host = urllib.parse.urlsplit(FCM_BASE_URL).hostname or ""
    try:
        _fcm_loopback = ipaddress.ip_address(_fcm_host).is_loopback
    except ValueError:
        _fcm_loopback = _fcm_host == "localhost"
    if not _fcm_loopback or urllib.parse.urlsplit(FCM_BASE_URL).scheme not in ("http", "https"):
        raise ImproperlyConfigured("FCM_BASE_URL accepts loopback URLs only (a local stub), e.g. http://127.0.0.1:9099")
# A PEM file of the certificate authorities FCM's (and its OAuth token endpoint's) certificates are
# checked against, in every send mode: a test authority for a local stand-in over HTTPS, or a
# TLS-inspecting proxy's. Empty: each HTTP library's default (certifi's bundle, or the environment's
# REQUESTS_CA_BUNDLE / SSL_CERT_FILE).
FCM_CA_BUNDLE = env.str("FCM_CA_BUNDLE", default="")
if FCM_CA_BUNDLE and not os.path.isfile(FCM_CA_BUNDLE):
    raise ImproperlyConfigured(f"FCM_CA_BUNDLE names no file: {FCM_CA_BUNDLE}")
FCM_DRY_RUN = env.bool("FCM_DRY_RUN", default=False)  # send with validate_only
FCM_TIMEOUT_SECONDS = env.float("FCM_TIMEOUT_SECONDS", default=10.0)
# "curl" (the default): firebase-admin's messages, credential, retry policy and errors through
# libcurl (pycurl's multi interface: TLS, HTTP/2 and its streams in C), FCM_CONCURRENCY requests in
# flight per process as streams of HTTP/2 connections (a connection per 100 streams: libcurl's
# limit, fewer if the server says so); "pool": the same over a kept urllib3 pool and
# FCM_CONCURRENCY threads per process (HTTP/1.1); "h2": the same with firebase-admin's httpx retry
# policy over one HTTP/2 connection (the h2 library on asyncio); "threads": messaging.send_each
# (requests, a thread per message of the batch); "async": send_each_async (httpx).
# bench/push_send.py and bench/push.py measure them (docs/benchmarks.md).
FCM_SEND_MODE = env.str("FCM_SEND_MODE", default="curl")
if FCM_SEND_MODE not in ("pool", "threads", "async", "h2", "curl"):
    raise ImproperlyConfigured("FCM_SEND_MODE must be 'pool', 'threads', 'async', 'h2' or 'curl'.")
# curl, pool, h2: requests in flight per process. A worker sends at most FCM_CONCURRENCY / FCM's
# latency messages a second (100 at 50 ms: 2,000/s): curl's default is 500, a stream costing a few
# KB of C (bench/push.py: 2 workers sent 2,650 messages/s with 100, 5,900 with 500; docs/benchmarks.md);
# pool's requests are threads, and h2 keeps one connection, whose streams the server limits.
FCM_CONCURRENCY = env.int("FCM_CONCURRENCY", default=500 if FCM_SEND_MODE == "curl" else 100)
if FCM_CONCURRENCY < 1:
    raise ImproperlyConfigured("FCM_CONCURRENCY must be at least 1.")
FCM_RETRIES = env.int("FCM_RETRIES", default=3)  # rounds of retries of 429/500/503 within a tick
FCM_BACKOFF_SECONDS = env.float("FCM_BACKOFF_SECONDS", default=1.0)
FCM_BACKOFF_MAX_SECONDS = env.float("FCM_BACKOFF_MAX_SECONDS", default=30.0)
FCM_RETRY_BUDGET_SECONDS = env.float("FCM_RETRY_BUDGET_SECONDS", default=30.0)  # waiting per chunk
PUSH_RATE_PER_MINUTE = env.int("PUSH_RATE_PER_MINUTE", default=600_000)  # FCM's default project quota
PUSH_CHUNK_SIZE = env.int("PUSH_CHUNK_SIZE", default=500)  # users per chunk task (one FCM batch)
# A chunk records its verdicts in one statement (on SQLite, 5 parameters per push: it takes at
# most 32,766); a larger chunk leaves more pushes in flight when its worker is killed.
PUSH_CHUNK_SIZE_MAX = 5000
if not 1 <= PUSH_CHUNK_SIZE <= PUSH_CHUNK_SIZE_MAX:
    raise ImproperlyConfigured(f"PUSH_CHUNK_SIZE must be between 1 and {PUSH_CHUNK_SIZE_MAX}.")
# Devices push reaches per user (phones, tablets, browsers); registering one more drops the least
# recently seen.
DEVICES_PER_USER = env.int("DEVICES_PER_USER", default=10)
if DEVICES_PER_USER < 1:
    raise ImproperlyConfigured("DEVICES_PER_USER must be 1 or more.")
# Each tick also prepares the users due within the next PUSH_PREPARE_AHEAD_MINUTES (the next tick
# of the */15 schedule): their verse of the day and a pending delivery, so that at their slot only
# the claim, the send and the record remain. 0: each slot does it all (verses/push/delivery.py).
PUSH_PREPARE_AHEAD_MINUTES = env.int("PUSH_PREPARE_AHEAD_MINUTES", default=15)
if not 0 <= PUSH_PREPARE_AHEAD_MINUTES <= 60:
    raise ImproperlyConfigured("PUSH_PREPARE_AHEAD_MINUTES must be between 0 and 60.")
PUSH_MAX_TICKS = env.int("PUSH_MAX_TICKS", default=4)  # ticks that try a user's push before giving up for the day
# How long a chunk's claim on the pushes it sends holds against other ticks: past the task timeout
# its worker is gone (a re-run of the same chunk takes its claims over at once).
PUSH_CLAIM_SECONDS = env.int("PUSH_CLAIM_SECONDS", default=Q_CLUSTER["timeout"] + 60)
# PostgreSQL: in `manage.py qcluster`, no statement outlives a task's timeout. A worker killed at
# Q_TIMEOUT leaves its statement running in PostgreSQL (the server notices only when it answers),
# holding the locks its task's re-run then waits for. 0 turns it off (soulverse.db).
DATABASE_STATEMENT_TIMEOUT_SECONDS = env.int("DATABASE_STATEMENT_TIMEOUT_SECONDS", default=Q_CLUSTER["timeout"])
# How long run history and django-q results are kept by cache_cleanup.
SCHEDULER_RETENTION_DAYS = env.int("SCHEDULER_RETENTION_DAYS", default=30)
# How often each qcluster's watchdog hands out again the work of running runs that no live
# worker holds (scheduler/watchdog.py).
SCHEDULER_WATCHDOG_SECONDS = env.float("SCHEDULER_WATCHDOG_SECONDS", default=15.0)
# gunicorn kills a worker whose request takes longer (gunicorn.conf.py reads the same variable);
# nothing on the request path may wait that long.
WEB_TIMEOUT_SECONDS = env.int("WEB_TIMEOUT_SECONDS", default=30)
# How long POST trigger-daily-verses waits for the run before answering 202: a request's `wait` is
# capped at two thirds of the web timeout, so that it answers 202 rather than be killed.
SCHEDULER_TRIGGER_WAIT_MAX_SECONDS = WEB_TIMEOUT_SECONDS * 2 / 3
SCHEDULER_TRIGGER_WAIT_SECONDS = min(
    env.float("SCHEDULER_TRIGGER_WAIT_SECONDS", default=20.0), SCHEDULER_TRIGGER_WAIT_MAX_SECONDS
)
# The public health answer is computed at most this often per web process.
HEALTH_PUBLIC_CACHE_SECONDS = env.float("HEALTH_PUBLIC_CACHE_SECONDS", default=2.0)
# Functions other than the registry's job runner that a django-q2 Schedule may call (default:
# none; scheduler/guards.py refuses any other, e.g. `os.system` typed into the admin).
SCHEDULER_EXTRA_SCHEDULE_FUNCS = env.list("SCHEDULER_EXTRA_SCHEDULE_FUNCS", default=[])
# health fails when the last successful daily run is older than this.
SCHEDULER_DAILY_MAX_AGE_HOURS = env.int("SCHEDULER_DAILY_MAX_AGE_HOURS", default=26)

# --- Metrics (Prometheus) -------------------------------------------------------------------
# /metrics answers 404 until a token is set; Prometheus sends it as a bearer token.
METRICS_TOKEN = env_secret("METRICS_TOKEN")
if METRICS_TOKEN and not DEBUG and (_problem := secret_problem(METRICS_TOKEN)):
    raise ImproperlyConfigured(
        f"METRICS_TOKEN: too weak ({_problem}); generate one with "
        "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`."
    )
# prometheus-client's multiprocess mode: each process (gunicorn and qcluster workers) writes its
# metrics to files here; it must be set before prometheus_client is first imported, and be one
# directory per host shared by web and qcluster (files of dead processes are removed at start).
PROMETHEUS_MULTIPROC_DIR = env.str("PROMETHEUS_MULTIPROC_DIR", default=str(BASE_DIR / "var" / "prometheus"))
os.environ["PROMETHEUS_MULTIPROC_DIR"] = PROMETHEUS_MULTIPROC_DIR
Path(PROMETHEUS_MULTIPROC_DIR).mkdir(parents=True, exist_ok=True)
# Collectors computed at scrape time, from the database and the broker.
METRICS_COLLECTORS = ["scheduler.metrics.SchedulerCollector"]

# --- Webhooks (Standard Webhooks) ------------------------------------------------------------
WEBHOOKS_TIMEOUT_SECONDS = env.float("WEBHOOKS_TIMEOUT_SECONDS", default=10.0)
# Seconds before each retry of a failed delivery: the spec's suggested schedule, about 27 hours
# in all (8 attempts).
WEBHOOKS_RETRY_DELAYS = env.list("WEBHOOKS_RETRY_DELAYS", cast=float, default=[5, 300, 1800, 7200, 18000, 36000, 36000])
# A delivery still pending this long after it was due has lost its task (an outage between
# recording and queuing it, a killed worker): each cluster's watchdog pass queues it again.
WEBHOOKS_SWEEP_AFTER_SECONDS = env.float("WEBHOOKS_SWEEP_AFTER_SECONDS", default=300.0)
# An endpoint is disabled after this many failed attempts in a row (any success resets the count).
WEBHOOKS_DISABLE_AFTER_FAILURES = env.int("WEBHOOKS_DISABLE_AFTER_FAILURES", default=20)
# Hosts or addresses that may be private, loopback or link-local (refused otherwise).
WEBHOOKS_ALLOWED_PRIVATE_HOSTS = env.list("WEBHOOKS_ALLOWED_PRIVATE_HOSTS", default=[])

# --- Logging: one event per line ------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
# "line" (text) or "json": one JSON object per line with request_id (web) or run_id/job_id/chunk_id
# (worker) as fields (soulverse/logs.py).
LOG_FORMAT = env.str("LOG_FORMAT", default="line")
if LOG_FORMAT not in ("line", "json"):
    raise ImproperlyConfigured("LOG_FORMAT must be 'line' or 'json'.")
if LOG_FORMAT == "json":
    logging.captureWarnings(True)  # Python's warnings as log lines too (logger py.warnings), not bare stderr
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "soulverse.logs.ContextFilter"}},
    "formatters": {
        "line": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": dict(JSON_FORMATTER),
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["context"]}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django_q": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "axes": {"handlers": ["console"], "level": "WARNING", "propagate": False},
    },
}

# --- Errors: Sentry (optional) -----------------------------------------------------------------
# Unhandled errors of views and tasks, and every ERROR log line (with its traceback), of the web
# process and of the worker; never personal data (soulverse/errors.py).
SENTRY_DSN = env_secret("SENTRY_DSN")
SENTRY_ENVIRONMENT = env.str("SENTRY_ENVIRONMENT", default="production")
SENTRY_RELEASE = env.str("SENTRY_RELEASE", default="")
SENTRY_TRACES_SAMPLE_RATE = env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0)
if SENTRY_DSN:
    from soulverse.errors import sentry_init

    sentry_init(
        dsn=SENTRY_DSN,
        environment=SENTRY_ENVIRONMENT,
        release=SENTRY_RELEASE,
        traces_sample_rate=SENTRY_TRACES_SAMPLE_RATE,
    )

# --- Heartbeats (healthchecks.io's protocol, optional) -----------------------------------------
# job id=URL pairs: <URL>/start when a run of the job opens, <URL> when it succeeds, <URL>/fail when
# it fails (scheduler/heartbeat.py), so that a dead machine is noticed from outside.
JOB_HEARTBEAT_URLS = env.dict("JOB_HEARTBEAT_URLS", default={})
JOB_HEARTBEAT_TIMEOUT_SECONDS = env.float("JOB_HEARTBEAT_TIMEOUT_SECONDS", default=5.0)
# --- Content Security Policy (django-csp) on HTML pages --------------------------------------
# The admin, the dashboard and their forms load scripts, styles and images from this site only,
# with no inline script or style (a browser test checks that nothing is blocked). The Swagger UI
# (/api/docs/, scheduler viewers only) inlines its start-up script and is left out.
CONTENT_SECURITY_POLICY = {
    "EXCLUDE_URL_PREFIXES": ["/api/docs/"],
    "DIRECTIVES": {
        "default-src": ["'none'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "manifest-src": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'none'"],
    },
}

# --- Production hardening (active when DEBUG is off) ----------------------------------------
HSTS_PRELOAD_MIN_SECONDS = 365 * 24 * 60 * 60
if BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    # Container probes speak plain HTTP; /metrics (a bearer token) only over HTTPS.
    SECURE_REDIRECT_EXEMPT = [r"^livez$"]
    SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 30)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    # No `preload` by default: the browsers' preload list requires a max-age of a year at least and
    # is hard to leave; an operator who wants it says so, with a year or more.
    SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=False)
    if SECURE_HSTS_PRELOAD and SECURE_HSTS_SECONDS < HSTS_PRELOAD_MIN_SECONDS:
        raise ImproperlyConfigured(
            f"DJANGO_SECURE_HSTS_PRELOAD=true needs DJANGO_SECURE_HSTS_SECONDS of at least "
            f"{HSTS_PRELOAD_MIN_SECONDS} (a year, as the preload list requires)."
        )
    if not SECURE_HSTS_PRELOAD:
        SILENCED_SYSTEM_CHECKS = ["security.W021"]  # "no preload": a choice (above), not an oversight
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
