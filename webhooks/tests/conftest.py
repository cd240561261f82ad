import pytest

from soulverse.testing.webhook_receiver import WebhookReceiver


@pytest.fixture
def loopback_allowed(settings):
    """The tests' receivers listen on 127.0.0.1, which only this setting lets through."""
    settings.WEBHOOKS_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1"]


@pytest.fixture
def receiver(loopback_allowed):
    with WebhookReceiver() as server:
        yield server


@pytest.fixture
def tasks_here():
    """django-q2 tasks run as they are enqueued, on_commit callbacks at once."""
    from scheduler.tests.runs import tasks_in_process

    with tasks_in_process():
        yield


@pytest.fixture
def endpoint_for(db):
    """An endpoint (through the service) for a receiver, subscribed to `events`; the receiver learns its secret."""
    from webhooks.events import EVENTS
    from webhooks.services import webhook_endpoint_create

    def make(receiver, events=EVENTS):
        endpoint = webhook_endpoint_create(url=receiver.url, events=list(events))
        receiver.secret = endpoint.secret
        return endpoint

    return make
