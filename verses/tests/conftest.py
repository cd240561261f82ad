"""Fixtures for the verses tests."""

from collections.abc import Iterator

import pytest

from soulverse.testing.fcm_stub import FcmStub
from soulverse.testing.gemini_stub import GeminiStub


@pytest.fixture
def gemini_stub() -> Iterator[GeminiStub]:
    """A started local Gemini stub, stopped after the test."""
    with GeminiStub() as stub:
        yield stub


@pytest.fixture
def no_ai(settings):
    """The AI off (no API key), whatever the environment says."""
    from verses.ai.gemini import provider_get

    settings.GEMINI_API_KEY = ""
    provider_get.cache_clear()
    yield
    provider_get.cache_clear()


class FakeClock:
    """A monotonic clock that only moves when ``sleep`` is called (thread-safe); records the sleeps."""

    def __init__(self) -> None:
        import threading

        self.now = 1000.0
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(round(seconds, 3))
            self.now += seconds


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fcm_stub(settings, tmp_path) -> Iterator[FcmStub]:
    """A local FCM stub that firebase-admin reaches through a service-account file (whose
    token_uri is the stub) and FCM_BASE_URL; quick back-off for the retries."""
    from verses.push.fcm import fcm_reset

    with FcmStub() as stub:
        settings.FCM_CREDENTIALS_FILE = str(stub.credentials_file(tmp_path))
        settings.FCM_BASE_URL = stub.base_url
        settings.FCM_BACKOFF_SECONDS = 0.01
        settings.FCM_BACKOFF_MAX_SECONDS = 0.05
        fcm_reset()
        yield stub
    fcm_reset()


@pytest.fixture
def fcm_stub_tls(settings, tmp_path) -> Iterator[FcmStub]:
    """The same over HTTPS (HTTP/2 or HTTP/1.1 by ALPN), its test authority trusted through
    FCM_CA_BUNDLE, as FCM is reached in production (HTTPS only)."""
    from verses.push.fcm import fcm_reset

    with FcmStub(tls=True) as stub:
        settings.FCM_CREDENTIALS_FILE = str(stub.credentials_file(tmp_path))
        settings.FCM_BASE_URL = stub.base_url
        settings.FCM_CA_BUNDLE = str(stub.ca_file)
        settings.FCM_BACKOFF_SECONDS = 0.01
        settings.FCM_BACKOFF_MAX_SECONDS = 0.05
        fcm_reset()
        yield stub
    fcm_reset()


@pytest.fixture
def push_tick(fcm_stub, no_ai):
    """Run `deliver_verses --at <instant>` (one tick as if the clock read it); returns the run's counts."""
    import io

    from django.core.management import call_command

    from scheduler.models import JobRun

    def tick(at, *, dry_run: bool = False) -> dict:
        call_command(
            "deliver_verses", "--at", at.isoformat(), *(["--dry-run"] if dry_run else []), stdout=io.StringIO()
        )
        return JobRun.objects.filter(job_id="deliver_verses").order_by("-started_at").first().counts

    return tick
