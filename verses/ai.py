"""The AI provider: asks Gemini (google-genai) for a Bible reference and a short reflection.

The model only proposes a reference and writes the reflection; the verse text shown to users
always comes from a real edition (see verses.validation). Every failure surfaces as ``AIError``
with a ``kind`` the caller can log and fall back on.
"""

from __future__ import annotations

import functools
import json
import logging
import time
from dataclasses import dataclass
from typing import Literal

import pydantic
from django.conf import settings
from google import genai
from google.genai import errors as genai_errors
from google.genai import types

logger = logging.getLogger(__name__)

AIErrorKind = Literal["timeout", "rate_limit", "server_error", "invalid_output", "client_error"]

RETRY_HTTP_STATUS_CODES = [408, 429, 500, 502, 503, 504]
MAX_AVOIDED_REFERENCES = 50
_MAX_SERVER_MESSAGE_CHARS = 160


def _http_error_types() -> tuple[tuple[type[Exception], ...], tuple[type[Exception], ...]]:
    """(timeout errors, transport errors) of the HTTP libraries google-genai may use.

    google-genai 3.x sends sync requests with ``httpx2`` (a fork of httpx under its own import
    name) when it is installed, else with ``httpx``; their exception classes are unrelated.
    """
    timeouts: list[type[Exception]] = []
    transports: list[type[Exception]] = []
    for name in ("httpx2", "httpx"):
        try:
            module = __import__(name)
        except ImportError:
            continue
        timeouts.append(module.TimeoutException)
        transports.append(module.TransportError)
    return tuple(timeouts), tuple(transports)


_TIMEOUT_ERRORS, _TRANSPORT_ERRORS = _http_error_types()


@dataclass(frozen=True)
class AIProposal:
    """A passage proposed by the model; ``book`` as given (USFM code like "PSA", or "19")."""

    book: str
    chapter: int
    verse_start: int
    verse_end: int
    opening_words: str
    reflection: str


class AIError(Exception):
    """A failed AI call; ``kind`` says why, the message is short and never holds the API key."""

    def __init__(self, kind: AIErrorKind, message: str = "") -> None:
        super().__init__(f"{kind}: {message}" if message else kind)
        self.kind: AIErrorKind = kind
        self.message = message

    def __reduce__(self) -> tuple[type[AIError], tuple[AIErrorKind, str]]:
        return (AIError, (self.kind, self.message))  # pickles (django-q) keep kind and message apart


class ProposalSchema(pydantic.BaseModel):
    """The JSON the model must answer with (sent as ``response_schema``)."""

    model_config = pydantic.ConfigDict(coerce_numbers_to_str=True, str_strip_whitespace=True)

    book: str = pydantic.Field(
        min_length=1, description='Book as its USFM code, e.g. "GEN", "PSA", "ISA", "MAT", "JHN", "ROM", "1CO".'
    )
    chapter: int = pydantic.Field(ge=1, description="Chapter number in the user's edition.")
    verse_start: int = pydantic.Field(ge=1, description="First verse number in the user's edition.")
    verse_end: int = pydantic.Field(ge=1, description="Last verse number (equal to verse_start for one verse).")
    opening_words: str = pydantic.Field(
        min_length=1, description="The first five to eight words of the passage, as worded in the user's edition."
    )
    reflection: str = pydantic.Field(
        min_length=1, description="A warm, pastoral reflection of 1 to 3 sentences in the user's language."
    )


_EDITIONS: dict[str, tuple[str, str]] = {
    "fr": ("French", "Louis Segond 1910"),
    "en": ("English", "World English Bible"),
}


def _edition(language: str) -> tuple[str, str]:
    """(language name, Bible edition) for a user language; anything but "fr" reads English."""
    return _EDITIONS.get(language, _EDITIONS["en"])


def proposal_prompt(*, mood: str, language: str, avoid: list[str]) -> str:
    """The English instruction asking for one short passage and a reflection."""
    language_name, edition = _edition(language)
    if mood and mood != "default":
        situation = f"The reader's mood today is: {mood}."
        purpose = "that speaks to this mood"
    else:
        situation = "The reader shares no particular mood today."
        purpose = "that encourages the reader in daily life"
    address = ' Address the reader as "tu".' if language == "fr" else ""
    lines = [
        "You help a Christian app offer one Bible passage of the day to a reader.",
        situation,
        f"Choose ONE passage of 1 to 3 consecutive verses from the Protestant canon (66 books) {purpose}.",
        (
            f"Give the reference in the verse numbering of the {edition} edition (book as its USFM code, "
            "chapter, first and last verse)."
        ),
        f"Quote the first five to eight words of the passage exactly as they appear in the {edition}.",
        (
            f"Write a short reflection in {language_name}: 1 to 3 sentences, at most 400 characters, "
            f"warm and pastoral, speaking to the reader directly.{address}"
        ),
    ]
    avoided = [reference for reference in avoid if reference][-MAX_AVOIDED_REFERENCES:]
    if avoided:
        lines.append("Do not choose any of these passages, recently shown: " + "; ".join(avoided) + ".")
    lines.append("Answer with the JSON object only.")
    return "\n".join(lines)


