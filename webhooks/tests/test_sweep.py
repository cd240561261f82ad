"""Deliveries left pending without a task (an outage between recording a delivery and queuing
it, or before a failed attempt's retry was scheduled; a task the broker lost) are handed out
again by the watchdog pass of each cluster, once, with the same `webhook-id`; a local receiver
verifies each request with the `standardwebhooks` library."""

import datetime

import pytest
from django.conf import settings
from django_q.brokers import get_broker
from django_q.models import Schedule, Task

from scheduler.tests.clusters import qcluster_running, wait_until
from scheduler.tests.runs import tasks_in_process
from scheduler.watchdog import watchdog_pass
from webhooks.models import WebhookDelivery
from webhooks.services import ATTEMPT_TASK_FUNC, webhook_deliveries_sweep, webhook_event_emit

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _empty_queue():
    """No task of another test in the broker's queue (the Redis broker's outlives the database)."""
    get_broker().purge_queue()


def stranded(event: str = "scheduler.stopped"):
    """An event recorded for its endpoints whose attempt tasks were lost before any worker took
    them (the ORM broker's queue emptied, as an outage or a dead Redis broker leaves it)."""
    broker = get_broker()
    message = webhook_event_emit(event=event, data={"schedules": 4})
    assert broker.queue_size() == WebhookDelivery.objects.filter(message=message).count()
    broker.purge_queue()
    assert broker.queue_size() == 0
    return message


def time_passes(seconds: float) -> None:
    """Move the pending deliveries' due times `seconds` into the past."""
    for delivery in WebhookDelivery.objects.filter(status="pending"):
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            next_attempt_at=delivery.next_attempt_at - datetime.timedelta(seconds=seconds)
        )


def test_the_watchdog_pass_sends_a_delivery_whose_task_was_lost(receiver, endpoint_for):
    endpoint_for(receiver)
    message = stranded()
    before = list(WebhookDelivery.objects.values())
    with tasks_in_process():
        watchdog_pass()  # due only now: its task may still be on its way
    assert (receiver.received, list(WebhookDelivery.objects.values())) == ([], before)

    time_passes(settings.WEBHOOKS_SWEEP_AFTER_SECONDS + 1)
    with tasks_in_process():
        watchdog_pass()
        watchdog_pass()  # delivered: nothing more to send
    got = receiver.received
    assert [(r.verified, r.error, r.payload["type"]) for r in got] == [(True, "", "scheduler.stopped")]
    assert got[0].headers["webhook-id"] == message.pk
    assert got[0].body == message.body.encode()
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("succeeded", 1, None)
    assert list(delivery.attempt_log.values_list("number", "status_code", "succeeded")) == [(1, 200, True)]


def test_a_retry_never_scheduled_is_sent_with_the_same_webhook_id(receiver, endpoint_for):
    endpoint_for(receiver, events=["run.failed"])
    receiver.answer(500)
    with tasks_in_process():
        message = webhook_event_emit(event="run.failed", data={"run": {"id": "x"}})
    assert len(receiver.received) == 1
    # The outage came before the retry's one-off schedule was written.
    Schedule.objects.filter(name__startswith="webhook:").delete()
    time_passes(settings.WEBHOOKS_RETRY_DELAYS[0] + settings.WEBHOOKS_SWEEP_AFTER_SECONDS + 1)
    with tasks_in_process():
        watchdog_pass()
    got = receiver.received
    assert [(r.verified, r.headers["webhook-id"]) for r in got] == [(True, message.pk), (True, message.pk)]
    assert got[0].body == got[1].body
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("succeeded", 2)
    assert list(delivery.attempt_log.values_list("number", "status_code", "succeeded")) == [
        (1, 500, False),
        (2, 200, True),
    ]


def test_several_sweeps_hand_a_delivery_out_once(receiver, endpoint_for):
    endpoint_for(receiver)
    stranded()
    waiting = WebhookDelivery.objects.get()
    time_passes(settings.WEBHOOKS_SWEEP_AFTER_SECONDS + 1)
    broker = get_broker()
    assert webhook_deliveries_sweep() == 1
    assert webhook_deliveries_sweep() == 0  # another cluster's pass: already handed out
    assert broker.queue_size() == 1
    handed_out = WebhookDelivery.objects.get()
    assert (handed_out.status, handed_out.attempts) == ("pending", 0)
    assert handed_out.next_attempt_at > waiting.next_attempt_at
    # Still pending a whole threshold later (that task was lost too): handed out again.
    time_passes(settings.WEBHOOKS_SWEEP_AFTER_SECONDS + 1)
    assert webhook_deliveries_sweep() == 1
    assert broker.queue_size() == 2
    assert receiver.received == []  # the sweep queues; a worker sends


def test_a_delivery_waiting_for_its_retry_is_left_alone(receiver, endpoint_for):
    endpoint_for(receiver, events=["run.failed"])
    receiver.answer(500)
    with tasks_in_process():
        webhook_event_emit(event="run.failed", data={})
    time_passes(settings.WEBHOOKS_RETRY_DELAYS[0])  # due now: its schedule fires at the next pass
    before = list(WebhookDelivery.objects.values())
    assert webhook_deliveries_sweep() == 0
    assert (len(receiver.received), list(WebhookDelivery.objects.values())) == (1, before)
    assert get_broker().queue_size() == 0


@pytest.mark.cluster
def test_two_clusters_send_a_stranded_delivery_once(tmp_path, receiver, endpoint_for):
    endpoint_for(receiver)
    message = stranded()
    time_passes(600)  # the outage lasted ten minutes
    env = {"WEBHOOKS_ALLOWED_PRIVATE_HOSTS": "127.0.0.1", "SCHEDULER_WATCHDOG_SECONDS": "1"}
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with qcluster_running(tmp_path / "a", env), qcluster_running(tmp_path / "b", env):
        wait_until(
            lambda: WebhookDelivery.objects.filter(status="succeeded").exists(), 60, "the delivery", tmp_path / "a"
        )
        wait_until(
            lambda: get_broker().queue_size() == 0 and Task.objects.exists(), 30, "the task's result", tmp_path / "a"
        )
    got = receiver.received
    assert [(r.verified, r.headers["webhook-id"]) for r in got] == [(True, message.pk)]
    attempts = Task.objects.filter(func=ATTEMPT_TASK_FUNC)
    assert [(task.success, task.result) for task in attempts] == [
        (True, {"attempt": 1, "status_code": 200, "succeeded": True})
    ]
    logs = (tmp_path / "a" / "qcluster.log").read_text() + (tmp_path / "b" / "qcluster.log").read_text()
    assert logs.count("event=webhook_delivery_requeued") == 1
