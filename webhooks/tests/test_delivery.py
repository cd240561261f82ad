"""Delivery to a local Standard Webhooks receiver, tasks run in this process: signatures the
`standardwebhooks` library verifies, each event once per delivery, retries after a 500 (through
django-q2's own scheduler), an endpoint disabled after failures in a row, no redirect followed,
the timeout, the address guard at delivery time."""

import datetime
import json

import pytest
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.models import Schedule
from django_q.scheduler import scheduler as django_q_scheduler

from scheduler.tests.runs import job_run_through_tasks
from users.tests.factories import UserFactory
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookMessage
from webhooks.services import webhook_event_emit

pytestmark = pytest.mark.django_db


def retries_due_now() -> int:
    """Make the pending retry schedules due and let django-q2's scheduler queue them (tasks run here)."""
    due = Schedule.objects.filter(name__startswith="webhook:")
    count = due.count()
    WebhookDelivery.objects.filter(status="pending").update(next_attempt_at=timezone.now())
    due.update(next_run=timezone.now() - datetime.timedelta(seconds=1))
    django_q_scheduler(broker=get_broker())
    return count


def test_a_run_sends_run_started_then_run_succeeded_signed(receiver, endpoint_for, tasks_here, settings):
    settings.GEMINI_API_KEY = ""
    endpoint_for(receiver)
    UserFactory.create_batch(3)
    run = job_run_through_tasks("daily_verses_generation")
    assert run.status == "succeeded"
    got = receiver.wait_for(2)
    assert [(r.verified, r.error) for r in got] == [(True, ""), (True, "")]
    assert receiver.events() == ["run.started", "run.succeeded"]
    started, succeeded = (r.payload for r in got)
    assert started["data"]["run"]["id"] == succeeded["data"]["run"]["id"] == str(run.pk)
    assert started["data"]["run"]["status"] == "running"
    assert succeeded["data"]["run"] | {"duration_seconds": None} == {
        "id": str(run.pk),
        "job_id": "daily_verses_generation",
        "trigger": "manual",
        "status": "succeeded",
        "started_at": run.started_at.astimezone(datetime.UTC).isoformat(),
        "finished_at": run.finished_at.astimezone(datetime.UTC).isoformat(),
        "duration_seconds": None,
        "counts": run.counts,
        "error": "",
    }
    assert succeeded["data"]["run"]["counts"]["verses_created"] == 3
    # Standard Webhooks headers; the id is the message's.
    message = WebhookMessage.objects.get(event="run.succeeded")
    headers = {k.lower(): v for k, v in got[1].headers.items()}
    assert headers["webhook-id"] == message.pk and headers["content-type"] == "application/json"
    assert got[1].body == message.body.encode()
    assert set(succeeded) == {"type", "timestamp", "data"}
    assert [(d.status, d.attempts) for d in WebhookDelivery.objects.all()] == [("succeeded", 1)] * 2
    assert list(WebhookAttempt.objects.values_list("status_code", "succeeded", "error")) == [(200, True, "")] * 2


def test_a_closed_push_tick_sends_delivery_completed(receiver, endpoint_for, tasks_here):
    endpoint_for(receiver, events=["delivery.completed"])
    UserFactory.create_batch(2)
    run = job_run_through_tasks("deliver_verses", at="2026-03-01T06:00:00+00:00")
    assert run.status == "succeeded"
    got = receiver.wait_for(1)
    assert receiver.events() == ["delivery.completed"]
    assert got[0].verified
    assert got[0].payload["data"]["run"]["id"] == str(run.pk)
    assert got[0].payload["data"]["run"]["job_id"] == "deliver_verses"
    assert got[0].payload["data"]["run"]["counts"] == run.counts
    assert WebhookMessage.objects.count() == 1


def test_an_endpoint_gets_only_the_events_it_subscribed_to(receiver, endpoint_for, tasks_here, staff_client):
    endpoint_for(receiver, events=["scheduler.stopped"])
    from scheduler.services import schedules_setup

    schedules_setup()
    assert staff_client.post("/api/v1/scheduler/stop").status_code == 200
    assert staff_client.post("/api/v1/scheduler/stop").status_code == 200  # already stopped: no event
    assert staff_client.post("/api/v1/scheduler/start").status_code == 200
    got = receiver.wait_for(1)
    assert receiver.events() == ["scheduler.stopped"]
    assert got[0].verified and got[0].payload["data"] == {"schedules": 5}  # the five jobs
    assert WebhookMessage.objects.count() == 1


