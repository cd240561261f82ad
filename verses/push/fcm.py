"""Push through FCM HTTP v1 with firebase-admin: the app, the message, a batch sent with retries.

A push goes to one device: a Firebase Installation ID (`fid` in the v1 message) or an FCM
registration token (`token`, deprecated by FCM but still what apps not updated register).

FCM's verdicts are acted on as FCM documents them: UNREGISTERED, SENDER_ID_MISMATCH and an
INVALID_ARGUMENT about the target mean the device is dead; QUOTA_EXCEEDED (429), UNAVAILABLE (503)
and INTERNAL (500) are retried with exponential back-off and jitter, honouring Retry-After.

FCM has no error code of its own for an FID sent where the app has not opted in to FID
registration: it answers UNREGISTERED (404), as for an app instance that is gone (firebase-admin
7.7 documents UnregisteredError for "the registration token or installation ID"; the Node SDK
names it installation-id-not-registered). An FID that FCM calls UNREGISTERED before it ever
accepted a message for it is that case (the app sends FIDs that FCM does not route), reported
as its own outcome (FID_NOT_REGISTERED); so is an FCM error code naming FIDs or installations
that this module does not know yet.
"""

from __future__ import annotations

import datetime
import email.utils
import functools
import json
import logging
import os
import random
import threading
import time
import warnings
from dataclasses import dataclass, fields, replace

import firebase_admin
from django.conf import settings
from django.core.cache import cache
from firebase_admin import credentials, exceptions, messaging

from verses.push.fcm_sdk import (
    BATCH_MAX,
    fcm_body_sender,
    fcm_send_each,
    fcm_session_tune,
    fcm_token_refresh,
    message_payload,
    messaging_service,
    pooled_senders_close,
    service_session,
    service_url,
    service_url_set,
)

logger = logging.getLogger(__name__)
# firebase-admin 7.5+ deprecates `token` for `fid`: devices registered with a token (apps not
# updated, PATCH users/me) are still sent one, on purpose.
warnings.filterwarnings("ignore", message="Message.token is deprecated", category=DeprecationWarning)

APP_NAME = "soulverse-push"
TITLES = {"fr": "Ton verset du jour", "en": "Your verse of the day"}
BODY_WORDS = 12
DAILY_VERSE_LABEL = "daily-verse"


class Outcome:
    SENT = "sent"
    INVALID_TOKEN = "invalid_token"  # the device is dead (UNREGISTERED, SENDER_ID_MISMATCH, a bad target)
    FID_NOT_REGISTERED = "fid_not_registered"  # an FID FCM never routed: the app has not opted in
    RETRY = "retry"  # still failing after the tick's retries: left for the next tick
    FAILED = "failed"  # an error that retrying will not fix (authentication, payload)


class Kind:
    """How a device is addressed (users.models.Device.Kind's values)."""

    FID = "fid"
    TOKEN = "token"


@dataclass(frozen=True)
class Push:
    """One user's verse to send to one of their devices; `key` identifies it for the caller (the
    device id). `confirmed`: FCM has accepted a message for this device before."""

    key: int
    kind: str
    target: str  # the FID or the registration token
    language: str
    day: datetime.date
    reference: str
    text: str
    verse_id: int
    expires_at: datetime.datetime  # end of the user's local day
    confirmed: bool = True
    label: str = DAILY_VERSE_LABEL  # Message.fcm_options.analytics_label: Firebase's reports split by it
    # An announcement (verses/campaigns) instead of the verse: its own title and body.
    title: str = ""
    body: str = ""


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
    service = messaging_service(app)
    if settings.FCM_BASE_URL:  # a loopback stub; firebase-admin has no public option for the endpoint
        service_url_set(service, f"{settings.FCM_BASE_URL.rstrip('/')}/v1/projects/{app.project_id}/messages:send")
    fcm_session_tune(service_session(service), service_url(service))
    logger.info(
        "event=push_enabled project=%s base_url=%s", app.project_id, settings.FCM_BASE_URL or "fcm.googleapis.com"
    )
    return app


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
    pooled_senders_close()
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
    collapse = push.label if push.title else f"verse-{push.day.isoformat()}"
    ttl_seconds = max(0, int((push.expires_at - now).total_seconds()))
    target = {"fid": push.target} if push.kind == Kind.FID else {"token": push.target}
    if push.title:  # an announcement: its data names it (the app reports the open with its id)
        data = {"campaign_id": push.label.removeprefix("campaign-")}
    else:
        data = {"day": push.day.isoformat(), "reference": push.reference, "verse_id": str(push.verse_id)}
    return messaging.Message(
        **target,
        notification=messaging.Notification(
            title=push.title or TITLES.get(push.language, TITLES["fr"]),
            body=push.body or f"{push.reference} — {_first_words(push.text)}",
        ),
        data=data,
        fcm_options=messaging.FCMOptions(analytics_label=push.label),
        android=messaging.AndroidConfig(
            collapse_key=collapse, ttl=datetime.timedelta(seconds=ttl_seconds), priority="normal"
        ),
        apns=messaging.APNSConfig(
            headers={
                "apns-collapse-id": collapse,
                "apns-expiration": str(int(push.expires_at.timestamp())),
                "apns-priority": "5",
            },
            payload=messaging.APNSPayload(
                aps=messaging.Aps(thread_id="announcements" if push.title else "daily-verse")
            ),
        ),
    )


