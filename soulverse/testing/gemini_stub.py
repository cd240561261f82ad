"""A local HTTP server speaking Gemini's REST API (generateContent, models.get) as Google documents it.

Point the real client at it with ``types.HttpOptions(base_url=stub.base_url)``. The SDK (3.6.x,
Gemini Developer API) sends ``POST /{api_version}/models/{model}:generateContent`` with the API key
in the ``x-goog-api-key`` header and a JSON body ``{"contents": [...], "generationConfig": {...}}``,
and ``GET /{api_version}/models/{model}`` for ``models.get``. Like the API, the stub answers a wrong
key with 400 INVALID_ARGUMENT + ErrorInfo ``API_KEY_INVALID``, a missing key with 403, an unknown
model with 404 NOT_FOUND; errors are ``{"error": {"code", "message", "status", "details"}}``.

    with GeminiStub() as stub:
        stub.enqueue(StubReply.error(503), StubReply.json_text({"answer": 42}))
        ...  # the client sees a 503, then a good answer; later requests use stub.respond(...)
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

JsonDict = dict[str, Any]

_GENERATE_PATH = re.compile(r"^/(?P<api_version>[^/]+)/models/(?P<model>[^/:?]+):generateContent$")
_MODEL_PATH = re.compile(r"^/(?P<api_version>[^/]+)/models/(?P<model>[^/:?]+)$")

# Models the stub knows (models.get answers them, generateContent accepts them); others are 404.
# Google's catalogue as the stub plays it: settings.GEMINI_MODEL's default must be one of them
# (verses/tests/test_deploy_checks.py runs `check --deploy` with it against the stub).
DEFAULT_MODELS = frozenset(
    {"gemini-3.8-flash", "gemini-3.7-flash", "gemini-3.5-flash", "gemini-3.5-flash-lite", "gemini-stub-model"}
)
RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo"
ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo"
QUOTA_FAILURE = "type.googleapis.com/google.rpc.QuotaFailure"
HELP = "type.googleapis.com/google.rpc.Help"

# Google's canonical status names for the HTTP codes a Gemini client meets.
_ERROR_STATUS: dict[int, str] = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    408: "DEADLINE_EXCEEDED",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}

# A proposal that verses.ai.gemini accepts (Psalm 23:1-3); the default answer when nothing is programmed.
DEFAULT_PROPOSAL: JsonDict = {
    "book": "PSA",
    "chapter": 23,
    "verse_start": 1,
    "verse_end": 3,
    "opening_words": "The Lord is my shepherd",
    "reflection": "God walks with you today; rest in his care.",
}


@dataclass(frozen=True)
class StubReply:
    """One HTTP answer: status, JSON payload (or a raw body), and a delay (seconds) before it is sent.

    ``truncate``: send the headers and only half the body, then close the connection (the
    client sees the answer break mid-response)."""

    status: int = 200
    payload: JsonDict = field(default_factory=dict)
    delay: float = 0.0
    raw: bytes | None = None
    content_type: str = "application/json; charset=UTF-8"
    truncate: bool = False
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def text(
        cls, raw: str, *, finish_reason: str = "STOP", delay: float = 0.0, usage: tuple[int, int, int] | None = None
    ) -> StubReply:
        """A well-formed GenerateContentResponse whose single part text is ``raw``.

        ``usage``: (promptTokenCount, candidatesTokenCount, thoughtsTokenCount); default a rough count."""
        candidate = {
            "content": {"role": "model", "parts": [{"text": raw}]},
            "finishReason": finish_reason,
            "index": 0,
        }
        return cls(payload={"candidates": [candidate], "usageMetadata": usage_metadata(raw, usage)}, delay=delay)

    @classmethod
    def json_text(cls, obj: Any, *, delay: float = 0.0, usage: tuple[int, int, int] | None = None) -> StubReply:
        """A well-formed answer whose part text is ``json.dumps(obj)`` (what JSON mode returns)."""
        return cls.text(json.dumps(obj, ensure_ascii=False), delay=delay, usage=usage)

    @classmethod
    def finished(cls, finish_reason: str, *, text: str = "", usage: tuple[int, int, int] | None = None) -> StubReply:
        """A candidate stopped for ``finish_reason`` (SAFETY, RECITATION, MAX_TOKENS...): the API then
        sends a content without parts, or the text produced so far."""
        content: JsonDict = {"role": "model"}
        if text:
            content["parts"] = [{"text": text}]
        candidate = {"content": content, "finishReason": finish_reason, "index": 0}
        if finish_reason == "SAFETY":
            candidate["safetyRatings"] = [
                {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH", "blocked": True}
            ]
        return cls(payload={"candidates": [candidate], "usageMetadata": usage_metadata(text, usage)})

    @classmethod
    def no_candidates(cls, *, block_reason: str | None = None, delay: float = 0.0) -> StubReply:
        """A 200 answer without ``candidates``, optionally saying the prompt was blocked (as the API does)."""
        payload: JsonDict = {"usageMetadata": usage_metadata("", (50, 0, 0))}
        if block_reason:
            payload["promptFeedback"] = {"blockReason": block_reason}
        return cls(payload=payload, delay=delay)

    @classmethod
    def error(
        cls, status: int, message: str = "", *, details: list[JsonDict] | None = None, delay: float = 0.0
    ) -> StubReply:
        """A Google-style error: ``{"error": {"code", "message", "status", "details"}}``."""
        status_name = _ERROR_STATUS.get(status, "UNKNOWN")
        error: JsonDict = {"code": status, "message": message or f"Stub error {status}.", "status": status_name}
        if details:
            error["details"] = details
        return cls(status=status, payload={"error": error}, delay=delay)

    @classmethod
    def rate_limited(
        cls,
        retry_delay: str | None = "30s",
        *,
        daily: bool = False,
        model: str = "gemini-stub-model",
        delay: float = 0.0,
    ) -> StubReply:
        """429 RESOURCE_EXHAUSTED as the Gemini API sends it: a QuotaFailure naming the quota (per
        minute, or per day with ``daily``), a Help link and, when given, a RetryInfo delay."""
        period = "Day" if daily else "Minute"
        details: list[JsonDict] = [
            {
                "@type": QUOTA_FAILURE,
                "violations": [
                    {
                        "quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
                        "quotaId": f"GenerateRequestsPer{period}PerProjectPerModel-FreeTier",
                        "quotaDimensions": {"location": "global", "model": model},
                        "quotaValue": "250" if daily else "10",
                    }
                ],
            },
            {
                "@type": HELP,
                "links": [
                    {
                        "description": "Learn more about Gemini API quotas",
                        "url": "https://ai.google.dev/gemini-api/docs/rate-limits",
                    }
                ],
            },
        ]
        if retry_delay is not None:
            details.append({"@type": RETRY_INFO, "retryDelay": retry_delay})
        message = (
            "You exceeded your current quota, please check your plan and billing details. For more "
            "information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits."
        )
        return cls.error(429, message, details=details, delay=delay)

    @classmethod
    def invalid_key(cls) -> StubReply:
        """What the API answers a wrong key: 400 INVALID_ARGUMENT with ErrorInfo API_KEY_INVALID."""
        return cls.error(
            400,
            "API key not valid. Please pass a valid API key.",
            details=[
                {
                    "@type": ERROR_INFO,
                    "reason": "API_KEY_INVALID",
                    "domain": "googleapis.com",
                    "metadata": {"service": "generativelanguage.googleapis.com"},
                },
            ],
        )

    @classmethod
    def model_not_found(cls, model: str, api_version: str = "v1beta") -> StubReply:
        return cls.error(
            404,
            f"models/{model} is not found for API version {api_version}, or is not supported "
            "for generateContent. Call ListModels to see the list of available models and their "
            "supported methods.",
        )

    @classmethod
    def html(cls, status: int = 502) -> StubReply:
        """An HTML error page, as a proxy or Google's front end sends for a 502."""
        page = (
            f"<!DOCTYPE html><html lang=en><title>Error {status} (Server Error)!!1</title>"
            f"<p><b>{status}.</b> <ins>That's an error.</ins><p>The server encountered a temporary error.</html>"
        )
        return cls(status=status, raw=page.encode(), content_type="text/html; charset=UTF-8")

    @classmethod
    def undecodable(cls) -> StubReply:
        """A 200 claiming a gzip body that is not gzip: the HTTP library raises DecodingError."""
        return cls(raw=b"not gzip at all", headers=(("Content-Encoding", "gzip"),))

    @classmethod
    def redirect_loop(cls, path: str) -> StubReply:
        """A 307 back to ``path``: a client following redirects ends with TooManyRedirects."""
        return cls(status=307, raw=b"", headers=(("Location", path),))

    @classmethod
    def broken(cls) -> StubReply:
        """A 200 whose body stops half way (the connection closes): a ReadError/RemoteProtocolError."""
        return replace(cls.json_text(DEFAULT_PROPOSAL), truncate=True)

    def with_delay(self, seconds: float) -> StubReply:
        return replace(self, delay=seconds)


