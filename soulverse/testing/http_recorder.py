"""A local HTTP server that records every request (method, path, query, headers, body, gunzipped)
and answers with a programmable status: the outside end of heartbeats (healthchecks.io) and of
Sentry's ingest endpoint in tests.

    with HttpRecorder() as server:      # server.url: http://127.0.0.1:<port>
        server.status = 500             # later requests get 500
"""

from __future__ import annotations

import gzip
import json
import threading
import time
import urllib.parse
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler

from soulverse.testing.loopback import LoopbackServer


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def sentry_items(self) -> list[dict]:
        """The JSON lines of a Sentry envelope (its header, each item's header and payload)."""
        items = []
        for line in self.body.splitlines():
            try:
                items.append(json.loads(line))
            except ValueError:
                continue
        return [item for item in items if isinstance(item, dict)]


class HttpRecorder(LoopbackServer):
    def __init__(self) -> None:
        self.received: list[Recorded] = []
        self.status = 200
        self.delay = 0.0  # seconds before answering
        self._lock = threading.Lock()
        super().__init__(_handler(self))

    @property
    def url(self) -> str:
        return self.base_url

    def requests(self) -> list[Recorded]:
        with self._lock:
            return list(self.received)

    def wait_for(self, predicate, *, timeout: float = 30.0) -> list[Recorded]:
        """The requests once `predicate(requests)` holds (fails the test after `timeout` seconds)."""
        deadline = time.monotonic() + timeout
        while True:
            got = self.requests()
            if predicate(got):
                return got
            if time.monotonic() > deadline:
                raise AssertionError(f"not received within {timeout}s; got {got!r}")
            time.sleep(0.05)


def _handler(recorder: HttpRecorder):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _record(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            parts = urllib.parse.urlsplit(self.path)
            with recorder._lock:
                recorder.received.append(
                    Recorded(
                        self.command,
                        parts.path,
                        urllib.parse.parse_qs(parts.query, keep_blank_values=True),
                        {k.lower(): v for k, v in self.headers.items()},
                        body,
                    )
                )
            if recorder.delay:
                time.sleep(recorder.delay)
            payload = b"OK" if recorder.status < 400 else b"error"
            try:
                self.send_response(recorder.status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up waiting (a timeout test)
                pass

        do_GET = do_POST = do_HEAD = _record

    return Handler