# Every field of a Push but the ones that name its device: what the message's body depends on
# (read from the class, so that a field added to Push is part of it).
_BODY_FIELDS = tuple(f.name for f in fields(Push) if f.name not in {"key", "kind", "target", "confirmed"})
_TARGET_MARK = "soulverse-push-target-mark"  # stands for the target while a body is built; never a device


class PushBodies:
    """The JSON bodies `messages:send` posts, as bytes: firebase-admin encodes one message per
    (kind of target, verse, language, local date, expiry, ...) with a mark in place of the target
    (its own validation and encoding, `message_payload`), and each push's body is that text with
    its target spliced in, JSON-escaped as json.dumps escapes it: the same bytes as encoding the
    push's own message (verses/tests/test_fcm_sdk_contract.py compares them)."""

    def __init__(self, app: firebase_admin.App, *, now: datetime.datetime, dry_run: bool) -> None:
        self._service = messaging_service(app)
        self._now = now
        self._dry_run = dry_run
        self._templates: dict[tuple, tuple[bytes, bytes]] = {}

    def body(self, push: Push) -> bytes:
        key = (push.kind, *(getattr(push, name) for name in _BODY_FIELDS))
        template = self._templates.get(key)
        if template is None:
            template = self._templates[key] = self._template(push)
        return template[0] + json.dumps(push.target)[1:-1].encode() + template[1]

    def _template(self, push: Push) -> tuple[bytes, bytes]:
        message = push_message(replace(push, target=_TARGET_MARK), now=self._now)
        text = json.dumps(message_payload(self._service, message, dry_run=self._dry_run), allow_nan=False)
        before, mark, after = text.partition(f'"{_TARGET_MARK}"')
        if not mark or text.count(_TARGET_MARK) != 1:  # the mark is the target's value, and nothing else
            raise RuntimeError("the message's target could not be located in its encoding")
        return (before + '"').encode(), ('"' + after).encode()


# --- Verdicts --------------------------------------------------------------------------------

_RETRYABLE = (
    messaging.QuotaExceededError,
    exceptions.ResourceExhaustedError,
    exceptions.UnavailableError,
    exceptions.InternalError,
    exceptions.DeadlineExceededError,
    exceptions.UnknownError,
)


# FcmError.errorCode values of the v1 API's ErrorCode reference.
_KNOWN_FCM_CODES = {
    "UNSPECIFIED_ERROR",
    "INVALID_ARGUMENT",
    "UNREGISTERED",
    "SENDER_ID_MISMATCH",
    "QUOTA_EXCEEDED",
    "UNAVAILABLE",
    "INTERNAL",
    "THIRD_PARTY_AUTH_ERROR",
}
_TARGET_FIELDS = {"message.token", "message.fid"}


def _error_details(exc: exceptions.FirebaseError) -> list[dict]:
    response = exc.http_response
    try:
        details = response.json()["error"].get("details", []) if response is not None else []
    except (ValueError, KeyError, TypeError, AttributeError):
        details = []
    return [detail for detail in details if isinstance(detail, dict)] if isinstance(details, list) else []


