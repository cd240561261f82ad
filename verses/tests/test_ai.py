"""The Gemini provider with the real google-genai client against a local stub server."""

from __future__ import annotations

import json
import logging
import pickle
import socket
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from soulverse.testing.gemini_stub import RETRY_INFO, GeminiStub, StubReply
from verses.ai.gemini import GeminiProvider, ProbeResult, provider_get, provider_probe, provider_state
from verses.ai.proposal import AIProposal
from verses.ai.run import FAILURE_KINDS, AIError, AIRun

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


def _propose(provider: GeminiProvider, language: str = "fr", run: AIRun | None = None) -> AIProposal:
    return provider.propose(mood="anxious", language=language, avoid=["PSA 23:1-3", "JHN 14:27"], run=run)


def _error_of(provider: GeminiProvider, run: AIRun | None = None) -> AIError:
    with pytest.raises(AIError) as caught:
        _propose(provider, run=run)
    assert caught.value.kind in FAILURE_KINDS  # never a kind docs/architecture.md does not explain
    return caught.value


# --- a good answer ------------------------------------------------------------------------------


def test_good_answer_gives_a_proposal(gemini_stub: GeminiStub, make_provider: ProviderFactory) -> None:
    gemini_stub.enqueue(StubReply.json_text(GOOD_FR))

    proposal = _propose(make_provider())

    assert proposal == AIProposal(**GOOD_FR)
    assert gemini_stub.request_count == 1


def test_request_carries_model_key_schema_and_prompt(gemini_stub: GeminiStub, make_provider: ProviderFactory) -> None:
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


def test_english_prompt_names_the_world_english_bible(gemini_stub: GeminiStub, make_provider: ProviderFactory) -> None:
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
        (504, "timeout", 3),
        (400, "bad_request", 1),
        (403, "auth", 1),
        (409, "bad_request", 1),
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


def test_refused_connection_is_a_connection_error_retried_like_a_timeout(make_provider: ProviderFactory) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    run = AIRun(budget_seconds=0)

    error = _error_of(make_provider(base_url=f"http://127.0.0.1:{closed_port}", retries=1), run=run)

    assert error.kind == "connection"
    assert run.calls == 2  # tried again
    assert API_KEY not in str(error)


def test_an_answer_broken_mid_body_is_a_connection_error_and_retried(
    gemini_stub: GeminiStub, make_provider: ProviderFactory
) -> None:
    # The SDK does not retry ReadError/RemoteProtocolError; the provider does.
    gemini_stub.enqueue(StubReply.broken(), StubReply.json_text(GOOD_FR))

    assert _propose(make_provider(retries=1)) == AIProposal(**GOOD_FR)
    assert gemini_stub.request_count == 2

    gemini_stub.respond(lambda body: StubReply.broken())
    assert _error_of(make_provider(retries=1)).kind == "connection"
    assert gemini_stub.request_count == 4


def test_an_undecodable_body_or_a_redirect_loop_is_a_server_error_not_an_escaped_exception(
    gemini_stub: GeminiStub, make_provider: ProviderFactory
) -> None:
    gemini_stub.respond(lambda body: StubReply.undecodable())  # the SDK lets DecodingError escape
    assert _error_of(make_provider(retries=1)).kind == "server_error"
    assert gemini_stub.request_count == 2

    gemini_stub.reset()
    loop = StubReply.redirect_loop(f"/v1beta/models/{MODEL}:generateContent")
    gemini_stub.respond(lambda body: loop)  # and TooManyRedirects
    assert _error_of(make_provider(retries=0)).kind == "server_error"
    assert gemini_stub.request_count > 1


def test_an_html_502_is_a_server_error_and_retried(gemini_stub: GeminiStub, make_provider: ProviderFactory) -> None:
    gemini_stub.respond(lambda body: StubReply.html(502))

    error = _error_of(make_provider(retries=2))

    assert error.kind == "server_error"
    assert "502" in str(error)
    assert gemini_stub.request_count == 3


# --- unusable answers ---------------------------------------------------------------------------

_NOT_JSON = "Psaume 23 : l'Éternel est mon berger."


