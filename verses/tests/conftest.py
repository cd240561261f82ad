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
