"""Issue 21, finding 2: a receiver that answers one byte per second. Before, the timeout applied to
each socket read: the attempt held its worker until Q_TIMEOUT (51 s measured with a 2 s setting),
the worker was killed before the attempt was recorded, so the endpoint was never disabled and the
sweep queued it again forever. Now the whole request has a wall-clock deadline, and an attempt
counts from the moment it starts."""

import os
import signal
import subprocess
import sys
import time

import pytest
from django.conf import settings

from scheduler.tests.clusters import database_url
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from webhooks.services import ATTEMPT_UNFINISHED, webhook_event_emit

DEADLINE = 2  # seconds: WEBHOOKS_TIMEOUT_SECONDS
DISABLE_AFTER = 2  # WEBHOOKS_DISABLE_AFTER_FAILURES of the attempts' processes


@pytest.mark.django_db
def test_a_dripping_receiver_is_cut_at_the_deadline(receiver, endpoint_for, tasks_here, settings):
    settings.WEBHOOKS_TIMEOUT_SECONDS = DEADLINE
    endpoint_for(receiver, events=["run.failed"])
    receiver.drip = 1.0  # a byte a second: 60 s for the whole answer
    webhook_event_emit(event="run.failed", data={})
    attempt = WebhookAttempt.objects.get()
    assert (attempt.number, attempt.status_code, attempt.succeeded, attempt.error) == (
        1,
        None,
        False,
        f"timeout after {DEADLINE} s",
    )
    # Cut at the deadline, from connecting to the last byte (the receiver had sent the status line
    # and more by then), not a second per byte later; the slack is for a loaded machine.
    assert DEADLINE * 1000 <= attempt.duration_ms < (DEADLINE + 1.5) * 1000
    assert len(receiver.held) == 1 and receiver.held[0] < DEADLINE + 1.5
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("pending", 1)  # retried later, as after a 500
    assert WebhookEndpoint.objects.get().failure_streak == 1


def _attempt_in_a_process(delivery_id: int) -> subprocess.Popen:
    """webhook_delivery_attempt in a process of its own, as a qcluster worker runs it, with a deadline
    far beyond the test's patience (as if its worker would be killed first)."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "DJANGO_SETTINGS_MODULE": "soulverse.settings_test",
        "WEBHOOKS_TIMEOUT_SECONDS": "600",
        "WEBHOOKS_ALLOWED_PRIVATE_HOSTS": "127.0.0.1",
        "WEBHOOKS_DISABLE_AFTER_FAILURES": str(DISABLE_AFTER),
    }
    code = (
        "import django; django.setup(); from webhooks.services import webhook_delivery_attempt; "
        f"webhook_delivery_attempt(delivery_id={delivery_id})"
    )
    return subprocess.Popen([sys.executable, "-c", code], cwd=settings.BASE_DIR, env=env, start_new_session=True)


def _kill_once_held(process: subprocess.Popen, receiver, requests: int) -> None:
    deadline = time.monotonic() + 60
    while len(receiver.received) < requests:
        assert process.poll() is None, "the attempt's process ended before reaching the receiver"
        assert time.monotonic() < deadline, "the attempt never reached the receiver"
        time.sleep(0.1)
    os.killpg(process.pid, signal.SIGKILL)  # as django-q2 kills a worker past Q_TIMEOUT
    process.wait(timeout=30)


@pytest.mark.django_db(transaction=True)
def test_attempts_killed_mid_request_count_and_disable_the_endpoint(receiver, endpoint_for):
    endpoint = endpoint_for(receiver, events=["run.failed"])
    receiver.drip = 1.0
    message = webhook_event_emit(event="run.failed", data={})  # queued, not attempted here
    delivery = WebhookDelivery.objects.get(message=message)
    for number in (1, 2):
        WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=message.created_at)  # due
        _kill_once_held(_attempt_in_a_process(delivery.pk), receiver, requests=number)
        attempt = WebhookAttempt.objects.get(delivery=delivery, number=number)
        assert (attempt.succeeded, attempt.status_code, attempt.error) == (False, None, ATTEMPT_UNFINISHED)
        assert WebhookEndpoint.objects.get(pk=endpoint.pk).failure_streak == number
        assert WebhookDelivery.objects.get(pk=delivery.pk).attempts == number

    # The next hand-out (the sweep's) finds the streak spent: the endpoint is disabled, nothing is sent.
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=message.created_at)
    done = _attempt_in_a_process(delivery.pk)
    try:
        assert done.wait(timeout=60) == 0
    finally:
        if done.poll() is None:
            os.killpg(done.pid, signal.SIGKILL)
    endpoint.refresh_from_db()
    assert (endpoint.is_active, endpoint.failure_streak) == (False, 2)
    assert endpoint.disabled_reason.startswith("2 échecs consécutifs (dernier : inachevée")
    assert WebhookDelivery.objects.get(pk=delivery.pk).status == "failed"
    assert len(receiver.received) == 2
