"""The AI provider: asks Gemini (google-genai) for a Bible reference and a short reflection.

The model only proposes a reference and writes the reflection; the verse text shown to users
always comes from a real edition (see verses.generation.validation). Every failure surfaces as ``AIError``
with a ``kind`` the operator can act on (``FAILURE_KINDS``). Retries are ours, not the SDK's:
a 429's RetryInfo delay is honoured within the run's budget (``AIRun``), an answer that is
empty, cut off, recited or not JSON gets one more attempt, and a daily quota, a bad key or an
unknown model stop every further call of the run (a circuit breaker).
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pydantic
from django.conf import settings
from django.core.cache import cache
from google import genai
from google.genai import errors as genai_errors
from google.genai import types

from verses.ai.proposal import RETRY_HINTS, AIProposal, ProposalSchema, proposal_parse, proposal_prompt
from verses.ai.run import CIRCUIT_BREAKER_KINDS, RETRY_ONCE_KINDS, TRANSIENT_KINDS, AIError, AIRun

logger = logging.getLogger(__name__)


PROBE_CACHE_SECONDS = 3600
PROBE_RETRY_CACHE_SECONDS = 60  # a probe that could not tell (Gemini down) is asked again sooner
PROBE_TIMEOUT_SECONDS = 5.0  # health and status wait at most this for the lookup
_MAX_SERVER_MESSAGE_CHARS = 160
_SAFETY_FINISHES = frozenset({"SAFETY", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY", "MODEL_ARMOR"})
_RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo"
_ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo"
_QUOTA_FAILURE = "type.googleapis.com/google.rpc.QuotaFailure"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)s\s*$")


def _http_error_types() -> tuple[tuple[type[Exception], ...], ...]:
    """(timeouts, connection errors, other request errors) of the HTTP libraries google-genai may use.

    google-genai 3.x sends sync requests with ``httpx2`` (a fork of httpx under its own import
    name) when it is installed, else with ``httpx``; their exception classes are unrelated. The
    SDK lets ``ReadError``/``RemoteProtocolError`` (connection), ``DecodingError`` and
    ``TooManyRedirects`` (other request errors) escape; all must become AIError.
    """
    timeouts: list[type[Exception]] = []
    transports: list[type[Exception]] = []
    requests: list[type[Exception]] = []
    for name in ("httpx2", "httpx"):
        try:
            module = __import__(name)
        except ImportError:
            continue
        timeouts.append(module.TimeoutException)
        transports.append(module.TransportError)
        requests.append(module.RequestError)
    return tuple(timeouts), tuple(transports), tuple(requests)


_TIMEOUT_ERRORS, _TRANSPORT_ERRORS, _REQUEST_ERRORS = _http_error_types()


def _redact(text: str, secret: str) -> str:
    return text.replace(secret, "***") if secret else text


def _duration_seconds(value: Any) -> float | None:
    """A google.protobuf.Duration in its JSON form ("30s", "1.5s") as seconds."""
    match = _DURATION.match(value) if isinstance(value, str) else None
    return float(match[1]) if match else None


def _error_details(exc: genai_errors.APIError) -> list[dict]:
    """The ``error.details`` list of a Google error body (RetryInfo, ErrorInfo, QuotaFailure...)."""
    body = exc.details if isinstance(exc.details, dict) else {}
    error = body.get("error", body)
    details = error.get("details") if isinstance(error, dict) else None
    return [detail for detail in details or [] if isinstance(detail, dict)]


def _api_error(exc: genai_errors.APIError, api_key: str) -> AIError:
    """Map an SDK HTTP error (4xx/5xx) to an AIError kind, reading the body's details."""
    code = exc.code or 0
    details = _error_details(exc)
    server_message = _redact(str(exc.message or ""), api_key)[:_MAX_SERVER_MESSAGE_CHARS]
    message = _redact(f"Gemini HTTP {code} {exc.status or ''}".strip(), api_key)
    if server_message:
        message = f"{message}: {server_message}"
    reasons = {detail.get("reason") for detail in details if detail.get("@type") == _ERROR_INFO}
    if code == 429:
        quota_ids = [
            str(violation.get("quotaId", ""))
            for detail in details
            if detail.get("@type") == _QUOTA_FAILURE
            for violation in detail.get("violations") or []
            if isinstance(violation, dict)
        ]
        if any("PerDay" in quota_id for quota_id in quota_ids):
            return AIError("quota_exhausted", message)
        delays = [
            _duration_seconds(detail.get("retryDelay")) for detail in details if detail.get("@type") == _RETRY_INFO
        ]
        delay = next((d for d in delays if d is not None), None)
        return AIError("rate_limit", message, retry_after=delay)
    if code in (401, 403) or "API_KEY_INVALID" in reasons or "API_KEY_EXPIRED" in reasons:
        return AIError("auth", message)
    if code == 404:
        return AIError("model_not_found", message)
    if code in (408, 504):
        return AIError("timeout", message)
    if code >= 500 or code < 400:  # a 3xx is no answer of the API either (a proxy's redirect)
        return AIError("server_error", message)
    return AIError("bad_request", message)


