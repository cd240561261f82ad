"""Writes of webhooks: endpoints, events, and the delivery of each event to each endpoint.

An event (`webhook_event_emit`) becomes one message and one delivery per subscribed endpoint,
in one transaction; each delivery is attempted by a qcluster task (never in the request that
emitted it), retried after WEBHOOKS_RETRY_DELAYS, and an endpoint whose attempts keep failing
(WEBHOOKS_DISABLE_AFTER_FAILURES in a row) is disabled. A delivery whose task was never queued
or was lost is handed out again by the sweep (`webhook_deliveries_sweep`, each cluster's watchdog
pass)."""

import base64
import datetime
import json
import logging
import secrets
import uuid

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django_q.models import Schedule
from django_q.tasks import async_task
from standardwebhooks import Webhook

from webhooks.events import EVENTS
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookMessage
from webhooks.transport import webhook_post

logger = logging.getLogger(__name__)

ATTEMPT_TASK_FUNC = "webhooks.tasks.webhook_delivery_attempt"
USER_AGENT = "SoulVerse-Webhooks/1.0"


def _secret_new() -> str:
    # The Standard Webhooks secret format: whsec_ + base64 of 24 to 64 random bytes.
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def webhook_endpoint_create(*, url: str, events: list[str], description: str = "", created_by=None) -> WebhookEndpoint:
    endpoint = WebhookEndpoint.objects.create(
        url=url,
        events=list(dict.fromkeys(events)),
        description=description,
        secret=_secret_new(),
        created_by=created_by,
    )
    logger.info("event=webhook_endpoint_created endpoint=%s events=%s", endpoint.pk.hex[:8], ",".join(endpoint.events))
    return endpoint


def webhook_endpoint_update(*, endpoint: WebhookEndpoint, **changes) -> WebhookEndpoint:
    """Change url, events, description or is_active; re-enabling clears the failure streak."""
    was_active = endpoint.is_active
    fields = []
    for field in ("url", "events", "description", "is_active"):
        if field in changes:
            value = list(dict.fromkeys(changes[field])) if field == "events" else changes[field]
            setattr(endpoint, field, value)
            fields.append(field)
    if changes.get("is_active") is True and not was_active:
        endpoint.failure_streak, endpoint.disabled_at, endpoint.disabled_reason = 0, None, ""
        fields += ["failure_streak", "disabled_at", "disabled_reason"]
    if changes.get("is_active") is False and was_active:
        endpoint.disabled_at, endpoint.disabled_reason = timezone.now(), "Désactivé par un administrateur"
        fields += ["disabled_at", "disabled_reason"]
    endpoint.save(update_fields=[*fields, "updated_at"])
    logger.info("event=webhook_endpoint_updated endpoint=%s fields=%s", endpoint.pk.hex[:8], ",".join(fields))
    return endpoint


def webhook_endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    logger.info("event=webhook_endpoint_deleted endpoint=%s", endpoint.pk.hex[:8])
    endpoint.delete()


# --- Events ---------------------------------------------------------------------------------


def webhook_event_emit(*, event: str, data: dict) -> WebhookMessage | None:
    """Record `event` for every active endpoint subscribed to it and queue its deliveries.

    Never raises: the operation the event reports has happened, and a webhook must not undo it
    (a failure is logged). Returns the message, or None when no endpoint wants the event."""
    if event not in EVENTS:
        raise ValueError(f"unknown webhook event {event!r}")
    try:
        with transaction.atomic():
            endpoints = [
                e for e in WebhookEndpoint.objects.filter(is_active=True).only("id", "events") if event in e.events
            ]
            if not endpoints:
                return None
            now = timezone.now()
            payload = {"type": event, "timestamp": now.astimezone(datetime.UTC).isoformat(), "data": data}
            message = WebhookMessage.objects.create(
                id=f"msg_{uuid.uuid4().hex}",
                event=event,
                body=json.dumps(payload, cls=DjangoJSONEncoder, ensure_ascii=False, separators=(",", ":")),
            )
            deliveries = WebhookDelivery.objects.bulk_create(
                [WebhookDelivery(endpoint_id=e.pk, message=message, next_attempt_at=now) for e in endpoints]
            )
            for delivery in deliveries:
                transaction.on_commit(lambda pk=delivery.pk: _attempt_enqueue(pk))
    except Exception:
        logger.exception("event=webhook_event_emit_failed type=%s", event)
        return None
    logger.info("event=webhook_event_emitted type=%s message=%s deliveries=%s", event, message.pk[:12], len(deliveries))
    return message


def _attempt_enqueue(delivery_id: int) -> None:
    try:
        async_task(ATTEMPT_TASK_FUNC, delivery_id, group="webhooks")
    except Exception:  # the broker is down: the delivery waits, its retry schedule will pick it up
        logger.exception("event=webhook_enqueue_failed delivery=%s", delivery_id)
        try:
            _retry_schedule(delivery_id=delivery_id, attempt=0, when=timezone.now() + datetime.timedelta(minutes=1))
        except Exception:  # the database too (the ORM broker's queue is a table): the sweep will
            logger.exception("event=webhook_retry_schedule_failed delivery=%s", delivery_id)