@dataclass(frozen=True)
class StubRequest:
    """What the stub received: path, headers (lower-cased names) and the JSON body."""

    path: str
    headers: dict[str, str]
    body: JsonDict

    @property
    def model(self) -> str | None:
        match = _GENERATE_PATH.match(self.path) or _MODEL_PATH.match(self.path)
        return match["model"] if match else None

    def prompt_text(self) -> str:
        """All text parts of the request's contents, joined by newlines."""
        parts = (part.get("text", "") for content in self.body.get("contents", []) for part in content.get("parts", []))
        return "\n".join(text for text in parts if text)


Responder = Callable[[JsonDict], StubReply]


def usage_metadata(text: str, usage: tuple[int, int, int] | None = None) -> JsonDict:
    """usageMetadata as the API sends it; default counts: 50 prompt tokens, a token per 4 characters."""
    prompt, candidates, thoughts = usage if usage is not None else (50, max(1, len(text) // 4) if text else 0, 0)
    metadata: JsonDict = {
        "promptTokenCount": prompt,
        "totalTokenCount": prompt + candidates + thoughts,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt}],
    }
    if candidates:
        metadata["candidatesTokenCount"] = candidates
    if thoughts:
        metadata["thoughtsTokenCount"] = thoughts
    return metadata


def _default_responder(body: JsonDict) -> StubReply:
    return StubReply.json_text(DEFAULT_PROPOSAL)