def _enum_name(value: Any) -> str:
    return str(getattr(value, "value", value) or "")


def _response_text(response: types.GenerateContentResponse) -> str:
    """The answer's text; raises AIError with the finish reason's kind for unusable answers."""
    if not response.candidates:
        feedback = response.prompt_feedback
        block_reason = _enum_name(feedback.block_reason) if feedback else ""
        if block_reason:
            raise AIError("blocked_prompt", f"prompt blocked (blockReason={block_reason})")
        raise AIError("empty", "no candidates")
    candidate = response.candidates[0]
    finish = _enum_name(candidate.finish_reason)
    if finish in _SAFETY_FINISHES:
        raise AIError("safety", f"answer blocked (finishReason={finish})")
    if finish == "RECITATION":
        raise AIError("recitation", "answer stopped (finishReason=RECITATION)")
    if finish == "MAX_TOKENS":
        raise AIError("max_tokens", "answer cut off (finishReason=MAX_TOKENS)")
    if finish not in ("", "STOP"):
        raise AIError("finish_other", f"answer stopped (finishReason={finish})")
    parts = candidate.content.parts if candidate.content else None
    text = "".join(part.text for part in parts or [] if part.text and not part.thought)
    if not text.strip():
        raise AIError("empty", "STOP without text")
    return text


@dataclass(frozen=True)
class ProbeResult:
    """What the model lookup says: "ok", "misconfigured" (``reason`` a kind) or "unverified"."""

    status: str
    reason: str | None = None
    message: str = ""

    def as_dict(self) -> dict:
        return {"status": self.status, "reason": self.reason, "message": self.message}


class GeminiProvider:
    """One google-genai client (and its connection pool) proposing passages."""

    def __init__(
        self,
        *,
        api_key: str,
        model: str,
        base_url: str | None = None,
        timeout_seconds: float,
        retries: int,
        retry_initial_delay: float = 0.5,
        retry_max_delay: float = 4.0,
        retry_jitter: float = 0.5,
        temperature: float | None = 1.0,
        thinking_level: str = "",
        thinking_budget: int | None = None,
    ) -> None:
        self.model = model
        self.base_url = base_url or None
        self.timeout_seconds = timeout_seconds
        self.retries = max(0, retries)
        self.retry_initial_delay = retry_initial_delay
        self.retry_max_delay = retry_max_delay
        self.retry_jitter = retry_jitter
        self.temperature = temperature
        self.thinking_level = thinking_level.strip().upper()
        self.thinking_budget = thinking_budget
        self._api_key = api_key.strip()
        self._client = genai.Client(
            vertexai=False,  # the Gemini Developer API, whatever GOOGLE_GENAI_USE_VERTEXAI says
            api_key=self._api_key,
            http_options=types.HttpOptions(
                base_url=self.base_url,
                # generateContent with responseSchema, as Google documents it, is on v1beta.
                api_version="v1beta",
                # Milliseconds; httpx applies it to each of connect/read/write, per attempt.
                timeout=max(1, round(timeout_seconds * 1000)),
                # One request per SDK call: the SDK's retries ignore RetryInfo; ours (propose) honour it.
                retry_options=types.HttpRetryOptions(attempts=1),
            ),
        )

    def close(self) -> None:
        self._client.close()

    @property
    def identity(self) -> str:
        """A short digest of what the probe depends on (model, endpoint, key), never the key itself."""
        raw = f"{self.model}|{self.base_url or ''}|{self._api_key}"
        return hashlib.sha256(raw.encode()).hexdigest()[:16]

    def _config(self) -> types.GenerateContentConfig:
        thinking = None
        if self.thinking_budget is not None:
            thinking = types.ThinkingConfig(thinking_budget=self.thinking_budget)
        elif self.thinking_level:
            thinking = types.ThinkingConfig(thinking_level=self.thinking_level)
        return types.GenerateContentConfig(
            response_mime_type="application/json",
            response_schema=ProposalSchema,
            temperature=self.temperature,
            thinking_config=thinking,
        )

    def _call(self, fn: Callable[[], Any]) -> Any:
        """Run one SDK request; every SDK or HTTP library error becomes an AIError."""
        try:
            return fn()
        except genai_errors.APIError as exc:
            raise _api_error(exc, self._api_key) from None
        except _TIMEOUT_ERRORS:
            raise AIError("timeout", f"no answer within {self.timeout_seconds:g}s") from None
        except _TRANSPORT_ERRORS as exc:
            raise AIError("connection", f"network error ({type(exc).__name__})") from None
        except _REQUEST_ERRORS as exc:  # DecodingError, TooManyRedirects
            raise AIError("server_error", f"unusable HTTP answer ({type(exc).__name__})") from None
        except (json.JSONDecodeError, pydantic.ValidationError, UnicodeDecodeError):
            raise AIError("server_error", "malformed response body") from None

    def _backoff(self, attempt: int) -> float:
        delay = min(self.retry_max_delay, self.retry_initial_delay * 2**attempt)
        return delay + random.uniform(0, self.retry_jitter)

    def propose(self, *, mood: str, language: str, avoid: list[str], run: AIRun | None = None) -> AIProposal:
        """Ask for one passage (1-3 verses) fitting ``mood``, referenced in the user's edition.

        ``run`` carries the run's budget, 429 gate, breaker and token counts; without one, the
        call waits for no RetryInfo (an on-demand request must not hang)."""
        run = run or AIRun(budget_seconds=0)
        base_prompt = proposal_prompt(mood=mood, language=language, avoid=avoid)
        prompt = base_prompt
        transient_attempts = second_chance = 0
        started = time.monotonic()
        while True:
            try:
                run.before_call()
            except AIError:
                run.call_finished()  # refused before any request: the breaker is open or the wait too long
                raise
            try:
                response = self._call(
                    lambda prompt=prompt: self._client.models.generate_content(
                        model=self.model, contents=prompt, config=self._config()
                    )
                )
            except AIError as error:
                run.record(None)
                if error.kind in CIRCUIT_BREAKER_KINDS:
                    run.trip(error)
                    raise
                if error.kind not in TRANSIENT_KINDS or transient_attempts >= self.retries:
                    raise
                if error.kind == "rate_limit" and error.retry_after is not None:
                    run.defer(error.retry_after)  # the next before_call waits for it, or gives up
                else:
                    run.sleep(self._backoff(transient_attempts))
                transient_attempts += 1
                logger.info("event=ai_retry kind=%s attempt=%d", error.kind, transient_attempts + 1)
                continue
            finally:
                run.call_finished()  # the calls held back behind the run's first may go
            run.record(response.usage_metadata)
            try:
                proposal = proposal_parse(_response_text(response))
            except AIError as error:
                if error.kind not in RETRY_ONCE_KINDS or second_chance:
                    raise
                second_chance = 1
                prompt = base_prompt + "\n" + RETRY_HINTS[error.kind].format(detail=error.message)
                logger.info("event=ai_retry kind=%s attempt=2", error.kind)
                continue
            logger.debug(
                "event=ai_proposal model=%s mood=%s language=%s duration_ms=%d",
                self.model,
                mood,
                language,
                (time.monotonic() - started) * 1000,
            )
            return proposal

    def probe(self) -> ProbeResult:
        """Look the model up (models.get, one request): tells a wrong key or model from a working setup."""
        timeout_ms = max(1, round(min(self.timeout_seconds, PROBE_TIMEOUT_SECONDS) * 1000))
        config = types.GetModelConfig(http_options=types.HttpOptions(timeout=timeout_ms))
        try:
            self._call(lambda: self._client.models.get(model=self.model, config=config))
        except AIError as error:
            if error.kind in CIRCUIT_BREAKER_KINDS - {"quota_exhausted"}:
                return ProbeResult("misconfigured", error.kind, error.message)
            return ProbeResult("unverified", error.kind, error.message)
        return ProbeResult("ok")


