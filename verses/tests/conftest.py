"""Fixtures for the verses tests."""

from collections.abc import Iterator

import pytest

from verses.tests.fcm_stub import FcmStub
from verses.tests.gemini_stub import GeminiStub


@pytest.fixture
def gemini_stub() -> Iterator[GeminiStub]:
    """A started local Gemini stub, stopped after the test."""
    with GeminiStub() as stub:
        yield stub


@pytest.fixture
def no_ai(settings):
    """The AI off (no API key), whatever the environment says."""
    from verses.ai import provider_get

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
    from verses.fcm import fcm_reset

    with FcmStub() as stub:
        settings.FCM_CREDENTIALS_FILE = str(stub.credentials_file(tmp_path))
        settings.FCM_BASE_URL = stub.base_url
        settings.FCM_BACKOFF_SECONDS = 0.01
        settings.FCM_BACKOFF_MAX_SECONDS = 0.05
        fcm_reset()
        yield stub
    fcm_reset()


@pytest.fixture
def push_tick(fcm_stub, no_ai):
    """Run one delivery tick as if the clock read `at`, its chunks inline; returns the counts."""
    import datetime as dt

    from django.db import transaction

    from verses.jobs import deliver_verses_chunk
    from verses.push import push_tick_prepare

    def tick(at: "dt.datetime", *, dry_run: bool = False) -> dict:
        counts, chunks = push_tick_prepare(at=at, dry_run=dry_run)
        for chunk in chunks:
            with transaction.atomic():
                for key, value in deliver_verses_chunk(**chunk).items():
                    counts[key] = counts.get(key, 0) + value
        return counts

    return tick