def test_a_forged_or_replayed_signature_fails_verification(receiver, endpoint_for, tasks_here):
    """The receiver really checks: with another secret, the same deliveries do not verify."""
    endpoint_for(receiver)
    receiver.secret = "whsec_" + "QUJD" * 8  # not the endpoint's
    webhook_event_emit(event="schedule.updated", data={"job_id": "cache_cleanup"})
    got = receiver.wait_for(1)
    assert [(r.verified, r.error) for r in got] == [(False, "No matching signature found")]


def test_retries_after_500_until_it_succeeds_with_the_same_id(receiver, endpoint_for, tasks_here, staff_client):
    endpoint_for(receiver, events=["run.failed"])
    receiver.answer(500, 503)
    webhook_event_emit(event="run.failed", data={"run": {"id": "x"}})
    assert len(receiver.received) == 1
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("pending", 1)
    assert delivery.next_attempt_at > timezone.now() + datetime.timedelta(seconds=3)  # the first delay: 5 s
    assert retries_due_now() == 1
    assert retries_due_now() == 1
    assert retries_due_now() == 0  # delivered: nothing left to retry
    got = receiver.wait_for(3)
    assert len(got) == 3 and all(r.verified for r in got)
    assert len({r.headers["webhook-id"] for r in got}) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("succeeded", 3)
    assert list(delivery.attempt_log.values_list("number", "status_code", "succeeded", "error")) == [
        (1, 500, False, "HTTP 500"),
        (2, 503, False, "HTTP 503"),
        (3, 200, True, ""),
    ]
    assert WebhookEndpoint.objects.get().failure_streak == 0
    # The attempt log through the API.
    listed = staff_client.get(f"/api/v1/scheduler/webhooks/{delivery.endpoint_id}/deliveries").json()
    assert listed["count"] == 1
    shown = listed["results"][0]
    assert (shown["id"], shown["message_id"], shown["event"], shown["status"], shown["next_attempt_at"]) == (
        delivery.pk,
        delivery.message_id,
        "run.failed",
        "succeeded",
        None,
    )
    assert [(a["number"], a["status_code"], a["succeeded"], a["error"]) for a in shown["attempts"]] == [
        (1, 500, False, "HTTP 500"),
        (2, 503, False, "HTTP 503"),
        (3, 200, True, ""),
    ]
    assert all(a["duration_ms"] >= 0 and a["attempted_at"].endswith("+00:00") for a in shown["attempts"])


def test_retries_stop_after_the_last_delay(receiver, endpoint_for, tasks_here, settings):
    settings.WEBHOOKS_RETRY_DELAYS = [1, 1]
    endpoint_for(receiver, events=["run.failed"])
    receiver.default_status = 500
    webhook_event_emit(event="run.failed", data={})
    while retries_due_now():
        pass
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, len(receiver.received)) == ("failed", 3, 3)
    assert WebhookEndpoint.objects.get().is_active  # 3 failures: below the limit


def test_an_endpoint_is_disabled_after_failures_in_a_row(receiver, endpoint_for, tasks_here, settings, admin_client):
    settings.WEBHOOKS_DISABLE_AFTER_FAILURES = 4
    endpoint = endpoint_for(receiver, events=["run.failed", "run.succeeded"])
    receiver.default_status = 500
    webhook_event_emit(event="run.failed", data={})
    webhook_event_emit(event="run.succeeded", data={})
    retries_due_now()  # attempts 3 and 4: the fourth failure in a row disables it
    endpoint.refresh_from_db()
    assert (endpoint.is_active, endpoint.failure_streak) == (False, 4)
    assert endpoint.disabled_reason == "4 échecs consécutifs (dernier : HTTP 500)"
    assert sorted(WebhookDelivery.objects.values_list("status", "attempts")) == [("failed", 2), ("failed", 2)]
    assert retries_due_now() == 2  # the retries planned before it was disabled find nothing to do
    assert len(receiver.received) == 4
    # A disabled endpoint gets nothing more.
    assert webhook_event_emit(event="run.failed", data={}) is None
    assert len(receiver.received) == 4
    # The admin shows it disabled.
    page = admin_client.get("/admin/webhooks/webhookendpoint/").content.decode()
    assert "désactivé</strong> — 4 échecs consécutifs (dernier : HTTP 500)" in page


