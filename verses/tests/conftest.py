"""Fixtures for the verses tests."""

from collections.abc import Iterator

import pytest

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
