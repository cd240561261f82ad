"""Webhooks through a real qcluster: the worker delivers (the request that emitted never
waits), and a 500 is retried by the cluster's own scheduler."""

import pytest

from scheduler.models import JobRun
from scheduler.tests.clusters import qcluster_running, wait_until
from soulverse.testing.webhook_receiver import WebhookReceiver
from users.tests.factories import UserFactory, token_key_for
from webhooks.models import WebhookDelivery

pytestmark = [pytest.mark.cluster, pytest.mark.django_db(transaction=True)]


def test_the_cluster_delivers_signed_events_and_retries_after_500(tmp_path, live_server, schedules, staff_user):
    UserFactory.create_batch(5)
    from rest_framework.test import APIClient

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token_key_for(staff_user)}")
    env = {"WEBHOOKS_ALLOWED_PRIVATE_HOSTS": "127.0.0.1", "WEBHOOKS_RETRY_DELAYS": "1,1"}
    with WebhookReceiver() as receiver, qcluster_running(tmp_path, env):
        created = api.post(
            "/api/v1/scheduler/webhooks",
            {"url": receiver.url, "events": ["run.started", "run.succeeded", "scheduler.stopped"]},
            format="json",
        )
        assert created.status_code == 400  # this process does not allow loopback: refused
        from django.test import override_settings

        with override_settings(WEBHOOKS_ALLOWED_PRIVATE_HOSTS=["127.0.0.1"]):
            created = api.post(
                "/api/v1/scheduler/webhooks",
                {"url": receiver.url, "events": ["run.started", "run.succeeded", "scheduler.stopped"]},
                format="json",
            )
        assert created.status_code == 201
        receiver.secret = created.json()["secret"]
        receiver.answer(500)  # the first request fails: run.started is retried

        response = api.post("/api/v1/scheduler/trigger-daily-verses", {"wait": 60}, format="json")
        assert response.status_code == 200
        # Nothing was sent from this process: the worker sends.
        wait_until(lambda: len(receiver.received) >= 2, 30, "the first deliveries", tmp_path)
        assert api.post("/api/v1/scheduler/stop").status_code == 200
        # The retry of the 500 comes from the cluster's scheduler (about every 30 s).
        wait_until(lambda: len(receiver.received) >= 4, 75, "the retry", tmp_path)
    run = JobRun.objects.get()
    got = receiver.received
    assert all(r.verified for r in got), [r.error for r in got]
    first, retry = (r for r in got if r.payload["type"] == "run.started")
    assert first.headers["webhook-id"] == retry.headers["webhook-id"]
    assert sorted(r.payload["type"] for r in got) == [
        "run.started",
        "run.started",
        "run.succeeded",
        "scheduler.stopped",
    ]
    assert {r.payload["data"]["run"]["id"] for r in got if r.payload["type"].startswith("run.")} == {str(run.pk)}
    assert sorted(WebhookDelivery.objects.values_list("message__event", "status", "attempts")) == [
        ("run.started", "succeeded", 2),
        ("run.succeeded", "succeeded", 1),
        ("scheduler.stopped", "succeeded", 1),
    ]