def _retry_schedule(*, delivery_id: int, attempt: int, when: datetime.datetime) -> None:
    # A one-off django-q2 schedule: the cluster's scheduler (every 30 s) queues it once due.
    Schedule.objects.create(
        name=f"webhook:{delivery_id}:{attempt}",
        func=ATTEMPT_TASK_FUNC,
        args=repr(delivery_id),
        schedule_type=Schedule.ONCE,
        repeats=-1,
        next_run=when,
    )


def webhook_deliveries_sweep(*, limit: int = 500) -> int:
    """Hand out again the deliveries still pending WEBHOOKS_SWEEP_AFTER_SECONDS after they were
    due: their attempt task was never queued (the database or broker went down between recording
    the delivery and queuing it, or before a failed attempt's retry was scheduled) or was lost (a
    worker killed during an attempt; the Redis broker never gives a task back). Returns how many.

    Each hand-out is claimed with a conditional UPDATE (the delivery becomes due now), so the
    sweeps of several clusters hand a delivery out once, and again only if it is still pending a
    whole threshold later; the attempt's own claim keeps a delivery from being sent twice at once.
    The message, hence the `webhook-id` receivers dedupe by, is the same as before."""
    now = timezone.now()
    overdue = (
        WebhookDelivery.objects.filter(
            status=WebhookDelivery.Status.PENDING,
            next_attempt_at__lt=now - datetime.timedelta(seconds=settings.WEBHOOKS_SWEEP_AFTER_SECONDS),
        )
        .order_by("next_attempt_at")
        .values_list("pk", "next_attempt_at")[:limit]
    )
    handed_out = 0
    for delivery_id, due in list(overdue):
        claimed = WebhookDelivery.objects.filter(
            pk=delivery_id, status=WebhookDelivery.Status.PENDING, next_attempt_at=due
        ).update(next_attempt_at=now)
        if not claimed:
            continue  # another cluster's sweep, or an attempt, took it
        async_task(ATTEMPT_TASK_FUNC, delivery_id, group="webhooks")
        handed_out += 1
        logger.warning("event=webhook_delivery_requeued delivery=%s due_at=%s", delivery_id, due.isoformat())
    return handed_out


# --- Delivery -------------------------------------------------------------------------------


