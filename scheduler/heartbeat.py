"""Heartbeats to an outside monitor (JOB_HEARTBEAT_URLS), in healthchecks.io's protocol:
`<url>/start` when a run of the job opens, `<url>` when it succeeds, `<url>/fail` when it fails,
each with `rid=<run id>` so that the monitor pairs a start with its end and times the run.

A monitor that expects a ping every day (or every quarter hour for `deliver_verses`) notices a
dead machine, a dead cluster or a stuck schedule, which nothing inside the deployment can.
Called by scheduler.announce where runs open and close, after the transaction commits; a ping
that fails is logged and never fails the run."""

import json
import logging
import urllib.error
import urllib.parse
import urllib.request

from django.conf import settings
from django.db import transaction

from scheduler.models import JobRun

logger = logging.getLogger(__name__)

SUFFIXES = {"start": "/start", "success": "", "fail": "/fail"}
BODY_MAX_BYTES = 10_000  # healthchecks.io keeps up to 100 KB of a ping's body as its log


def heartbeat_url(base: str, *, event: str, run_id: str) -> str:
    """`base` + the event's suffix, with the run id as `rid` (a query string of `base` is kept)."""
    parts = urllib.parse.urlsplit(base)
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True) + [("rid", run_id)]
    path = parts.path.rstrip("/") + SUFFIXES[event]
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, urllib.parse.urlencode(query), ""))


def job_run_heartbeat(*, run: JobRun, event: str) -> None:
    """Ping the job's monitor, if it has one, once the current transaction commits."""
    base = settings.JOB_HEARTBEAT_URLS.get(run.job_id)
    if not base:
        return
    try:
        url = heartbeat_url(base, event=event, run_id=str(run.pk))
        if event == "start":
            body = b""
        elif event == "success":
            body = json.dumps(run.counts, sort_keys=True, default=str).encode()
        else:
            body = (run.error or "failed").encode()
        transaction.on_commit(lambda: _ping(url, body=body[:BODY_MAX_BYTES], job_id=run.job_id, event=event))
    except Exception:
        logger.exception("event=heartbeat_failed job=%s ping=%s", run.job_id, event)


def _ping(url: str, *, body: bytes, job_id: str, event: str) -> None:
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "text/plain; charset=utf-8", "User-Agent": "soulverse-scheduler"},
    )
    try:
        with urllib.request.urlopen(request, timeout=settings.JOB_HEARTBEAT_TIMEOUT_SECONDS) as response:
            response.read(1024)
    except urllib.error.HTTPError as exc:
        logger.warning("event=heartbeat_failed job=%s ping=%s status=%s", job_id, event, exc.code)
    except Exception as exc:  # unreachable, timed out, refused: the run goes on
        logger.warning("event=heartbeat_failed job=%s ping=%s error=%s", job_id, event, type(exc).__name__)
    else:
        logger.info("event=heartbeat_sent job=%s ping=%s", job_id, event)
