"""Push through FCM HTTP v1 with firebase-admin: the app, the message, a batch sent with retries.

FCM's verdicts are acted on as FCM documents them: UNREGISTERED, SENDER_ID_MISMATCH and an
INVALID_ARGUMENT about the token mean the token is dead; QUOTA_EXCEEDED (429), UNAVAILABLE (503)
and INTERNAL (500) are retried with exponential back-off and jitter, honouring Retry-After.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime
import email.utils
import functools
import itertools
import json
import logging
import os
import random
import threading
import time
import urllib.parse
import warnings
from dataclasses import dataclass

import firebase_admin
import google.auth.transport.requests
import requests.adapters
import requests.certs
import requests.structures
import urllib3
from django.conf import settings
from django.core.cache import cache
from firebase_admin import (
    _http_client,  # firebase-admin's own retry policy, reused for FCM_BASE_URL
    credentials,
    exceptions,
    messaging,
)

logger = logging.getLogger(__name__)
# firebase-admin 7 prefers `fid` (installation ids); the apps register tokens today (README).
warnings.filterwarnings("ignore", message="Message.token is deprecated", category=DeprecationWarning)

APP_NAME = "soulverse-push"
BATCH_MAX = 500  # firebase-admin's send_each limit
TITLES = {"fr": "Ton verset du jour", "en": "Your verse of the day"}
BODY_WORDS = 12


class Outcome:
    SENT = "sent"
    INVALID_TOKEN = "invalid_token"
    RETRY = "retry"  # still failing after the tick's retries: left for the next tick
    FAILED = "failed"  # an error that retrying will not fix (authentication, payload)


@dataclass(frozen=True)
class Push:
    """One user's verse to send; `key` identifies it for the caller (the delivery id)."""

    key: int
    token: str
    language: str
    day: datetime.date
    reference: str
    text: str
    verse_id: int
    expires_at: datetime.datetime  # end of the user's local day


@dataclass(frozen=True)
class PushResult:
    key: int
    outcome: str
    message_id: str = ""
    error: str = ""


# --- The app ---------------------------------------------------------------------------------


def _credential():
    if settings.FCM_CREDENTIALS_FILE:
        return credentials.Certificate(settings.FCM_CREDENTIALS_FILE)
    # Application-default credentials only where they are configured: probing for them would
    # otherwise reach the network (the GCE metadata server) on every machine.
    if os.environ.get("GOOGLE_APPLICATION_CREDENTIALS") or os.environ.get("GOOGLE_CLOUD_PROJECT"):
        return credentials.ApplicationDefault()
    return None


@functools.cache
def fcm_app() -> firebase_admin.App | None:
    """The process-wide firebase-admin app, or None when push is off or disabled (said once)."""
    if not settings.PUSH_ENABLED:
        logger.info("event=push_disabled reason=switched_off")
        return None
    credential = _credential()
    if credential is None:
        logger.warning("event=push_disabled reason=no_credentials")
        return None
    try:
        app = firebase_admin.get_app(APP_NAME)
    except ValueError:
        options = {"httpTimeout": settings.FCM_TIMEOUT_SECONDS}
        if settings.FCM_PROJECT_ID:
            options["projectId"] = settings.FCM_PROJECT_ID
        app = firebase_admin.initialize_app(credential, options=options, name=APP_NAME)
    service = messaging._get_messaging_service(app)
    if settings.FCM_BASE_URL:  # a loopback stub; firebase-admin has no public option for the endpoint
        service._fcm_url = f"{settings.FCM_BASE_URL.rstrip('/')}/v1/projects/{app.project_id}/messages:send"
    _session_tune(service._client.session, service._fcm_url)
    logger.info(
        "event=push_enabled project=%s base_url=%s", app.project_id, settings.FCM_BASE_URL or "fcm.googleapis.com"
    )
    return app


def _session_tune(session: requests.Session, fcm_url: str) -> None:
    """Make firebase-admin's requests session cheap per message (bench/push.py measures it).

    - A connection pool as large as a batch: send_each runs a thread per message, and with
      firebase-admin's 100 the other 400 connections (TLS handshakes on fcm.googleapis.com) were
      opened and thrown away at every batch. Same retry policy as firebase-admin's own adapter.
    - The environment (proxies, CA bundle, .netrc) read once here rather than on every request
      (requests' trust_env scans os.environ and stats ~/.netrc per call: a fifth of the CPU)."""
    base = "{0.scheme}://{0.netloc}".format(urllib.parse.urlsplit(fcm_url))
    adapter = requests.adapters.HTTPAdapter(
        pool_connections=1, pool_maxsize=BATCH_MAX, max_retries=_http_client.DEFAULT_RETRY_CONFIG
    )
    session.mount(base, adapter)
    environment = session.merge_environment_settings(fcm_url, {}, None, None, None)
    session.proxies.update(environment["proxies"])
    session.verify = environment["verify"]
    session.trust_env = False


