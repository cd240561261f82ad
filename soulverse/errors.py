"""Error reporting to Sentry (SENTRY_DSN): unhandled exceptions of views (the Django integration)
and every ERROR log line with its traceback, in the web process and in the qcluster workers
(the logging integration: a job's or a chunk's failure is logged with `logger.exception`).

django-q2 1.11's own `error_reporter` takes plugins registered as `djangoq.errorreporters` entry
points only; the published Sentry one (django-q-sentry 0.1.6) ships none and uses APIs sentry-sdk
2 deprecates, so the worker reports through the logging integration instead."""

import logging

import sentry_sdk
from sentry_sdk.integrations.django import DjangoIntegration
from sentry_sdk.integrations.logging import LoggingIntegration

from soulverse.logs import log_context_get


def _event_text(event: dict) -> str:
    logentry = event.get("logentry") or {}
    return str(logentry.get("formatted") or logentry.get("message") or event.get("message") or "")


def _before_send(event: dict, hint: dict) -> dict | None:
    """Tag the event with the request or run it happened in (the ids of the JSON logs); drop
    django-q's line about a failed scheduler task, whose failure scheduler.services has reported
    with its traceback already (`event=job_failed`)."""
    if event.get("logger") == "django-q" and "'scheduler.tasks." in _event_text(event):
        return None
    tags = event.setdefault("tags", {})
    for name, value in log_context_get().items():
        tags.setdefault(name, str(value))
    return event


def sentry_init(*, dsn: str, environment: str, release: str, traces_sample_rate: float) -> None:
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release or None,
        integrations=[DjangoIntegration(), LoggingIntegration(level=logging.INFO, event_level=logging.ERROR)],
        traces_sample_rate=traces_sample_rate,
        # Never personal data: no user, IP or cookies, no request bodies (FCM tokens, emails),
        # no local variables of the stack frames.
        send_default_pii=False,
        max_request_body_size="never",
        include_local_variables=False,
        before_send=_before_send,
    )
