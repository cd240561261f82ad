"""The kinds an AI failure is counted as, the error that carries one, and a run's shared AI state
(wait budget, 429 gate, circuit breaker, cost)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from google.genai import types

from verses.ai.counts import AI_CALLS, AI_OUTPUT_TOKENS, AI_PROMPT_TOKENS, AI_THINKING_TOKENS

logger = logging.getLogger(__name__)


# Every kind an AI failure is counted as (run counts, VerseOfTheDay.ai_failure), with its cause.
# The validation's kinds (verses.generation.validation.REJECTION_KINDS) complete the list.
FAILURE_KINDS: dict[str, str] = {
    "safety": "the answer was blocked (finishReason SAFETY, BLOCKLIST, PROHIBITED_CONTENT, SPII)",
    "recitation": "the answer was stopped for quoting a source (finishReason RECITATION); retried once",
    "max_tokens": "the answer was cut off at the output limit, thinking included (MAX_TOKENS); retried once",
    "empty": "a 200 answer without text (STOP with no parts, no candidates without a block reason); retried once",
    "finish_other": "the answer stopped for another finishReason (OTHER, LANGUAGE, ...), logged with it",
    "blocked_prompt": "the prompt was blocked (no candidates, promptFeedback.blockReason)",
    "bad_json": "the text is not the JSON object asked for (fenced, broken, missing fields); retried once",
    "model_not_found": "404: the model does not exist or was shut down (GEMINI_MODEL); stops the run's AI calls",
    "auth": "400 API_KEY_INVALID, 401 or 403: the key is wrong or not allowed; stops the run's AI calls",
    "bad_request": "another 4xx: the request was refused (e.g. a setting the model does not accept); "
    "stops the run's AI calls",
    "rate_limit": "429 with a retry delay: waited for (RetryInfo) within VERSES_AI_BUDGET_SECONDS, then counted",
    "quota_exhausted": "429 for a daily quota (QuotaFailure ...PerDay...): stops the run's AI calls",
    "server_error": "5xx or a malformed HTTP answer (an HTML 502, an undecodable body); retried",
    "timeout": "no answer within GEMINI_TIMEOUT_SECONDS (or 408/504); retried",
    "connection": "the connection failed or broke mid-answer (refused, reset, protocol error); retried",
}


AIErrorKind = str


# One more attempt, with the reason in the prompt: these often succeed on a second try.
RETRY_ONCE_KINDS = frozenset({"empty", "recitation", "max_tokens", "bad_json"})


# Retried up to GEMINI_RETRIES times with exponential back-off (rate_limit: after its RetryInfo delay).
TRANSIENT_KINDS = frozenset({"server_error", "timeout", "connection", "rate_limit"})


# Every further call would fail the same way: no more calls in this run.
CIRCUIT_BREAKER_KINDS = frozenset({"quota_exhausted", "auth", "model_not_found", "bad_request"})


class AIError(Exception):
    """A failed AI call; ``kind`` says why, the message is short and never holds the API key."""

    def __init__(self, kind: AIErrorKind, message: str = "", *, retry_after: float | None = None) -> None:
        super().__init__(f"{kind}: {message}" if message else kind)
        self.kind: AIErrorKind = kind
        self.message = message
        self.retry_after = retry_after  # seconds, from a 429's RetryInfo

    def __reduce__(self):
        return (_ai_error_rebuild, (self.kind, self.message, self.retry_after))  # django-q pickles it


def _ai_error_rebuild(kind: str, message: str, retry_after: float | None) -> AIError:
    return AIError(kind, message, retry_after=retry_after)


class AIRun:
    """One run's shared AI state: the wait budget, the 429 gate, the circuit breaker and the cost.

    Thread-safe: the run's calls go out concurrently, except the first, which goes alone: a
    daily quota already spent is then seen after one call, not after a whole batch of them.
    ``clock``/``sleep`` are injectable so that tests can honour a 30 s RetryInfo without waiting.
    """

    def __init__(
        self,
        *,
        budget_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.clock = clock
        self.sleep = sleep
        self.deadline = clock() + max(0.0, budget_seconds)
        self._lock = threading.Lock()
        self._not_before = 0.0
        self._first_taken = False
        self._first_done = threading.Event()
        self.tripped: AIError | None = None
        self.calls = 0
        self.prompt_tokens = 0
        self.output_tokens = 0
        self.thinking_tokens = 0

    def trip(self, error: AIError) -> None:
        """Open the circuit breaker: every later call of the run fails at once with this kind."""
        with self._lock:
            if self.tripped is None:
                self.tripped = error
                logger.warning("event=ai_circuit_open kind=%s", error.kind)

    def defer(self, seconds: float) -> None:
        """No call before ``seconds`` from now (a 429's RetryInfo holds for every call of the run)."""
        with self._lock:
            self._not_before = max(self._not_before, self.clock() + max(0.0, seconds))

    def before_call(self) -> None:
        """Wait for the 429 gate within the budget; raise when the breaker is open or the wait too long."""
        with self._lock:
            first, self._first_taken = not self._first_taken, True
        if not first:
            self._first_done.wait()
        while True:
            with self._lock:
                tripped, not_before = self.tripped, self._not_before
            if tripped is not None:
                raise AIError(tripped.kind, f"no call: an earlier call of this run failed ({tripped.kind})")
            delay = not_before - self.clock()
            if delay <= 0:
                return
            if not_before > self.deadline:
                raise AIError("rate_limit", f"Gemini asks to wait {delay:.0f}s, beyond this run's AI budget")
            self.sleep(delay)

    def call_finished(self) -> None:
        self._first_done.set()

    def record(self, usage: types.GenerateContentResponseUsageMetadata | None) -> None:
        """Count one request sent and, when the answer carries usageMetadata, its tokens."""
        with self._lock:
            self.calls += 1
            if usage is not None:
                self.prompt_tokens += usage.prompt_token_count or 0
                self.output_tokens += usage.candidates_token_count or 0
                self.thinking_tokens += usage.thoughts_token_count or 0

    def counts(self) -> dict[str, int]:
        with self._lock:
            return {
                AI_CALLS.name: self.calls,
                AI_PROMPT_TOKENS.name: self.prompt_tokens,
                AI_OUTPUT_TOKENS.name: self.output_tokens,
                AI_THINKING_TOKENS.name: self.thinking_tokens,
            }