def _redact(text: str, secret: str) -> str:
    return text.replace(secret, "***") if secret else text


def _api_error(exc: genai_errors.APIError, api_key: str) -> AIError:
    """Map an SDK HTTP error (4xx/5xx) to an AIError kind."""
    code = exc.code or 0
    server_message = _redact(str(exc.message or ""), api_key)[:_MAX_SERVER_MESSAGE_CHARS]
    message = _redact(f"Gemini HTTP {code} {exc.status or ''}".strip(), api_key)
    if server_message:
        message = f"{message}: {server_message}"
    if code == 429:
        return AIError("rate_limit", message)
    if code == 408:
        return AIError("timeout", message)
    if isinstance(exc, genai_errors.ClientError):
        return AIError("client_error", message)
    return AIError("server_error", message)


def _response_text(response: types.GenerateContentResponse) -> str:
    """The answer's text; raises AIError("invalid_output") for empty or blocked answers."""
    if not response.candidates:
        feedback = response.prompt_feedback
        block_reason = feedback.block_reason if feedback else None
        reason = getattr(block_reason, "value", block_reason) or "none"
        raise AIError("invalid_output", f"no candidates (block_reason={reason})")
    finish_reason = response.candidates[0].finish_reason
    if finish_reason not in (None, types.FinishReason.STOP):
        reason = getattr(finish_reason, "value", finish_reason)
        raise AIError("invalid_output", f"answer stopped early (finish_reason={reason})")
    text = response.text
    if not text or not text.strip():
        raise AIError("invalid_output", "empty answer")
    return text


def proposal_parse(text: str) -> AIProposal:
    """Validate the model's JSON text; raises AIError("invalid_output")."""
    try:
        parsed = ProposalSchema.model_validate_json(text)
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "answer"
        raise AIError("invalid_output", f"{where}: {first['msg']}") from None
    return AIProposal(**parsed.model_dump())


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
        temperature: float = 0.9,
    ) -> None:
        self.model = model
        self.base_url = base_url or None
        self.timeout_seconds = timeout_seconds
        self.attempts = max(0, retries) + 1
        self.temperature = temperature
        self._api_key = api_key.strip()
        retry_options = types.HttpRetryOptions(
            attempts=self.attempts,
            initial_delay=retry_initial_delay,
            max_delay=retry_max_delay,
            jitter=retry_jitter,
            http_status_codes=RETRY_HTTP_STATUS_CODES,
        )
        self._client = genai.Client(
            vertexai=False,  # the Gemini Developer API, whatever GOOGLE_GENAI_USE_VERTEXAI says
            api_key=self._api_key,
            http_options=types.HttpOptions(
                base_url=self.base_url,
                # generateContent with responseSchema, as Google documents it, is on v1beta.
                api_version="v1beta",
                # Milliseconds; httpx applies it to each of connect/read/write, per attempt.
                timeout=max(1, round(timeout_seconds * 1000)),
                retry_options=retry_options,
            ),
        )

    def close(self) -> None:
        self._client.close()

    def _config(self) -> types.GenerateContentConfig:
        return types.GenerateContentConfig(
            response_mime_type="application/json",
            response_schema=ProposalSchema,
            temperature=self.temperature,
        )

    def _generate(self, prompt: str) -> types.GenerateContentResponse:
        """One generateContent call (the SDK retries inside); SDK errors become AIError."""
        try:
            return self._client.models.generate_content(model=self.model, contents=prompt, config=self._config())
        except genai_errors.APIError as exc:
            raise _api_error(exc, self._api_key) from None
        except _TIMEOUT_ERRORS:
            raise AIError(
                "timeout", f"no answer within {self.timeout_seconds:g}s ({self.attempts} attempt(s))"
            ) from None
        except _TRANSPORT_ERRORS as exc:
            raise AIError("server_error", f"network error ({type(exc).__name__})") from None
        except (json.JSONDecodeError, pydantic.ValidationError):
            raise AIError("invalid_output", "malformed response body") from None

    def propose(self, *, mood: str, language: str, avoid: list[str]) -> AIProposal:
        """Ask for one passage (1-3 verses) fitting ``mood``, referenced in the user's edition."""
        started = time.monotonic()
        response = self._generate(proposal_prompt(mood=mood, language=language, avoid=avoid))
        proposal = proposal_parse(_response_text(response))
        logger.debug(
            "event=ai_proposal model=%s mood=%s language=%s duration_ms=%d",
            self.model, mood, language, (time.monotonic() - started) * 1000,
        )
        return proposal


@functools.cache
def provider_get() -> GeminiProvider | None:
    """The process-wide provider from settings, or None when no API key is set.

    Cached per process; tests call ``provider_get.cache_clear()`` after changing settings.
    """
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
    )


def provider_state() -> dict[str, bool | str]:
    """AI status for status/health endpoints (never the key)."""
    return {
        "enabled": bool(settings.GEMINI_API_KEY.strip()),
        "model": settings.GEMINI_MODEL,
        "base_url_overridden": bool(settings.GEMINI_BASE_URL),
    }
