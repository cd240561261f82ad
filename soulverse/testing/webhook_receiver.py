"""A local Standard Webhooks receiver: verifies each request's signature with the
`standardwebhooks` library, as a consumer would, and records what it got.

    with WebhookReceiver(secret) as receiver:   # or .secret = ... once the endpoint exists
        receiver.answer(500, 500, 200)          # the first answers; then 200
        receiver.drip = 1.0                     # or: answer one byte per second, never finishing soon;
                                                # receiver.held: how long each such request was held
"""

from __future__ import annotations

import json
import select
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler

from standardwebhooks import Webhook, WebhookVerificationError

from soulverse.testing.loopback import LoopbackServer


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    verified: bool
    payload: dict | None
    error: str


class WebhookReceiver(LoopbackServer):
    def __init__(self, secret: str = "") -> None:
        self.secret = secret
        self.received: list[Received] = []
        self._answers: deque = deque()
        self.default_status = 200
        self.delay = 0.0
        self.drip = 0.0
        self.held: list[float] = []
        self._lock = threading.Lock()
        super().__init__(_handler(self))

    @property
    def url(self) -> str:
        return f"{self.base_url}/hooks/soulverse"

    def answer(self, *statuses: int | tuple[int, dict]) -> None:
        """The next answers (a status, or a status with headers); afterwards `default_status`."""
        self._answers.extend(statuses)

    def events(self) -> list[str]:
        return [r.payload["type"] for r in self.received if r.payload]

    def wait_for(self, count: int, timeout: float = 30) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.1)
        return list(self.received)

    def _record(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict]:
        try:
            payload = Webhook(self.secret).verify(body, headers)
            verified, error = True, ""
        except WebhookVerificationError as exc:
            payload, verified, error = None, False, str(exc)
            try:
                json.loads(body)
            except ValueError:
                pass
        with self._lock:
            self.received.append(Received(path, headers, body, verified, payload, error))
            answer = self._answers.popleft() if self._answers else self.default_status
        return answer if isinstance(answer, tuple) else (answer, {})


def _handler(receiver: WebhookReceiver):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's naming)
            started = time.monotonic()
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            status, headers = receiver._record(self.path, dict(self.headers.items()), body)
            if receiver.drip:
                self._drip(started, status)
                return
            if receiver.delay:
                time.sleep(receiver.delay)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def _drip(self, started: float, status: int) -> None:
            """The answer one byte at a time, `receiver.drip` seconds apart (a minute's worth), until
            the client hangs up; how long it held the connection goes to `receiver.held`."""
            answer = f"HTTP/1.1 {status} OK\r\nContent-Length: 60\r\n\r\n".encode() + b"." * 60
            for byte in answer:
                try:
                    self.connection.sendall(bytes([byte]))
                except OSError:
                    break
                readable, _, _ = select.select([self.connection], [], [], receiver.drip)
                if readable:  # end of stream: the client closed its side
                    break
            receiver.held.append(time.monotonic() - started)
            self.close_connection = True

        def log_message(self, format, *args):
            pass

    return Handler
