"""A local HTTP server speaking enough of Gemini's generateContent REST API for google-genai.

Point the real client at it with ``types.HttpOptions(base_url=stub.base_url)``. The SDK (3.6.x,
Gemini Developer API) sends ``POST /{api_version}/models/{model}:generateContent`` with the API key
in the ``x-goog-api-key`` header and a JSON body ``{"contents": [...], "generationConfig": {...}}``.

    with GeminiStub() as stub:
        stub.enqueue(StubReply.error(503), StubReply.json_text({"answer": 42}))
        ...  # the client sees a 503, then a good answer; later requests use stub.respond(...)
"""

from __future__ import annotations

import json
import re
import socket
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

JsonDict = dict[str, Any]

_GENERATE_PATH = re.compile(r"^/(?P<api_version>[^/]+)/models/(?P<model>[^/:?]+):generateContent$")

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

# A proposal that verses.ai accepts (Psalm 23:1-3); the default answer when nothing is programmed.
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
    """One HTTP answer: status, JSON payload, and a delay (seconds) before it is sent."""

    status: int = 200
    payload: JsonDict = field(default_factory=dict)
    delay: float = 0.0

    @classmethod
    def text(cls, raw: str, *, finish_reason: str = "STOP", delay: float = 0.0) -> StubReply:
        """A well-formed GenerateContentResponse whose single part text is ``raw``."""
        candidate = {
            "content": {"role": "model", "parts": [{"text": raw}]},
            "finishReason": finish_reason,
            "index": 0,
        }
        return cls(payload={"candidates": [candidate], "usageMetadata": _usage(raw)}, delay=delay)

    @classmethod
    def json_text(cls, obj: Any, *, delay: float = 0.0) -> StubReply:
        """A well-formed answer whose part text is ``json.dumps(obj)`` (what JSON mode returns)."""
        return cls.text(json.dumps(obj, ensure_ascii=False), delay=delay)

    @classmethod
    def no_candidates(cls, *, block_reason: str | None = None, delay: float = 0.0) -> StubReply:
        """A 200 answer with an empty candidate list, optionally saying the prompt was blocked."""
        payload: JsonDict = {"candidates": [], "usageMetadata": _usage("")}
        if block_reason:
            payload["promptFeedback"] = {"blockReason": block_reason}
        return cls(payload=payload, delay=delay)

    @classmethod
    def error(cls, status: int, message: str = "", *, delay: float = 0.0) -> StubReply:
        """A Google-style error: ``{"error": {"code", "message", "status"}}``."""
        status_name = _ERROR_STATUS.get(status, "UNKNOWN")
        error = {"code": status, "message": message or f"Stub error {status}.", "status": status_name}
        return cls(status=status, payload={"error": error}, delay=delay)

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
        match = _GENERATE_PATH.match(self.path)
        return match["model"] if match else None

    def prompt_text(self) -> str:
        """All text parts of the request's contents, joined by newlines."""
        parts = (part.get("text", "") for content in self.body.get("contents", []) for part in content.get("parts", []))
        return "\n".join(text for text in parts if text)


Responder = Callable[[JsonDict], StubReply]


def _usage(text: str) -> JsonDict:
    """Rough token counts, enough for clients that read usageMetadata."""
    candidates = max(1, len(text) // 4)
    return {"promptTokenCount": 50, "candidatesTokenCount": candidates, "totalTokenCount": 50 + candidates}


def _default_responder(body: JsonDict) -> StubReply:
    return StubReply.json_text(DEFAULT_PROPOSAL)


class GeminiStub:
    """Threaded local Gemini stub; program it with ``respond`` and ``enqueue``."""

    def __init__(self, *, latency: float = 0.0) -> None:
        self.latency = latency  # seconds added to every reply, on top of the reply's own delay
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

    # --- inspection ------------------------------------------------------------------------
    @property
    def calls(self) -> list[StubRequest]:
        with self._lock:
            return list(self._calls)

    @property
    def requests(self) -> list[JsonDict]:
        """JSON bodies received, in order."""
        return [call.body for call in self.calls]

    @property
    def request_count(self) -> int:
        with self._lock:
            return len(self._calls)

    # --- used by the handler ---------------------------------------------------------------
    def _record(self, call: StubRequest) -> StubReply:
        """Store the request and pick its reply (queue first, then the responder)."""
        with self._lock:
            self._calls.append(call)
            if self._queue:
                return self._queue.popleft()
            responder = self._responder
        return responder(call.body)

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
            reply = stub._record(StubRequest(path=self.path, headers=headers, body=body))
            stub._wait(stub.latency + reply.delay)
            self._send(reply, model=match["model"])

        def _send(self, reply: StubReply, *, model: str) -> None:
            payload = dict(reply.payload)
            if reply.status == 200:
                payload.setdefault("modelVersion", model)
            data = json.dumps(payload, ensure_ascii=False).encode()
            try:
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json; charset=UTF-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                self.wfile.flush()
            except OSError:  # the client gave up (timeout) or the stub is stopping
                self.close_connection = True

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler



# Valid answers for each language (Philippians 4:6-7, a curated passage: no Bible import needed).
GOOD_ANSWERS: dict[str, JsonDict] = {
    "fr": {"book": "PHP", "chapter": 4, "verse_start": 6, "verse_end": 7,
           "opening_words": "Ne vous inquiétez de rien; mais en toute chose",
           "reflection": "Dépose tes soucis devant Dieu aujourd'hui : il prend soin de toi et sa paix garde ton cœur."},
    "en": {"book": "PHP", "chapter": 4, "verse_start": 6, "verse_end": 7,
           "opening_words": "In nothing be anxious, but in everything",
           "reflection": "Bring your worries to God today: he cares for you and his peace will guard your heart."},
}


def request_language(body: JsonDict) -> str:
    """The language a generateContent request asks the reflection in ("fr" or "en")."""
    prompt = " ".join(part.get("text", "") for content in body["contents"] for part in content["parts"])
    return "fr" if "reflection in French" in prompt else "en"


def good_answer(body: JsonDict) -> StubReply:
    """A responder: the valid answer in the request's language."""
    return StubReply.json_text(GOOD_ANSWERS[request_language(body)])