def _fcm_code(exc: exceptions.FirebaseError) -> str:
    """FCM's own error code (the FcmError detail's `errorCode`), or ""."""
    return next((str(d["errorCode"]) for d in _error_details(exc) if d.get("errorCode")), "")


def _about_target(exc: exceptions.InvalidArgumentError) -> bool:
    """An INVALID_ARGUMENT names the target (google.rpc.BadRequest field `message.token` or
    `message.fid`, or FCM's "not a valid FCM registration token"), as opposed to a fault in our
    payload."""
    for detail in _error_details(exc):
        for violation in detail.get("fieldViolations", []) or []:
            if isinstance(violation, dict) and violation.get("field") in _TARGET_FIELDS:
                return True
    text = str(exc).lower()
    return "registration token" in text or "installation id" in text


def _verdict(exc: exceptions.FirebaseError, push: Push) -> str:
    code = _fcm_code(exc)
    if code and code not in _KNOWN_FCM_CODES and ("FID" in code or "INSTALLATION" in code):
        return Outcome.FID_NOT_REGISTERED  # a code FCM may add for it: not a dead device
    if isinstance(exc, messaging.UnregisteredError):
        return Outcome.FID_NOT_REGISTERED if push.kind == Kind.FID and not push.confirmed else Outcome.INVALID_TOKEN
    if isinstance(exc, messaging.SenderIdMismatchError):
        return Outcome.INVALID_TOKEN
    if isinstance(exc, exceptions.InvalidArgumentError):
        return Outcome.INVALID_TOKEN if _about_target(exc) else Outcome.FAILED
    if isinstance(exc, _RETRYABLE):
        return Outcome.RETRY
    return Outcome.FAILED


def _error_name(exc: exceptions.FirebaseError) -> str:
    status = getattr(exc.http_response, "status_code", None)
    return f"{_fcm_code(exc) or exc.code}" + (f" (HTTP {status})" if status else "")


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


def _backoff(attempt: int) -> float:
    """Exponential back-off with full jitter: uniform in [0, base * 2^attempt], capped."""
    return random.uniform(0, min(settings.FCM_BACKOFF_MAX_SECONDS, settings.FCM_BACKOFF_SECONDS * 2**attempt))


def pushes_send(
    pushes: list[Push], *, dry_run: bool = False, now: datetime.datetime | None = None
) -> tuple[list[PushResult], int]:
    """Send `pushes` (one per device; batches of up to 500, concurrently); retry the retryable
    ones within FCM_RETRIES attempts and FCM_RETRY_BUDGET_SECONDS of waiting. Returns (results,
    retried)."""
    app = fcm_app()
    if app is None:
        raise RuntimeError("push is disabled: no FCM credentials")
    fcm_token_refresh(app.credential.get_credential())
    now = now or datetime.datetime.now(datetime.UTC)
    results: dict[int, PushResult] = {}
    retried = 0
    waited = 0.0
    pending = list(pushes)
    attempt = 0
    # A batch never takes more than a second's budget of the rate limit.
    batch_size = min(BATCH_MAX, max(1, settings.PUSH_RATE_PER_MINUTE // 60))
    # The pooled and HTTP/2 senders post bodies built once per verse (PushBodies); firebase-admin's
    # own send_each (FCM_SEND_MODE threads / async, a proxy) is given its Message objects.
    sender = fcm_body_sender(app)
    bodies = PushBodies(app, now=now, dry_run=dry_run) if sender is not None else None
    while pending:
        retry: list[Push] = []
        delays: list[float] = []
        for start in range(0, len(pending), batch_size):
            batch = pending[start : start + batch_size]
            _rate_acquire(len(batch))
            if sender is not None:
                response = sender.send_bodies([bodies.body(push) for push in batch])
            else:
                response = fcm_send_each([push_message(push, now=now) for push in batch], app=app, dry_run=dry_run)
            for push, answer in zip(batch, response.responses):
                if answer.success:
                    results[push.key] = PushResult(push.key, Outcome.SENT, message_id=answer.message_id)
                    continue
                verdict = _verdict(answer.exception, push)
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
