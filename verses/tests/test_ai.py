"""The Gemini provider with the real google-genai client against a local stub server."""

from __future__ import annotations

import logging
import pickle
import socket
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from verses.ai import AIError, AIProposal, GeminiProvider, provider_get, provider_state
from verses.tests.gemini_stub import GeminiStub, StubReply

API_KEY = "test-key-AIzaSyStub0123456789"
MODEL = "gemini-stub-model"

GOOD_FR = {
    "book": "PSA",
    "chapter": 23,
    "verse_start": 1,
    "verse_end": 3,
    "opening_words": "L'Éternel est mon berger",
    "reflection": "Dieu prend soin de toi aujourd'hui : repose-toi dans sa paix.",
}

ProviderFactory = Callable[..., GeminiProvider]


@pytest.fixture(autouse=True)
def _fresh_provider_cache() -> Iterator[None]:
    """Each test builds provider_get()'s provider from its own settings; close it afterwards."""
    provider_get.cache_clear()
    yield
    cached = provider_get() if provider_get.cache_info().currsize else None  # no new provider
    if cached is not None:
        cached.close()
    provider_get.cache_clear()


@pytest.fixture
def make_provider(gemini_stub: GeminiStub) -> Iterator[ProviderFactory]:
    """Build providers aimed at the stub, with tiny retry delays; closed after the test."""
    providers: list[GeminiProvider] = []

    def make(**overrides: object) -> GeminiProvider:
        options: dict[str, object] = {
            "api_key": API_KEY,
            "model": MODEL,
            "base_url": gemini_stub.base_url,
            "timeout_seconds": 5.0,
            "retries": 2,
            "retry_initial_delay": 0.01,
            "retry_max_delay": 0.02,
            "retry_jitter": 0.0,
        }
        options.update(overrides)
        provider = GeminiProvider(**options)  # type: ignore[arg-type]
        providers.append(provider)
        return provider

    yield make
    for provider in providers:
        provider.close()


def _propose(provider: GeminiProvider, language: str = "fr") -> AIProposal:
    return provider.propose(mood="anxious", language=language, avoid=["PSA 23:1-3", "JHN 14:27"])


def _error_of(provider: GeminiProvider) -> AIError:
    with pytest.raises(AIError) as caught:
        _propose(provider)
    return caught.value


# --- a good answer ------------------------------------------------------------------------------


def test_good_answer_gives_a_proposal(gemini_stub: GeminiStub, make_provider: ProviderFactory) -> None:
    gemini_stub.enqueue(StubReply.json_text(GOOD_FR))

    proposal = _propose(make_provider())

    assert proposal == AIProposal(**GOOD_FR)
    assert gemini_stub.request_count == 1


def test_request_carries_model_key_schema_and_prompt(
    gemini_stub: GeminiStub, make_provider: ProviderFactory
) -> None:
    gemini_stub.enqueue(StubReply.json_text(GOOD_FR))

    _propose(make_provider())

    (call,) = gemini_stub.calls
    assert call.model == MODEL
    assert call.path.endswith(f"/models/{MODEL}:generateContent")
    assert call.headers["x-goog-api-key"] == API_KEY
    assert API_KEY not in call.path
    config = call.body["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    assert set(config["responseSchema"]["required"]) == set(GOOD_FR)
    prompt = call.prompt_text()
    assert "anxious" in prompt
    assert "French" in prompt and "Louis Segond 1910" in prompt
    assert "PSA 23:1-3" in prompt and "JHN 14:27" in prompt


def test_english_prompt_names_the_world_english_bible(
    gemini_stub: GeminiStub, make_provider: ProviderFactory
) -> None:
    _propose(make_provider(), language="en")

    prompt = gemini_stub.calls[0].prompt_text()
    assert "English" in prompt and "World English Bible" in prompt
    assert "Louis Segond" not in prompt


def test_book_given_as_a_number_is_kept_as_text(gemini_stub: GeminiStub, make_provider: ProviderFactory) -> None:
    gemini_stub.enqueue(StubReply.json_text({**GOOD_FR, "book": 19}))

    assert _propose(make_provider()).book == "19"


# --- HTTP errors and retries --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "kind", "requests_seen"),
    [
        (429, "rate_limit", 3),
        (500, "server_error", 3),
        (503, "server_error", 3),
        (400, "client_error", 1),
        (403, "client_error", 1),
    ],
)
def test_http_errors_map_to_kinds(
    gemini_stub: GeminiStub, make_provider: ProviderFactory, status: int, kind: str, requests_seen: int
) -> None:
    # The server message even echoes the key: the AIError must not.
    gemini_stub.respond(lambda body: StubReply.error(status, f"Problem with key {API_KEY}."))

    error = _error_of(make_provider(retries=2))

    assert error.kind == kind
    assert API_KEY not in str(error) and API_KEY not in repr(error)
    assert str(status) in str(error)
    assert gemini_stub.request_count == requests_seen  # 429 and 5xx retried, other 4xx not


def test_persistent_503_is_tried_retries_plus_one_times(
    gemini_stub: GeminiStub, make_provider: ProviderFactory
) -> None:
    gemini_stub.respond(lambda body: StubReply.error(503))

    assert _error_of(make_provider(retries=2)).kind == "server_error"
    assert gemini_stub.request_count == 3