def webhook_signed_headers(*, secret: str, message_id: str, body: str, at: datetime.datetime) -> dict[str, str]:
    """The Standard Webhooks headers of one attempt (its timestamp is the attempt's)."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id=message_id, timestamp=at, data=body),
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }


def _lease_seconds() -> float:
    # Longer than an attempt can take, so that only a dead worker's claim runs out.
    return settings.WEBHOOKS_TIMEOUT_SECONDS * 3 + 30


def webhook_delivery_attempt(*, delivery_id: int) -> WebhookAttempt | None:
    """Make the next attempt of a due delivery; None if it is done, not due, or being attempted.

    Idempotent: a repeated or redelivered task finds the delivery claimed or done."""
    now = timezone.now()
    claimed = WebhookDelivery.objects.filter(
        pk=delivery_id,
        status=WebhookDelivery.Status.PENDING,
        next_attempt_at__lte=now,
    ).update(next_attempt_at=now + datetime.timedelta(seconds=_lease_seconds()))
    if not claimed:
        return None
    delivery = WebhookDelivery.objects.select_related("endpoint", "message").get(pk=delivery_id)
    endpoint, message = delivery.endpoint, delivery.message
    if not endpoint.is_active:
        WebhookDelivery.objects.filter(pk=delivery_id).update(
            status=WebhookDelivery.Status.FAILED, completed_at=now, next_attempt_at=None
        )
        return None
    at = timezone.now()
    attempt = _attempt_start(delivery=delivery, at=at)
    if attempt is None:
        return None
    try:
        headers = webhook_signed_headers(secret=endpoint.secret, message_id=message.pk, body=message.body, at=at)
        result = webhook_post(url=endpoint.url, headers=headers, body=message.body.encode())
        return _attempt_record(delivery=delivery, attempt=attempt, result=result)
    except Exception:
        # Whatever broke (the database, most likely), the claim runs out: try again then.
        logger.exception("event=webhook_attempt_error delivery=%s", delivery_id)
        _retry_schedule(
            delivery_id=delivery_id,
            attempt=delivery.attempts + 1,
            when=now + datetime.timedelta(seconds=_lease_seconds()),
        )
        raise


# What an attempt records when it starts; its result replaces it. Left as is, the attempt's worker
# stopped before the answer (killed at Q_TIMEOUT, or the machine went down).
ATTEMPT_UNFINISHED = "inachevée : la tentative n'a pas abouti (en cours, ou son worker s'est arrêté)"


@transaction.atomic
def _attempt_start(*, delivery: WebhookDelivery, at: datetime.datetime) -> WebhookAttempt | None:
    """Count the attempt before sending it, as a failure until its result says otherwise: an attempt
    whose worker is killed mid-request still counts towards the retries and the endpoint's failure
    streak, so a receiver that never finishes is given up and disabled like one that answers 500.
    None, having given the delivery up, when the endpoint's streak or the delivery's attempts are
    already spent (by attempts that never finished)."""
    number = delivery.attempts + 1
    endpoint_id = delivery.endpoint_id
    streak = WebhookEndpoint.objects.values_list("failure_streak", flat=True).get(pk=endpoint_id)
    if streak >= settings.WEBHOOKS_DISABLE_AFTER_FAILURES:
        _endpoint_disable(
            endpoint_id=endpoint_id, reason=f"{streak} échecs consécutifs (dernier : {ATTEMPT_UNFINISHED})"
        )
        return None
    if number > len(settings.WEBHOOKS_RETRY_DELAYS) + 1:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=WebhookDelivery.Status.FAILED, completed_at=timezone.now(), next_attempt_at=None
        )
        logger.warning("event=webhook_delivery_given_up delivery=%s attempts=%s", delivery.pk, delivery.attempts)
        return None
    attempt = WebhookAttempt.objects.create(
        delivery=delivery,
        number=number,
        attempted_at=at,
        status_code=None,
        duration_ms=0,
        succeeded=False,
        error=ATTEMPT_UNFINISHED,
    )
    WebhookDelivery.objects.filter(pk=delivery.pk).update(attempts=number)
    WebhookEndpoint.objects.filter(pk=endpoint_id).update(failure_streak=F("failure_streak") + 1)
    return attempt


@transaction.atomic
def _attempt_record(*, delivery: WebhookDelivery, attempt: WebhookAttempt, result) -> WebhookAttempt:
    number = attempt.number
    attempt.status_code, attempt.duration_ms = result.status_code, result.duration_ms
    attempt.succeeded = result.succeeded
    attempt.error = result.error[:2000]
    attempt.save(update_fields=["status_code", "duration_ms", "succeeded", "error"])
    endpoint_id, short = delivery.endpoint_id, delivery.endpoint_id.hex[:8]
    delays = settings.WEBHOOKS_RETRY_DELAYS
    done = result.succeeded or number > len(delays)
    status = (
        WebhookDelivery.Status.SUCCEEDED
        if result.succeeded
        else WebhookDelivery.Status.FAILED
        if done
        else WebhookDelivery.Status.PENDING
    )
    next_at = None if done else timezone.now() + datetime.timedelta(seconds=delays[number - 1])
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        attempts=number, status=status, next_attempt_at=next_at, completed_at=timezone.now() if done else None
    )
    if result.succeeded:
        WebhookEndpoint.objects.filter(pk=endpoint_id).update(failure_streak=0)
        logger.info(
            "event=webhook_delivered endpoint=%s message=%s attempt=%s status=%s duration_ms=%s",
            short,
            delivery.message_id[:12],
            number,
            result.status_code,
            result.duration_ms,
        )
        return attempt
    logger.warning(
        "event=webhook_attempt_failed endpoint=%s message=%s attempt=%s error=%s retry_at=%s",
        short,
        delivery.message_id[:12],
        number,
        result.kind,
        next_at.isoformat() if next_at else "none",
    )
    if next_at is not None:
        transaction.on_commit(lambda: _retry_schedule(delivery_id=delivery.pk, attempt=number, when=next_at))
    # The failure was counted in the streak when the attempt started (_attempt_start).
    streak = WebhookEndpoint.objects.values_list("failure_streak", flat=True).get(pk=endpoint_id)
    if streak >= settings.WEBHOOKS_DISABLE_AFTER_FAILURES:
        _endpoint_disable(endpoint_id=endpoint_id, reason=f"{streak} échecs consécutifs (dernier : {result.error})")
    return attempt


def _endpoint_disable(*, endpoint_id, reason: str) -> None:
    disabled = WebhookEndpoint.objects.filter(pk=endpoint_id, is_active=True).update(
        is_active=False, disabled_at=timezone.now(), disabled_reason=reason[:200]
    )
    if disabled:
        # Its waiting deliveries are given up (re-enabling the endpoint sends new events only).
        given_up = WebhookDelivery.objects.filter(
            endpoint_id=endpoint_id, status=WebhookDelivery.Status.PENDING
        ).update(status=WebhookDelivery.Status.FAILED, completed_at=timezone.now(), next_attempt_at=None)
        logger.warning(
            "event=webhook_endpoint_disabled endpoint=%s deliveries_given_up=%s", endpoint_id.hex[:8], given_up
        )