@pytest.mark.parametrize(
    ("reply", "kind", "requests_seen"),
    [
        pytest.param(StubReply.text(_NOT_JSON), "bad_json", 2, id="not-json"),
        pytest.param(StubReply.text("```json\n" + json.dumps(GOOD_FR) + "\n```"), "bad_json", 2, id="fenced-json"),
        pytest.param(
            StubReply.json_text({k: v for k, v in GOOD_FR.items() if k != "reflection"}),
            "bad_json",
            2,
            id="missing-field",
        ),
        pytest.param(StubReply.json_text({**GOOD_FR, "chapter": "twenty-three"}), "bad_json", 2, id="wrong-type"),
        pytest.param(StubReply.json_text({**GOOD_FR, "verse_start": 0}), "bad_json", 2, id="verse-zero"),
        pytest.param(StubReply.json_text([GOOD_FR]), "bad_json", 2, id="json-list"),
        pytest.param(StubReply.text(""), "empty", 2, id="empty-text"),
        pytest.param(StubReply.finished("STOP"), "empty", 2, id="stop-without-parts"),
        pytest.param(StubReply.no_candidates(), "empty", 2, id="no-candidates"),
        pytest.param(StubReply.no_candidates(block_reason="SAFETY"), "blocked_prompt", 1, id="prompt-blocked"),
        pytest.param(StubReply.no_candidates(block_reason="OTHER"), "blocked_prompt", 1, id="prompt-blocked-other"),
        pytest.param(StubReply.finished("SAFETY"), "safety", 1, id="answer-blocked"),
        pytest.param(StubReply.finished("PROHIBITED_CONTENT"), "safety", 1, id="prohibited-content"),
        pytest.param(StubReply.finished("RECITATION", text='{"book": "PSA", "chap'), "recitation", 2, id="recitation"),
        pytest.param(StubReply.finished("MAX_TOKENS", text='{"book": "PSA"'), "max_tokens", 2, id="max-tokens"),
        pytest.param(StubReply.finished("LANGUAGE"), "finish_other", 1, id="finish-language"),
    ],
)
def test_unusable_answers_are_counted_by_kind_and_retried_once_when_that_helps(
    gemini_stub: GeminiStub, make_provider: ProviderFactory, reply: StubReply, kind: str, requests_seen: int
) -> None:
    gemini_stub.respond(lambda body: reply)

    assert _error_of(make_provider()).kind == kind
    assert gemini_stub.request_count == requests_seen  # one more try for empty/recitation/max_tokens/bad_json


@pytest.mark.parametrize(
    ("first", "hint"),
    [
        (StubReply.finished("RECITATION"), "stopped for reciting a source"),
        (StubReply.finished("MAX_TOKENS"), "was cut off"),
        (StubReply.finished("STOP"), "was empty"),
        (StubReply.text(_NOT_JSON), "was not the JSON object asked for (answer: Invalid JSON"),
    ],
    ids=["recitation", "max-tokens", "empty", "bad-json"],
)
def test_the_second_attempt_says_why_and_its_good_answer_is_used(
    gemini_stub: GeminiStub, make_provider: ProviderFactory, first: StubReply, hint: str
) -> None:
    gemini_stub.enqueue(first, StubReply.json_text(GOOD_FR))

    assert _propose(make_provider()) == AIProposal(**GOOD_FR)

    first_prompt, second_prompt = (call.prompt_text() for call in gemini_stub.calls)
    assert hint not in first_prompt
    assert second_prompt.startswith(first_prompt) and hint in second_prompt


# --- key, model, quota: the circuit breaker -----------------------------------------------------


def test_a_wrong_key_is_auth_and_stops_the_runs_calls(gemini_stub: GeminiStub, make_provider: ProviderFactory) -> None:
    gemini_stub.api_key = "the-right-key"
    provider = make_provider()
    run = AIRun(budget_seconds=120)

    error = _error_of(provider, run=run)

    assert error.kind == "auth"
    assert "API key not valid" in error.message and API_KEY not in str(error)
    assert gemini_stub.request_count == 1
    assert _error_of(provider, run=run).kind == "auth"  # no second request
    assert gemini_stub.request_count == 1 and run.calls == 1


def test_an_unknown_model_is_model_not_found_and_stops_the_runs_calls(
    gemini_stub: GeminiStub, make_provider: ProviderFactory
) -> None:
    provider = make_provider(model="gemini-2.5-flash")  # shut down: the API answers 404
    run = AIRun(budget_seconds=120)

    assert _error_of(provider, run=run).kind == "model_not_found"
    assert _error_of(provider, run=run).kind == "model_not_found"
    assert gemini_stub.request_count == 1
    assert gemini_stub.calls[0].model == "gemini-2.5-flash"