def push_credentials_configured() -> bool:
    return bool(
        settings.FCM_CREDENTIALS_FILE
        or os.environ.get("GOOGLE_APPLICATION_CREDENTIALS")
        or os.environ.get("GOOGLE_CLOUD_PROJECT")
    )


def push_state() -> dict:
    """Push status for status/health (never a credential): "enabled", "disabled" (on, but no
    credentials) or "off" (PUSH_ENABLED=false, a choice)."""
    enabled = settings.PUSH_ENABLED and push_credentials_configured()
    status = "enabled" if enabled else "disabled" if settings.PUSH_ENABLED else "off"
    return {"enabled": enabled, "status": status, "dry_run": settings.FCM_DRY_RUN}


def fcm_reset() -> None:
    """Forget the app (tests change settings between cases)."""
    fcm_app.cache_clear()
    _pooled_senders_close()
    try:
        firebase_admin.delete_app(firebase_admin.get_app(APP_NAME))
    except ValueError:
        pass


def push_project_id() -> str:
    """The Firebase project pushes go to, found where firebase-admin finds it but without starting
    the app: FCM_PROJECT_ID, else the service-account file's `project_id`, else GOOGLE_CLOUD_PROJECT
    or GCLOUD_PROJECT; "" when none says (or the file cannot be read). Never a credential."""
    if settings.FCM_PROJECT_ID:
        return settings.FCM_PROJECT_ID
    path = settings.FCM_CREDENTIALS_FILE or os.environ.get("GOOGLE_APPLICATION_CREDENTIALS")
    if path:
        try:
            with open(path, encoding="utf-8") as file:
                project = json.load(file).get("project_id")
        except (OSError, ValueError, AttributeError):
            project = None
        if isinstance(project, str) and project:
            return project
    return os.environ.get("GOOGLE_CLOUD_PROJECT") or os.environ.get("GCLOUD_PROJECT") or ""


# --- The message -----------------------------------------------------------------------------


def _first_words(text: str, count: int = BODY_WORDS) -> str:
    words = text.split()
    return " ".join(words[:count]) + ("…" if len(words) > count else "")


def push_message(push: Push, *, now: datetime.datetime) -> messaging.Message:
    """The notification in the user's language; a repeated send replaces rather than stacks
    (Android collapse key, APNs collapse id and thread id); it expires with the local day."""
    collapse = f"verse-{push.day.isoformat()}"
    ttl_seconds = max(0, int((push.expires_at - now).total_seconds()))
    return messaging.Message(
        token=push.token,
        notification=messaging.Notification(
            title=TITLES.get(push.language, TITLES["fr"]),
            body=f"{push.reference} — {_first_words(push.text)}",
        ),
        data={"day": push.day.isoformat(), "reference": push.reference, "verse_id": str(push.verse_id)},
        android=messaging.AndroidConfig(
            collapse_key=collapse, ttl=datetime.timedelta(seconds=ttl_seconds), priority="normal"
        ),
        apns=messaging.APNSConfig(
            headers={
                "apns-collapse-id": collapse,
                "apns-expiration": str(int(push.expires_at.timestamp())),
                "apns-priority": "5",
            },
            payload=messaging.APNSPayload(aps=messaging.Aps(thread_id="daily-verse")),
        ),
    )


# --- Verdicts --------------------------------------------------------------------------------

_RETRYABLE = (
    messaging.QuotaExceededError,
    exceptions.ResourceExhaustedError,
    exceptions.UnavailableError,
    exceptions.InternalError,
    exceptions.DeadlineExceededError,
    exceptions.UnknownError,
)


def _about_token(exc: exceptions.InvalidArgumentError) -> bool:
    """An INVALID_ARGUMENT names the token (google.rpc.BadRequest field `message.token`, or FCM's
    "not a valid FCM registration token"), as opposed to a fault in our payload."""
    response = exc.http_response
    try:
        details = response.json()["error"].get("details", []) if response is not None else []
    except (ValueError, KeyError, TypeError, AttributeError):
        details = []
    for detail in details:
        for violation in detail.get("fieldViolations", []) if isinstance(detail, dict) else []:
            if violation.get("field") == "message.token":
                return True
    return "registration token" in str(exc).lower()