class GeminiStub:
    """Threaded local Gemini stub; program it with ``respond`` and ``enqueue``."""

    def __init__(
        self, *, latency: float = 0.0, api_key: str | None = None, models: frozenset[str] | set[str] = DEFAULT_MODELS
    ) -> None:
        self.latency = latency  # seconds added to every reply, on top of the reply's own delay
        self.api_key = api_key  # the only key accepted; None: any non-empty key
        self.models = set(models)
        self._probes: list[StubRequest] = []
        self._times: list[float] = []
        self._responder: Responder = _default_responder
        self._queue: deque[StubReply] = deque()
        self._calls: list[StubRequest] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle -------------------------------------------------------------------------
    def start(self) -> Self:
        if self._server is not None:
            raise RuntimeError("GeminiStub already started")
        self._stopping.clear()
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_class(self))
        server.daemon_threads = True
        server.block_on_close = False  # a handler still sleeping on a delay must not block stop()
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.02}, name="gemini-stub", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()  # wakes handlers waiting on a delay
        server.shutdown()
        server.server_close()
        self._close_connections()  # ends kept-alive connections whose handlers wait for a request
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("GeminiStub not started")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # --- programming -----------------------------------------------------------------------
    def respond(self, fn: Responder) -> None:
        """Decide each reply with ``fn(body)`` once the queue is empty."""
        with self._lock:
            self._responder = fn

    def enqueue(self, *replies: StubReply) -> None:
        """Replies used in order, one per request, before falling back to ``respond``."""
        with self._lock:
            self._queue.extend(replies)

    def reset(self) -> None:
        """Forget programmed replies and received requests."""
        with self._lock:
            self._responder = _default_responder
            self._queue.clear()
            self._calls.clear()
            self._probes.clear()
            self._times.clear()

    # --- inspection ------------------------------------------------------------------------
    @property
    def calls(self) -> list[StubRequest]:
        with self._lock:
            return list(self._calls)

    @property
    def call_times(self) -> list[float]:
        """time.monotonic() at which each generateContent request arrived."""
        with self._lock:
            return list(self._times)

    @property
    def probes(self) -> list[StubRequest]:
        """models.get requests received."""
        with self._lock:
            return list(self._probes)

    @property
    def requests(self) -> list[JsonDict]:
        """JSON bodies received, in order."""
        return [call.body for call in self.calls]

    @property
    def request_count(self) -> int:
        with self._lock:
            return len(self._calls)

    # --- used by the handler ---------------------------------------------------------------
    def _record(self, call: StubRequest, *, refused: StubReply | None = None) -> StubReply:
        """Store the request and pick its reply (a refusal, else the queue, then the responder)."""
        with self._lock:
            self._calls.append(call)
            self._times.append(time.monotonic())
            if refused is not None:
                return refused
            if self._queue:
                return self._queue.popleft()
            responder = self._responder
        return responder(call.body)

    def _refusal(self, headers: dict[str, str], model: str) -> StubReply | None:
        """The API's answer to a missing or wrong key or an unknown model, else None."""
        key = headers.get("x-goog-api-key", "")
        if not key:
            return StubReply.error(
                403,
                "Method doesn't allow unregistered callers (callers without established "
                "identity). Please use API Key or other form of API consumer identity.",
            )
        if self.api_key is not None and key != self.api_key:
            return StubReply.invalid_key()
        if model not in self.models:
            return StubReply.model_not_found(model)
        return None

    def _record_probe(self, call: StubRequest) -> None:
        with self._lock:
            self._probes.append(call)

    def _wait(self, seconds: float) -> None:
        if seconds > 0:
            self._stopping.wait(seconds)

    def _track(self, connection: socket.socket, *, open_: bool) -> None:
        with self._lock:
            if open_:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def _close_connections(self) -> None:
        with self._lock:
            connections, self._connections = list(self._connections), set()
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def _handler_class(stub: GeminiStub) -> type[BaseHTTPRequestHandler]:
    """A request handler class bound to ``stub``."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, like the real API (the SDK pools connections)

        def setup(self) -> None:
            super().setup()
            stub._track(self.connection, open_=True)

        def finish(self) -> None:
            stub._track(self.connection, open_=False)
            try:
                super().finish()
            except OSError:
                pass

        def do_GET(self) -> None:
            match = _MODEL_PATH.match(self.path)
            if match is None:
                self._send(StubReply.error(404, f"Unknown path {self.path}."), model="")
                return
            headers = {name.lower(): value for name, value in self.headers.items()}
            stub._record_probe(StubRequest(path=self.path, headers=headers, body={}))
            model = match["model"]
            reply = stub._refusal(headers, model) or StubReply(
                payload={
                    "name": f"models/{model}",
                    "version": "001",
                    "displayName": model,
                    "description": "A stub of a Gemini model.",
                    "inputTokenLimit": 1048576,
                    "outputTokenLimit": 65536,
                    "supportedGenerationMethods": ["generateContent", "countTokens"],
                    "temperature": 1,
                    "topP": 0.95,
                    "topK": 64,
                    "maxTemperature": 2,
                    "thinking": True,
                }
            )
            stub._wait(stub.latency)
            self._send(reply, model=model, generated=False)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            match = _GENERATE_PATH.match(self.path)
            if match is None:
                self._send(StubReply.error(404, f"Unknown path {self.path}."), model="")
                return
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                self._send(StubReply.error(400, "Invalid JSON payload received."), model=match["model"])
                return
            headers = {name.lower(): value for name, value in self.headers.items()}
            refusal = stub._refusal(headers, match["model"])
            reply = stub._record(StubRequest(path=self.path, headers=headers, body=body), refused=refusal)
            stub._wait(stub.latency + reply.delay)
            self._send(reply, model=match["model"])

        def _send(self, reply: StubReply, *, model: str, generated: bool = True) -> None:
            if reply.raw is not None:
                data = reply.raw
            else:
                payload = dict(reply.payload)
                if reply.status == 200 and generated:
                    payload.setdefault("modelVersion", model)
                    payload.setdefault("responseId", "stub-response")
                data = json.dumps(payload, ensure_ascii=False).encode()
            try:
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(data)))
                for name, value in reply.headers:
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data[: len(data) // 2] if reply.truncate else data)
                self.wfile.flush()
            except OSError:  # the client gave up (timeout) or the stub is stopping
                self.close_connection = True
            if reply.truncate:
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


# Valid answers for each language (Philippians 4:6-7, a curated passage: no Bible import needed).
GOOD_ANSWERS: dict[str, JsonDict] = {
    "fr": {
        "book": "PHP",
        "chapter": 4,
        "verse_start": 6,
        "verse_end": 7,
        "opening_words": "Ne vous inquiétez de rien; mais en toute chose",
        "reflection": "Dépose tes soucis devant Dieu aujourd'hui : il prend soin de toi et sa paix garde ton cœur.",
    },
    "en": {
        "book": "PHP",
        "chapter": 4,
        "verse_start": 6,
        "verse_end": 7,
        "opening_words": "In nothing be anxious, but in everything",
        "reflection": "Bring your worries to God today: he cares for you and his peace will guard your heart.",
    },
}


def request_language(body: JsonDict) -> str:
    """The language a generateContent request asks the reflection in ("fr" or "en")."""
    prompt = " ".join(part.get("text", "") for content in body["contents"] for part in content["parts"])
    return "fr" if "reflection in French" in prompt else "en"


def good_answer(body: JsonDict) -> StubReply:
    """A responder: the valid answer in the request's language."""
    return StubReply.json_text(GOOD_ANSWERS[request_language(body)])
