"""health and status: the AI's probe (a wrong key or model) and each language's edition."""

from unittest import mock

import pytest
from django.conf import settings
from django.utils import timezone

from verses.ai.gemini import provider_get
from verses.models import BibleVerse

BASE = "/api/v1/scheduler/"
pytestmark = pytest.mark.django_db


@pytest.fixture
def live_cluster():
    heartbeat = mock.Mock(status="Idle", timestamp=timezone.now())
    with mock.patch("scheduler.selectors.Stat.get_all", return_value=[heartbeat]):
        yield


@pytest.fixture
def ai_on(settings, gemini_stub):
    settings.GEMINI_API_KEY = "test-key-health"
    settings.GEMINI_BASE_URL = gemini_stub.base_url
    settings.GEMINI_TIMEOUT_SECONDS = 5.0
    provider_get.cache_clear()
    yield gemini_stub
    provider_get.cache_clear()


@pytest.fixture
def lsg_row():
    BibleVerse.objects.create(edition="lsg1910", book=43, chapter=3, verse=16, text="Car Dieu a tant aimé le monde")


def test_with_the_ai_on_and_no_french_edition_health_is_degraded(viewer_client, schedules, live_cluster, ai_on):
    response = viewer_client.get(BASE + "health")

    body = response.json()
    assert (response.status_code, body["status"]) == (200, "degraded")
    assert body["checks"]["ai"] == {"status": "enabled", "model": settings.GEMINI_MODEL, "reason": None}
    assert body["checks"]["editions"] == {
        "status": "missing",
        "fr": {"edition": "lsg1910", "name": "Louis Segond 1910", "verses": 0, "status": "missing"},
        "en": {"edition": "web", "name": "World English Bible", "verses": 31102, "status": "ok"},
    }


def test_with_the_ai_on_and_both_editions_health_is_healthy(viewer_client, schedules, live_cluster, ai_on, lsg_row):
    body = viewer_client.get(BASE + "health").json()

    assert body["status"] == "ok"
    assert body["checks"]["editions"]["status"] == "ok"
    assert body["checks"]["editions"]["fr"]["verses"] == 1


def test_without_the_ai_a_missing_french_edition_is_not_degraded(viewer_client, schedules, live_cluster, no_ai):
    body = viewer_client.get(BASE + "health").json()

    assert body["status"] == "ok"
    assert body["checks"]["editions"]["status"] == "ok"
    assert body["checks"]["editions"]["fr"]["status"] == "missing"


@pytest.mark.parametrize(
    ("stub_key", "model", "reason"),
    [
        ("the-right-key", None, "auth"),  # the default model (settings.GEMINI_MODEL)
        (None, "gemini-2.5-flash", "model_not_found"),
    ],
    ids=["invalid-key", "retired-model"],
)
def test_a_wrong_key_or_model_is_misconfigured_in_health_and_status(
    viewer_client, staff_client, settings, schedules, live_cluster, ai_on, lsg_row, stub_key, model, reason
):
    ai_on.api_key = stub_key
    settings.GEMINI_MODEL = model = model or settings.GEMINI_MODEL

    health = viewer_client.get(BASE + "health").json()
    status = staff_client.get(BASE + "status").json()

    assert health["status"] == "degraded"
    assert health["checks"]["ai"] == {"status": "misconfigured", "model": model, "reason": reason}
    assert status["ai"] == {
        "enabled": True,
        "model": model,
        "base_url_overridden": True,
        "status": "misconfigured",
        "reason": reason,
    }
    assert status["editions"]["fr"]["verses"] == 1
    assert len(ai_on.probes) == 1  # the lookup is cached: one request for both answers
    assert ai_on.request_count == 0
    assert "test-key-health" not in str(health) + str(status)


# --- Switched off on purpose (AI_ENABLED / PUSH_ENABLED false) ---------------------------------


def test_the_ai_switched_off_asks_gemini_nothing_and_health_says_off_not_a_fault(
    viewer_client, schedules, live_cluster, ai_on, settings
):
    settings.AI_ENABLED = False  # the key and the stub are there: off is a choice
    provider_get.cache_clear()

    health = viewer_client.get(BASE + "health").json()
    status = viewer_client.get(BASE + "status").json()

    assert provider_get() is None
    assert health["status"] == "ok"  # off, and so no edition is needed to check its answers
    assert health["checks"]["ai"] == {"status": "off", "model": settings.GEMINI_MODEL, "reason": None}
    assert status["ai"] == {
        "enabled": False,
        "model": settings.GEMINI_MODEL,
        "base_url_overridden": True,
        "status": "off",
        "reason": None,
    }
    assert (ai_on.calls, ai_on.probes) == ([], [])


def test_push_switched_off_sends_nothing_and_health_says_off_not_a_fault(
    viewer_client, schedules, live_cluster, fcm_stub, no_ai, settings
):
    from scheduler.models import JobRun
    from scheduler.tests.runs import job_run_through_tasks
    from users.tests.factories import UserFactory
    from verses.push.fcm import fcm_reset

    settings.PUSH_ENABLED = False  # the credentials and the stub are there: off is a choice
    fcm_reset()
    UserFactory(notify_at="00:00")

    run = job_run_through_tasks("deliver_verses")
    health = viewer_client.get(BASE + "health").json()
    status = viewer_client.get(BASE + "status").json()

    assert (run.status, run.counts["push_enabled"], run.counts["push_sent"]) == (JobRun.Status.SUCCEEDED, 0, 0)
    assert fcm_stub.delivered == [] and fcm_stub.token_requests == 0
    assert health["status"] == "ok"
    assert health["checks"]["push"]["status"] == "off"
    assert status["push"] == {"enabled": False, "status": "off", "dry_run": False}