@functools.cache
def provider_get() -> GeminiProvider | None:
    """The process-wide provider from settings, or None when AI_ENABLED is off or no API key is set.

    Cached per process; tests call ``provider_get.cache_clear()`` after changing settings.
    """
    if not settings.AI_ENABLED:
        logger.info("event=ai_disabled reason=switched_off")
        return None
    api_key = settings.GEMINI_API_KEY.strip()
    if not api_key:
        logger.warning("event=ai_disabled reason=no_api_key")
        return None
    return GeminiProvider(
        api_key=api_key,
        model=settings.GEMINI_MODEL,
        base_url=settings.GEMINI_BASE_URL or None,
        timeout_seconds=settings.GEMINI_TIMEOUT_SECONDS,
        retries=settings.GEMINI_RETRIES,
        temperature=settings.GEMINI_TEMPERATURE,
        thinking_level=settings.GEMINI_THINKING_LEVEL,
        thinking_budget=settings.GEMINI_THINKING_BUDGET,
    )


def provider_probe(provider: GeminiProvider) -> ProbeResult:
    """The provider's probe result, cached (shared by web and workers) for an hour."""
    key = f"ai:probe:{provider.identity}"
    cached = cache.get(key)
    if isinstance(cached, dict):
        return ProbeResult(**cached)
    result = provider.probe()
    if result.status == "misconfigured":
        logger.error("event=ai_misconfigured model=%s reason=%s", provider.model, result.reason)
    seconds = PROBE_RETRY_CACHE_SECONDS if result.status == "unverified" else PROBE_CACHE_SECONDS
    cache.set(key, result.as_dict(), timeout=seconds)
    return result


def provider_state() -> dict:
    """AI status for status/health endpoints (never the key): enabled, and what the probe says
    ("off": AI_ENABLED=false, a choice; "disabled": on but no API key)."""
    provider = provider_get()
    state: dict = {
        "enabled": provider is not None,
        "model": settings.GEMINI_MODEL,
        "base_url_overridden": bool(settings.GEMINI_BASE_URL),
        "status": "disabled" if settings.AI_ENABLED else "off",
        "reason": None,
    }
    if provider is not None:
        probe = provider_probe(provider)
        state["status"] = probe.status
        state["reason"] = probe.reason
    return state