def test_503_then_good_answer_succeeds(gemini_stub: GeminiStub, make_provider: ProviderFactory) -> None:
    gemini_stub.enqueue(StubReply.error(503), StubReply.json_text(GOOD_FR))

    assert _propose(make_provider(retries=2)) == AIProposal(**GOOD_FR)
    assert gemini_stub.request_count == 2


def test_no_retries_means_one_request(gemini_stub: GeminiStub, make_provider: ProviderFactory) -> None:
    gemini_stub.respond(lambda body: StubReply.error(503))

    assert _error_of(make_provider(retries=0)).kind == "server_error"
    assert gemini_stub.request_count == 1


# --- timeouts and network errors ---------------------------------------------------------------


def test_slow_answer_is_a_timeout(gemini_stub: GeminiStub, make_provider: ProviderFactory) -> None:
    gemini_stub.respond(lambda body: StubReply.json_text(GOOD_FR, delay=2.0))
    provider = make_provider(timeout_seconds=0.5, retries=1)

    started = time.monotonic()
    error = _error_of(provider)
    elapsed = time.monotonic() - started

    assert error.kind == "timeout"
    assert elapsed < 5.0
    assert gemini_stub.request_count == 2  # the SDK retries timeouts too


def test_refused_connection_is_a_server_error(make_provider: ProviderFactory) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]

    error = _error_of(make_provider(base_url=f"http://127.0.0.1:{closed_port}", retries=1))

    assert error.kind == "server_error"
    assert API_KEY not in str(error)


# --- unusable answers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reply",
    [
        pytest.param(StubReply.text("Psaume 23 : l'Éternel est mon berger."), id="not-json"),
        pytest.param(StubReply.json_text({k: v for k, v in GOOD_FR.items() if k != "reflection"}), id="missing-field"),
        pytest.param(StubReply.json_text({**GOOD_FR, "chapter": "twenty-three"}), id="wrong-type"),
        pytest.param(StubReply.json_text({**GOOD_FR, "verse_start": 0}), id="verse-zero"),
        pytest.param(StubReply.json_text([GOOD_FR]), id="json-list"),
        pytest.param(StubReply.text(""), id="empty-text"),
        pytest.param(StubReply.no_candidates(), id="no-candidates"),
        pytest.param(StubReply.no_candidates(block_reason="SAFETY"), id="prompt-blocked"),
        pytest.param(StubReply.text("", finish_reason="SAFETY"), id="answer-blocked"),
    ],
)
def test_unusable_answers_are_invalid_output(
    gemini_stub: GeminiStub, make_provider: ProviderFactory, reply: StubReply
) -> None:
    gemini_stub.enqueue(reply)

    assert _error_of(make_provider()).kind == "invalid_output"
    assert gemini_stub.request_count == 1  # a 200 answer is never retried


def test_ai_error_survives_pickling() -> None:
    error = pickle.loads(pickle.dumps(AIError("rate_limit", "Gemini HTTP 429")))

    assert (error.kind, error.message) == ("rate_limit", "Gemini HTTP 429")


# --- the stub itself ----------------------------------------------------------------------------


def test_stub_queue_falls_back_to_respond(gemini_stub: GeminiStub, make_provider: ProviderFactory) -> None:
    gemini_stub.respond(lambda body: StubReply.json_text({**GOOD_FR, "chapter": 91}))
    gemini_stub.enqueue(StubReply.json_text(GOOD_FR))
    provider = make_provider()

    chapters = [_propose(provider).chapter for _ in range(3)]

    assert chapters == [23, 91, 91]
    assert len(gemini_stub.requests) == 3


def test_stub_latency_applies_to_concurrent_requests(
    gemini_stub: GeminiStub, make_provider: ProviderFactory
) -> None:
    gemini_stub.latency = 0.3
    provider = make_provider()

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=4) as pool:
        proposals = list(pool.map(lambda _: _propose(provider), range(4)))
    elapsed = time.monotonic() - started

    assert len(proposals) == 4 and gemini_stub.request_count == 4
    assert 0.3 <= elapsed < 1.2  # each waited the latency, side by side rather than one after another


# --- provider from settings ---------------------------------------------------------------------


def test_provider_get_without_key_is_none_and_warns_once(settings, caplog: pytest.LogCaptureFixture) -> None:
    settings.GEMINI_API_KEY = ""
    caplog.set_level(logging.WARNING, logger="verses.ai")

    assert provider_get() is None
    assert provider_get() is None

    warnings = [record.getMessage() for record in caplog.records if record.name == "verses.ai"]
    assert warnings == ["event=ai_disabled reason=no_api_key"]
    assert provider_state() == {"enabled": False, "model": settings.GEMINI_MODEL, "base_url_overridden": False}


def test_provider_get_with_key_aims_at_the_configured_server(settings, gemini_stub: GeminiStub) -> None:
    settings.GEMINI_API_KEY = API_KEY
    settings.GEMINI_MODEL = MODEL
    settings.GEMINI_BASE_URL = gemini_stub.base_url
    settings.GEMINI_TIMEOUT_SECONDS = 5.0
    settings.GEMINI_RETRIES = 0
    gemini_stub.enqueue(StubReply.json_text(GOOD_FR))

    provider = provider_get()

    assert provider is not None and provider_get() is provider
    assert (provider.model, provider.base_url) == (MODEL, gemini_stub.base_url)
    assert _propose(provider) == AIProposal(**GOOD_FR)
    assert gemini_stub.calls[0].model == MODEL
    state = provider_state()
    assert state == {"enabled": True, "model": MODEL, "base_url_overridden": True}
    assert API_KEY not in repr(state)
