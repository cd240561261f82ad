"""Fixtures for the verses tests."""

from collections.abc import Iterator

import pytest

from verses.tests.gemini_stub import GeminiStub


@pytest.fixture
def gemini_stub() -> Iterator[GeminiStub]:
    """A started local Gemini stub, stopped after the test."""
    with GeminiStub() as stub:
        yield stub