def _verdict(exc: exceptions.FirebaseError) -> str:
    if isinstance(exc, messaging.UnregisteredError | messaging.SenderIdMismatchError):
        return Outcome.INVALID_TOKEN
    if isinstance(exc, exceptions.InvalidArgumentError):
        return Outcome.INVALID_TOKEN if _about_token(exc) else Outcome.FAILED
    if isinstance(exc, _RETRYABLE):
        return Outcome.RETRY
    return Outcome.FAILED


def _error_name(exc: exceptions.FirebaseError) -> str:
    response = exc.http_response
    status = getattr(response, "status_code", None)
    fcm_code = ""
    try:
        for detail in response.json()["error"].get("details", []):
            fcm_code = detail.get("errorCode", "") or fcm_code
    except Exception:  # no body, or not JSON: the exception's class says enough
        pass
    return f"{fcm_code or exc.code}" + (f" (HTTP {status})" if status else "")


def _retry_after(exc: exceptions.FirebaseError) -> float | None:
    response = exc.http_response
    value = response.headers.get("Retry-After") if response is not None else None
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value)
        return max(0.0, parsed.timestamp() - time.time()) if parsed else None


# --- Rate limit ------------------------------------------------------------------------------


def _rate_acquire(count: int) -> None:
    """Take `count` sends from this second's budget (PUSH_RATE_PER_MINUTE / 60), shared by every
    process through the cache; wait for the next second when it is spent. Without a working
    cache each process keeps its own count (the limit then holds per process only)."""
    per_second = max(1, settings.PUSH_RATE_PER_MINUTE // 60)
    while True:
        window = int(time.time())
        key = f"push:rate:{window}"
        try:
            cache.add(key, 0, timeout=5)
            used = cache.incr(key, count)  # atomic on Redis
        except Exception:  # cache down (django-redis may also answer None): this process's own count
            used = None
        if used is None:
            used = _local_window(window, count)
        if used <= per_second:
            return
        try:
            cache.decr(key, count)  # give back what this second could not grant
        except Exception:
            pass
        time.sleep(max(0.0, window + 1 - time.time()))


_local_lock = threading.Lock()
_local_state = {"window": 0, "used": 0}


def _local_window(window: int, count: int) -> int:
    with _local_lock:
        if _local_state["window"] != window:
            _local_state.update(window=window, used=0)
        _local_state["used"] += count
        return _local_state["used"]


# --- Sending ---------------------------------------------------------------------------------


class _PooledSender:
    """`messages:send` as firebase-admin's send_each makes it, at a fraction of its CPU.

    firebase-admin still does everything that is FCM: the message's JSON (`_message_data`), the
    endpoint and its headers, the OAuth credential, the retry policy of 500/503 (its urllib3
    `Retry`) and the reading of an error answer into its exception classes (`_handle_fcm_error`).
    Only the transport differs: urllib3's connection pool, kept for the process, and a fixed set
    of threads that take the batch's messages in turn, instead of requests + google-auth's session
    and a new thread per message, which cost about half of the client's CPU per push
    (bench/push_send.py: FCM_SEND_MODE=threads against pool)."""

    def __init__(self, app: firebase_admin.App) -> None:
        service = messaging._get_messaging_service(app)
        self._service = service
        self._credential = app.credential.get_credential()
        self._url = service._fcm_url
        self._fcm_headers = {
            **service._fcm_headers,
            **_http_client.METRICS_HEADERS,
            "Content-Type": "application/json; charset=utf-8",
        }
        timeout = app.options.get("httpTimeout", _http_client.DEFAULT_TIMEOUT_SECONDS)
        self._timeout = urllib3.Timeout(connect=timeout, read=timeout)
        self._threads = settings.FCM_CONCURRENCY
        # The CA bundle as requests would read it from the environment (once). Through a proxy,
        # firebase-admin's own send_each is used instead (_send_each): requests selects it and
        # authenticates to it.
        verify = fcm_environment(self._url)["verify"]  # True (certifi's bundle), a path, or False
        if verify is False:
            tls = {"cert_reqs": "CERT_NONE"}
        elif isinstance(verify, str) and os.path.isdir(verify):
            tls = {"ca_cert_dir": verify}
        else:
            tls = {"ca_certs": verify if isinstance(verify, str) else requests.certs.where()}
        self._pool = urllib3.PoolManager(maxsize=self._threads, **tls).connection_from_url(self._url)
        self._path = urllib.parse.urlsplit(self._url).path
        self._auth_request = google.auth.transport.requests.Request()  # for token refreshes
        self._executor = concurrent.futures.ThreadPoolExecutor(max_workers=self._threads, thread_name_prefix="fcm-send")

    def close(self) -> None:
        self._executor.shutdown(wait=False)
        self._pool.close()

    def send_each(self, messages: list[messaging.Message], *, dry_run: bool) -> messaging.BatchResponse:
        bodies = [
            json.dumps(self._service._message_data(message, dry_run), allow_nan=False).encode() for message in messages
        ]
        headers = self._headers()
        responses: list[messaging.SendResponse | None] = [None] * len(bodies)
        turns = itertools.count()  # each thread takes the next message (next() is atomic)

        def work() -> None:
            while (index := next(turns)) < len(bodies):
                responses[index] = self._send_one(bodies[index], headers)

        for future in [self._executor.submit(work) for _ in range(min(self._threads, len(bodies)))]:
            future.result()
        return messaging.BatchResponse(responses)

    def _headers(self) -> dict[str, str]:
        """firebase-admin's FCM headers, and what google-auth adds to each request (the Bearer
        token, refreshed first if it has expired, and the credential type in x-goog-api-client)."""
        headers = dict(self._fcm_headers)
        self._credential.before_request(self._auth_request, "POST", self._url, headers)
        return headers

    def _send_one(self, body: bytes, headers: dict[str, str]) -> messaging.SendResponse:
        try:
            return self._send_or_raise(body, headers)
        except Exception as exc:  # as send_each: the message's verdict, never an abandoned batch
            error = exceptions.UnknownError(f"Unknown error while sending: {exc}", cause=exc)
            return messaging.SendResponse(None, error)

    def _send_or_raise(self, body: bytes, headers: dict[str, str]) -> messaging.SendResponse:
        for attempt in range(2):  # a 401: the OAuth token is refreshed (once for all) and the send tried again
            try:
                answer = self._pool.urlopen(
                    "POST",
                    self._path,
                    body=body,
                    headers=headers,
                    timeout=self._timeout,
                    retries=_http_client.DEFAULT_RETRY_CONFIG.new(),
                    redirect=False,
                )
            except urllib3.exceptions.HTTPError as exc:
                return messaging.SendResponse(None, self._service._handle_fcm_error(_requests_error(exc)))
            if answer.status == 401 and attempt == 0:
                _token_refresh(self._credential, stale=headers["authorization"].removeprefix("Bearer "))
                headers = self._headers()
                continue
            break
        if 200 <= answer.status < 300:
            return messaging.SendResponse(json.loads(answer.data), None)
        return messaging.SendResponse(None, self._service._handle_fcm_error(_requests_http_error(self._url, answer)))


def _requests_http_error(url: str, answer: urllib3.BaseHTTPResponse) -> requests.exceptions.HTTPError:
    """An error answer as the requests error firebase-admin reads FCM's error body from."""
    response = requests.Response()
    response.status_code, response.url, response.reason = answer.status, url, answer.reason
    response.headers = requests.structures.CaseInsensitiveDict(answer.headers)
    response._content = answer.data
    return requests.exceptions.HTTPError(f"{answer.status} error from FCM", response=response)


def _requests_error(exc: urllib3.exceptions.HTTPError) -> requests.exceptions.RequestException:
    """A transport error as requests names it (firebase-admin: timeout → DEADLINE_EXCEEDED,
    connection → UNAVAILABLE, else UNKNOWN)."""
    reason = getattr(exc, "reason", None) or exc
    # urllib3 2 makes NewConnectionError a ConnectTimeoutError: tell it apart first, as requests does.
    if isinstance(
        reason,
        urllib3.exceptions.NewConnectionError
        | urllib3.exceptions.ProtocolError
        | urllib3.exceptions.SSLError
        | ConnectionError,
    ):
        return requests.exceptions.ConnectionError(str(exc))
    if isinstance(reason, urllib3.exceptions.TimeoutError):
        return requests.exceptions.Timeout(str(exc))
    return requests.exceptions.RequestException(str(exc))


def fcm_environment(url: str) -> dict:
    """The proxies and CA bundle that requests would use for `url`, from the environment."""
    return requests.Session().merge_environment_settings(url, {}, None, None, None)


_senders: dict[tuple[str, int], _PooledSender] = {}
_senders_lock = threading.Lock()


def _pooled_sender(app: firebase_admin.App) -> _PooledSender | None:
    """The app's sender in this process (a forked worker makes its own: its parent's threads and
    connections are not its), or None when the FCM endpoint is reached through a proxy."""
    key = (app.name, os.getpid())
    with _senders_lock:
        if key not in _senders:
            url = messaging._get_messaging_service(app)._fcm_url
            _senders[key] = None if fcm_environment(url)["proxies"] else _PooledSender(app)
        return _senders[key]


def _pooled_senders_close() -> None:
    with _senders_lock:
        for key, sender in list(_senders.items()):
            if sender is not None and key[1] == os.getpid():
                sender.close()
        _senders.clear()


_loop_local = threading.local()


def _send_each(messages: list[messaging.Message], *, app, dry_run: bool) -> messaging.BatchResponse:
    sender = _pooled_sender(app) if settings.FCM_SEND_MODE == "pool" else None
    if sender is not None:
        return sender.send_each(messages, dry_run=dry_run)
    if settings.FCM_SEND_MODE == "async":
        # firebase-admin's httpx client keeps connections bound to one event loop: reuse it.
        loop = getattr(_loop_local, "loop", None)
        if loop is None:
            loop = _loop_local.loop = asyncio.new_event_loop()
        return loop.run_until_complete(messaging.send_each_async(messages, dry_run=dry_run, app=app))
    return messaging.send_each(messages, dry_run=dry_run, app=app)


_refresh_lock = threading.Lock()


def _token_refresh(credential, *, stale: str | None = None) -> None:
    """Get the OAuth access token once before a batch (otherwise each of the batch's threads
    finds it missing and asks the token endpoint itself), or after FCM refused `stale` (401)."""
    with _refresh_lock:
        if not credential.valid or (stale is not None and credential.token == stale):
            credential.refresh(google.auth.transport.requests.Request())


def _backoff(attempt: int) -> float:
    """Exponential back-off with full jitter: uniform in [0, base * 2^attempt], capped."""
    return random.uniform(0, min(settings.FCM_BACKOFF_MAX_SECONDS, settings.FCM_BACKOFF_SECONDS * 2**attempt))


def pushes_send(
    pushes: list[Push], *, dry_run: bool = False, now: datetime.datetime | None = None
) -> tuple[list[PushResult], int]:
    """Send `pushes` (batches of up to 500, concurrently); retry the retryable ones within
    FCM_RETRIES attempts and FCM_RETRY_BUDGET_SECONDS of waiting. Returns (results, retried)."""
    app = fcm_app()
    if app is None:
        raise RuntimeError("push is disabled: no FCM credentials")
    _token_refresh(app.credential.get_credential())
    now = now or datetime.datetime.now(datetime.UTC)
    results: dict[int, PushResult] = {}
    retried = 0
    waited = 0.0
    pending = list(pushes)
    attempt = 0
    # A batch never takes more than a second's budget of the rate limit.
    batch_size = min(BATCH_MAX, max(1, settings.PUSH_RATE_PER_MINUTE // 60))
    while pending:
        retry: list[Push] = []
        delays: list[float] = []
        for start in range(0, len(pending), batch_size):
            batch = pending[start : start + batch_size]
            _rate_acquire(len(batch))
            response = _send_each([push_message(push, now=now) for push in batch], app=app, dry_run=dry_run)
            for push, answer in zip(batch, response.responses):
                if answer.success:
                    results[push.key] = PushResult(push.key, Outcome.SENT, message_id=answer.message_id)
                    continue
                verdict = _verdict(answer.exception)
                results[push.key] = PushResult(push.key, verdict, error=_error_name(answer.exception))
                if verdict == Outcome.RETRY:
                    retry.append(push)
                    delays.append(_retry_after(answer.exception) or 0.0)
        if not retry or attempt >= settings.FCM_RETRIES:
            break
        delay = max(max(delays), _backoff(attempt))
        if waited + delay > settings.FCM_RETRY_BUDGET_SECONDS:
            break  # the rest is for the next tick
        logger.info("event=push_retry count=%s delay=%.2f attempt=%s", len(retry), delay, attempt + 1)
        time.sleep(delay)
        waited += delay
        retried += len(retry)
        attempt += 1
        pending = retry
    return [results[push.key] for push in pushes], retried