def test_a_daily_quota_429_is_quota_exhausted_one_request_then_none(
    gemini_stub: GeminiStub, make_provider: ProviderFactory, fake_clock
) -> None:
    gemini_stub.respond(lambda body: StubReply.rate_limited("52s", daily=True))
    provider = make_provider(retries=2)
    run = AIRun(budget_seconds=120, clock=fake_clock, sleep=fake_clock.sleep)

    assert _error_of(provider, run=run).kind == "quota_exhausted"
    assert _error_of(provider, run=run).kind == "quota_exhausted"
    assert gemini_stub.request_count == 1 and fake_clock.sleeps == []


# --- 429 with RetryInfo -------------------------------------------------------------------------


def test_a_429_retry_delay_is_waited_before_the_next_request(
    gemini_stub: GeminiStub, make_provider: ProviderFactory, fake_clock
) -> None:
    seen_at: list[float] = []

    def responder(body: dict) -> StubReply:
        seen_at.append(fake_clock())
        return StubReply.rate_limited("30s") if len(seen_at) == 1 else StubReply.json_text(GOOD_FR)

    gemini_stub.respond(responder)
    run = AIRun(budget_seconds=120, clock=fake_clock, sleep=fake_clock.sleep)

    assert _propose(make_provider(retries=2), run=run) == AIProposal(**GOOD_FR)

    assert fake_clock.sleeps == [30.0]  # not the SDK's 1-2 s back-off
    assert seen_at == [1000.0, 1030.0]
    assert gemini_stub.calls[0].body == gemini_stub.calls[1].body


def test_a_429_delay_beyond_the_budget_fails_at_once_and_holds_back_later_calls(
    gemini_stub: GeminiStub, make_provider: ProviderFactory, fake_clock
) -> None:
    gemini_stub.respond(lambda body: StubReply.rate_limited("300s"))
    provider = make_provider(retries=2)
    run = AIRun(budget_seconds=120, clock=fake_clock, sleep=fake_clock.sleep)

    error = _error_of(provider, run=run)
    assert error.kind == "rate_limit" and "300s" in error.message
    assert _error_of(provider, run=run).kind == "rate_limit"  # the gate is past the budget: no request

    assert gemini_stub.request_count == 1 and fake_clock.sleeps == []


def test_a_429_retry_info_over_real_http_spaces_the_calls(
    gemini_stub: GeminiStub, make_provider: ProviderFactory
) -> None:
    gemini_stub.enqueue(StubReply.rate_limited("2s"), StubReply.rate_limited("2s"), StubReply.json_text(GOOD_FR))
    run = AIRun(budget_seconds=120)

    assert _propose(make_provider(retries=2), run=run) == AIProposal(**GOOD_FR)

    first, second, third = gemini_stub.call_times
    assert second - first >= 2.0 and third - second >= 2.0
    assert third - first < 8.0
    assert run.calls == 3


def test_the_429_answer_is_googles_shape(gemini_stub: GeminiStub, make_provider: ProviderFactory) -> None:
    error = StubReply.rate_limited("30s").payload["error"]

    assert (error["code"], error["status"]) == (429, "RESOURCE_EXHAUSTED")
    assert {"@type": RETRY_INFO, "retryDelay": "30s"} in error["details"]


# --- cost ---------------------------------------------------------------------------------------


def test_usage_metadata_is_counted_for_every_answer_even_an_unusable_one(
    gemini_stub: GeminiStub, make_provider: ProviderFactory
) -> None:
    gemini_stub.enqueue(
        StubReply.finished("MAX_TOKENS", text='{"book":', usage=(180, 12, 2036)),
        StubReply.json_text(GOOD_FR, usage=(196, 75, 410)),
    )
    run = AIRun(budget_seconds=0)

    _propose(make_provider(), run=run)

    assert run.counts() == {"ai_calls": 2, "ai_prompt_tokens": 376, "ai_output_tokens": 87, "ai_thinking_tokens": 2446}