def test_a_success_resets_the_failure_streak(receiver, endpoint_for, tasks_here, settings):
    settings.WEBHOOKS_DISABLE_AFTER_FAILURES = 2
    endpoint = endpoint_for(receiver, events=["run.failed"])
    receiver.answer(500, 200, 500, 200)
    for _ in range(2):
        webhook_event_emit(event="run.failed", data={})
        retries_due_now()
    endpoint.refresh_from_db()
    assert (endpoint.is_active, endpoint.failure_streak, len(receiver.received)) == (True, 0, 4)


def test_a_redirect_is_not_followed(receiver, endpoint_for, tasks_here):
    endpoint_for(receiver, events=["run.failed"])
    receiver.answer((302, {"Location": "http://127.0.0.1:1/elsewhere"}))
    webhook_event_emit(event="run.failed", data={})
    assert [r.path for r in receiver.received] == ["/hooks/soulverse"]
    attempt = WebhookAttempt.objects.get()
    assert (attempt.status_code, attempt.succeeded, attempt.error) == (
        302,
        False,
        "redirect to http://127.0.0.1:1/elsewhere not followed",
    )


def test_a_slow_receiver_times_out(receiver, endpoint_for, tasks_here, settings):
    settings.WEBHOOKS_TIMEOUT_SECONDS = 0.5
    endpoint_for(receiver, events=["run.failed"])
    receiver.delay = 2
    webhook_event_emit(event="run.failed", data={})
    attempt = WebhookAttempt.objects.get()
    assert (attempt.status_code, attempt.succeeded, attempt.error) == (None, False, "timeout after 0.5 s")
    assert 400 <= attempt.duration_ms < 1900


def test_the_address_guard_applies_at_delivery_time_too(receiver, endpoint_for, tasks_here, settings):
    endpoint_for(receiver, events=["run.failed"])
    settings.WEBHOOKS_ALLOWED_PRIVATE_HOSTS = []  # e.g. the setting changed, or DNS now answers 127.0.0.1
    webhook_event_emit(event="run.failed", data={})
    assert receiver.received == []
    attempt = WebhookAttempt.objects.get()
    assert attempt.error == "refused: 127.0.0.1 resolves to 127.0.0.1, a private, loopback or link-local address"


def test_no_endpoint_no_message(db):
    assert webhook_event_emit(event="run.started", data={}) is None
    assert WebhookMessage.objects.count() == 0


def test_a_repeated_attempt_task_sends_nothing_twice(receiver, endpoint_for, tasks_here):
    from webhooks.services import webhook_delivery_attempt

    endpoint_for(receiver, events=["run.failed"])
    webhook_event_emit(event="run.failed", data={})
    delivery = WebhookDelivery.objects.get()
    assert webhook_delivery_attempt(delivery_id=delivery.pk) is None
    assert len(receiver.received) == 1


def test_the_body_is_the_payload_as_json(receiver, endpoint_for, tasks_here):
    endpoint_for(receiver, events=["schedule.updated"])
    message = webhook_event_emit(event="schedule.updated", data={"job_id": "cache_cleanup", "note": "é"})
    payload = json.loads(receiver.wait_for(1)[0].body)
    assert payload == {
        "type": "schedule.updated",
        "timestamp": payload["timestamp"],
        "data": {"job_id": "cache_cleanup", "note": "é"},
    }
    sent_at = datetime.datetime.fromisoformat(payload["timestamp"])
    assert sent_at.utcoffset() == datetime.timedelta(0)
    assert abs((sent_at - message.created_at).total_seconds()) < 1


def test_logs_hold_no_url_secret_or_body(receiver, tasks_here, caplog):
    from webhooks.services import webhook_endpoint_create

    endpoint = webhook_endpoint_create(url=receiver.url + "?token=s3cr3t-in-url", events=["run.failed"])
    receiver.secret = endpoint.secret
    receiver.answer((302, {"Location": "http://127.0.0.1:1/?token=s3cr3t-in-url"}), 200)
    with caplog.at_level("INFO"):
        webhook_event_emit(event="run.failed", data={"marker": "payload-marker"})
        retries_due_now()
    assert [r.verified for r in receiver.received] == [True, True]
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "event=webhook_attempt_failed" in logged and "error=http_302" in logged
    assert "event=webhook_delivered" in logged
    for secret in ("s3cr3t-in-url", endpoint.secret, endpoint.secret[6:], "payload-marker", str(endpoint.pk)):
        assert secret not in logged