def test_thinking_and_temperature_settings_reach_the_request(
    gemini_stub: GeminiStub, make_provider: ProviderFactory
) -> None:
    _propose(make_provider(thinking_level="low", temperature=1.0))
    _propose(make_provider(thinking_level="", thinking_budget=512, temperature=0.7))

    first, second = (call.body["generationConfig"] for call in gemini_stub.calls)
    # google-genai 3.6.1 writes the thinking fields in snake_case, which proto3 JSON parsing accepts.
    camel = {"thinking_level": "thinkingLevel", "thinking_budget": "thinkingBudget"}
    assert first["temperature"] == 1.0
    assert {camel.get(k, k): v for k, v in first["thinkingConfig"].items()} == {"thinkingLevel": "LOW"}
    assert second["temperature"] == 0.7
    assert {camel.get(k, k): v for k, v in second["thinkingConfig"].items()} == {"thinkingBudget": 512}


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


def test_stub_latency_applies_to_concurrent_requests(gemini_stub: GeminiStub, make_provider: ProviderFactory) -> None:
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
    caplog.set_level(logging.WARNING, logger="verses.ai.gemini")

    assert provider_get() is None
    assert provider_get() is None

    warnings = [record.getMessage() for record in caplog.records if record.name == "verses.ai.gemini"]
    assert warnings == ["event=ai_disabled reason=no_api_key"]
    assert provider_state() == {
        "enabled": False,
        "model": settings.GEMINI_MODEL,
        "base_url_overridden": False,
        "status": "disabled",
        "reason": None,
    }


def test_provider_get_with_key_aims_at_the_configured_server(settings, db, gemini_stub: GeminiStub) -> None:
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
    assert state == {"enabled": True, "model": MODEL, "base_url_overridden": True, "status": "ok", "reason": None}
    assert API_KEY not in repr(state)


# --- the probe (models.get) ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stub_key", "model", "expected"),
    [
        (None, MODEL, ProbeResult("ok")),
        ("another-key", MODEL, ProbeResult("misconfigured", "auth")),
        (None, "gemini-2.5-flash", ProbeResult("misconfigured", "model_not_found")),
    ],
    ids=["ok", "wrong-key", "unknown-model"],
)
def test_the_probe_looks_the_model_up_once_an_hour(
    settings, db, gemini_stub: GeminiStub, stub_key: str | None, model: str, expected: ProbeResult
) -> None:
    settings.GEMINI_API_KEY = API_KEY
    settings.GEMINI_MODEL = model
    settings.GEMINI_BASE_URL = gemini_stub.base_url
    gemini_stub.api_key = stub_key

    first = provider_probe(provider_get())
    again = provider_state()

    assert (first.status, first.reason) == (expected.status, expected.reason)
    assert (again["status"], again["reason"]) == (expected.status, expected.reason)
    assert [probe.path for probe in gemini_stub.probes] == [f"/v1beta/models/{model}"]  # cached
    assert gemini_stub.probes[0].headers["x-goog-api-key"] == API_KEY
    assert gemini_stub.request_count == 0  # no generateContent spent on it


def test_a_slow_probe_gives_up_after_its_own_short_timeout(
    settings, db, gemini_stub: GeminiStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.GEMINI_API_KEY = API_KEY
    settings.GEMINI_BASE_URL = gemini_stub.base_url
    settings.GEMINI_TIMEOUT_SECONDS = 20.0  # generateContent's; health must not wait that long
    monkeypatch.setattr("verses.ai.gemini.PROBE_TIMEOUT_SECONDS", 0.5)
    gemini_stub.latency = 3.0

    started = time.monotonic()
    result = provider_probe(provider_get())

    assert (result.status, result.reason) == ("unverified", "timeout")
    assert time.monotonic() - started < 2.5


def test_a_probe_that_cannot_reach_gemini_says_unverified(settings, db) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    settings.GEMINI_API_KEY = API_KEY
    settings.GEMINI_BASE_URL = f"http://127.0.0.1:{closed_port}"
    settings.GEMINI_TIMEOUT_SECONDS = 1.0

    assert provider_probe(provider_get()) == ProbeResult("unverified", "connection", "network error (ConnectError)")


def test_the_architecture_docs_table_of_failure_kinds_matches_the_code() -> None:
    from pathlib import Path

    from verses.generation.validation import REJECTION_KINDS

    docs = (Path(__file__).resolve().parents[2] / "docs" / "architecture.md").read_text()
    table = docs.split("| kind | cause |\n|---|---|\n", 1)[1].split("\n\n", 1)[0]
    kinds = [row.split("`")[1] for row in table.splitlines()]

    assert kinds == [*FAILURE_KINDS, *REJECTION_KINDS]
    assert not set(FAILURE_KINDS) & set(REJECTION_KINDS)
