"""A local HTTP server speaking FCM HTTP v1 and Google's OAuth 2.0 token endpoint.

Built from the public specification, for firebase-admin's own code to talk to over loopback:

- ``POST /token``: the service-account JWT-bearer grant (RFC 7523) that google-auth sends to the
  ``token_uri`` of the credentials file: form fields ``grant_type`` and ``assertion`` (an RS256
  JWT whose ``aud`` is Google's token endpoint and ``scope`` names firebase.messaging or cloud-platform).
  Answers ``{"access_token", "expires_in", "token_type": "Bearer"}``.
- ``POST /v1/projects/{project}/messages:send`` with ``Authorization: Bearer <access token>`` and
  ``{"message": {...}, "validate_only": bool}``; answers ``{"name": "projects/{p}/messages/{id}"}``
  or a ``google.rpc.Status`` error body whose ``details`` hold a
  ``type.googleapis.com/google.firebase.fcm.v1.FcmError`` with its ``errorCode``.

A message targets exactly one of ``fid`` (a Firebase Installation ID), ``token`` (a registration
token, deprecated by FCM), ``topic`` or ``condition``.

Modes: a target (FID or token) starting with ``unregistered``, ``mismatch`` or ``invalid`` is
answered 404 UNREGISTERED, 403 SENDER_ID_MISMATCH or 400 INVALID_ARGUMENT (about ``message.fid``
or ``message.token``); a message whose ``fcm_options.analytics_label`` does not match FCM's
pattern ``^[a-zA-Z0-9-_.~%]{1,50}$`` 400 INVALID_ARGUMENT (about that field); one starting with ``unavailable`` always 503 UNAVAILABLE (a device FCM
cannot reach for now). FCM has no error of its own for an FID sent where the app has not opted in
to FID registration: it answers UNREGISTERED, as ``fids_unregistered`` makes the stub answer
every FID (an app that registers tokens only);
``outage(status, seconds)`` answers every send with 429 QUOTA_EXCEEDED / 500 INTERNAL /
503 UNAVAILABLE for a while (with ``Retry-After``); ``fail_next(n, status)`` does it n times.

    with FcmStub(latency=0.05) as stub:
        path = stub.credentials_file(tmp_path)   # a service account whose token_uri is the stub
        ...
        stub.delivered  # [(fid or token, message dict)] of accepted, non-validate-only sends
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import multiprocessing
import re
import secrets
import signal
import socket
import ssl
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from soulverse.testing.tls import local_tls

FCM_ERROR_TYPE = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
BAD_REQUEST_TYPE = "type.googleapis.com/google.rpc.BadRequest"
# Google's token endpoint: the `aud` of a service-account assertion, whatever URI it is posted to.
GOOGLE_TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"
# Message.fcm_options.analytics_label (FCM v1 reference).
ANALYTICS_LABEL = re.compile(r"^[a-zA-Z0-9-_.~%]{1,50}$")
SCOPES = {"https://www.googleapis.com/auth/firebase.messaging", "https://www.googleapis.com/auth/cloud-platform"}

# FCM v1 error codes (FcmError.errorCode) -> (HTTP status, google.rpc.Code name, message).
ERRORS: dict[str, tuple[int, str, str]] = {
    "UNREGISTERED": (404, "NOT_FOUND", "Requested entity was not found."),
    "SENDER_ID_MISMATCH": (403, "PERMISSION_DENIED", "SenderId mismatch"),
    "INVALID_ARGUMENT": (400, "INVALID_ARGUMENT", "The registration token is not a valid FCM registration token"),
    "QUOTA_EXCEEDED": (429, "RESOURCE_EXHAUSTED", "Quota exceeded for quota metric 'Send requests'."),
    "UNAVAILABLE": (503, "UNAVAILABLE", "The service is currently unavailable."),
    "INTERNAL": (500, "INTERNAL", "Internal error encountered."),
}
STATUS_TO_CODE = {429: "QUOTA_EXCEEDED", 500: "INTERNAL", 503: "UNAVAILABLE"}
TOKEN_MODES = {
    "unregistered": "UNREGISTERED",
    "mismatch": "SENDER_ID_MISMATCH",
    "invalid": "INVALID_ARGUMENT",
    "unavailable": "UNAVAILABLE",
}


def error_body(code: str, target: str = "token") -> dict:
    status, rpc_status, message = ERRORS[code]
    details: list[dict] = [{"@type": FCM_ERROR_TYPE, "errorCode": code}]
    if code == "INVALID_ARGUMENT":
        description = "Invalid installation ID" if target == "fid" else "Invalid registration token"
        details.append(
            {"@type": BAD_REQUEST_TYPE, "fieldViolations": [{"field": f"message.{target}", "description": description}]}
        )
        if target == "fid":
            message = "The installation ID is not a valid Firebase installation ID"
    return {"error": {"code": status, "message": message, "status": rpc_status, "details": details}}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # a batch opens hundreds of connections at once

    def handle_error(self, request, client_address):
        pass  # a client killed mid-request (the fault tests) resets its connection: expected


class FcmStub:
    def __init__(
        self,
        *,
        latency: float = 0.0,
        project_id: str = "soulverse-test",
        token_ttl: int = 3600,
        record: bool = True,
        key_pem: bytes | None = None,
        base_url: str | None = None,
        tls: bool = False,
        max_concurrent_streams: int = 100,
    ):
        """`tls`: HTTPS with a certificate of a test authority (`ca_file`, for the client to trust),
        HTTP/2 or HTTP/1.1 as the client chooses by ALPN, on asyncio in a thread. `key_pem` and
        `base_url` are for a stub served elsewhere (FcmStubProcess): it then opens no server of its
        own."""
        self.latency = latency
        self.max_concurrent_streams = max_concurrent_streams  # HTTP/2: streams in flight per connection
        self.record = record  # False (benchmarks): count accepted sends without keeping them
        self.fids_unregistered = False  # True: every FID is answered UNREGISTERED (app not opted in)
        self.accepted = 0
        self.project_id = project_id
        self.token_ttl = token_ttl
        self._key = (
            serialization.load_pem_private_key(key_pem, password=None)
            if key_pem
            else rsa.generate_private_key(public_exponent=65537, key_size=2048)
        )
        self.client_email = f"firebase-adminsdk@{project_id}.iam.gserviceaccount.com"
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._access_tokens: set[str] = set()
        self._forced: list[tuple[float, str, float | None]] = []  # (until, code, retry_after)
        self._fail_next: list[tuple[str, float | None]] = []
        self.token_requests = 0
        self.requests = 0
        self.delivered: list[tuple[str, dict]] = []
        self.validated: list[tuple[str, dict]] = []
        self.errors: Counter[str] = Counter()
        self.received_at: list[float] = []  # wall-clock time of each accepted send
        self.send_headers: list[dict[str, str]] = []  # each send's request headers (lower-case names)
        self.connections: Counter[str] = Counter()  # connections opened, by protocol ("h2", "http/1.1")
        self.ca_file: Path | None = None
        self.server = None
        if base_url is None and tls:
            self._tls_directory = tempfile.TemporaryDirectory()
            self.ca_file, context = _server_tls(Path(self._tls_directory.name))
            self._listener = socket.create_server(("127.0.0.1", 0), backlog=4096)
            base_url = f"https://127.0.0.1:{self._listener.getsockname()[1]}"
            self._loop = asyncio.new_event_loop()
            self._thread = threading.Thread(target=self._loop_serve, args=(context,), daemon=True)
        elif base_url is None:
            self.server = _Server(("127.0.0.1", 0), self._handler())
            base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
            self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.base_url = base_url
        self.token_uri = f"{self.base_url}/token"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            return
        self._loop.call_soon_threadsafe(self._serving.cancel)
        self._thread.join(10)
        self._tls_directory.cleanup()

    def _loop_serve(self, context: ssl.SSLContext) -> None:
        asyncio.set_event_loop(self._loop)
        self._serving = self._loop.create_task(_serve(self, self._listener, context))
        try:
            self._loop.run_until_complete(self._serving)
        except asyncio.CancelledError:
            pass
        finally:
            self._listener.close()
            self._loop.close()

    # --- what tests use -------------------------------------------------------------------

    def credentials_file(self, directory: Path) -> Path:
        """A service-account JSON whose token_uri is this stub."""
        return _credentials_file(
            directory,
            key=self._key,
            project_id=self.project_id,
            client_email=self.client_email,
            token_uri=self.token_uri,
        )

    def outage(self, *, status: int, seconds: float, retry_after: int | None = None) -> None:
        """Answer every send with the error of `status` (429/500/503) for `seconds`."""
        with self._lock:
            self._forced.append((time.monotonic() + seconds, STATUS_TO_CODE[status], retry_after))

    def fail_next(self, count: int, *, status: int, retry_after: int | None = None) -> None:
        with self._lock:
            self._fail_next.extend([(STATUS_TO_CODE[status], retry_after)] * count)

    def revoke_access_tokens(self) -> None:
        """Forget the access tokens issued so far: sends carrying one are answered 401
        UNAUTHENTICATED, as FCM answers an expired or revoked token."""
        with self._lock:
            self._access_tokens.clear()

    def delivered_tokens(self) -> Counter[str]:
        with self._lock:
            return Counter(token for token, _ in self.delivered)

    def reset(self) -> None:
        with self._lock:
            self.delivered.clear()
            self.validated.clear()
            self.send_headers.clear()
            self.connections.clear()
            self.errors.clear()
            self._forced.clear()
            self._fail_next.clear()
            self.requests = 0

    # --- server ---------------------------------------------------------------------------

    def _connection_opened(self, protocol: str) -> None:
        with self._lock:
            self.connections[protocol] += 1

    def _headers_record(self, headers: dict[str, str]) -> None:
        """A send's request headers (lower-case names; HTTP/2's pseudo-headers left out)."""
        if self.record:
            with self._lock:
                self.send_headers.append({name: value for name, value in headers.items() if name[:1] != ":"})

    def _issue_token(self, form: dict[str, list[str]]) -> tuple[int, dict]:
        if form.get("grant_type") != ["urn:ietf:params:oauth:grant-type:jwt-bearer"] or not form.get("assertion"):
            return 400, {"error": "unsupported_grant_type", "error_description": "Invalid grant_type."}
        try:
            claims = jwt.decode(
                form["assertion"][0],
                self._key.public_key(),
                algorithms=["RS256"],
                audience=[GOOGLE_TOKEN_AUDIENCE, self.token_uri],
                options={"require": ["iss", "aud", "iat", "exp"]},
            )
        except jwt.PyJWTError as exc:
            return 400, {"error": "invalid_grant", "error_description": f"Invalid JWT: {exc}"}
        if claims["iss"] != self.client_email or not SCOPES & set(claims.get("scope", "").split()):
            return 400, {"error": "invalid_scope", "error_description": "Invalid issuer or scope."}
        token = f"ya29.stub-{secrets.token_urlsafe(24)}"
        with self._lock:
            self._access_tokens.add(token)
            self.token_requests += 1
        return 200, {"access_token": token, "expires_in": self.token_ttl, "token_type": "Bearer"}

    def _forced_error(self) -> tuple[str, float | None] | None:
        with self._lock:
            if self._fail_next:
                return self._fail_next.pop(0)
            now = time.monotonic()
            self._forced = [entry for entry in self._forced if entry[0] > now]
            if self._forced:
                _, code, retry_after = self._forced[0]
                return code, retry_after
        return None

    def _send(self, project: str, authorization: str, body: Any) -> tuple[int, dict, dict]:
        with self._lock:
            self.requests += 1
            authorized = authorization.startswith("Bearer ") and authorization[7:] in self._access_tokens
        if not authorized:
            return (
                401,
                {
                    "error": {
                        "code": 401,
                        "status": "UNAUTHENTICATED",
                        "message": "Request had invalid authentication credentials.",
                    }
                },
                {},
            )
        if project != self.project_id:
            return (
                403,
                {"error": {"code": 403, "status": "PERMISSION_DENIED", "message": "Permission denied on project."}},
                {},
            )
        message = body.get("message") if isinstance(body, dict) else None
        targets = [
            key for key in ("fid", "token", "topic", "condition") if isinstance(message, dict) and message.get(key)
        ]
        if len(targets) != 1:
            return (
                400,
                {
                    "error": {
                        "code": 400,
                        "status": "INVALID_ARGUMENT",
                        "message": "Exactly one of fid, token, topic or condition is required.",
                        "details": [{"@type": FCM_ERROR_TYPE, "errorCode": "INVALID_ARGUMENT"}],
                    }
                },
                {},
            )
        label = (message.get("fcm_options") or {}).get("analytics_label")
        if label is not None and not (isinstance(label, str) and ANALYTICS_LABEL.fullmatch(label)):
            return (
                400,
                {
                    "error": {
                        "code": 400,
                        "status": "INVALID_ARGUMENT",
                        "message": "Invalid analytics_label.",
                        "details": [
                            {"@type": FCM_ERROR_TYPE, "errorCode": "INVALID_ARGUMENT"},
                            {
                                "@type": BAD_REQUEST_TYPE,
                                "fieldViolations": [{"field": "message.fcm_options.analytics_label"}],
                            },
                        ],
                    }
                },
                {},
            )
        kind = targets[0]
        token = message.get(kind, "")  # the FID or the token (or the topic, the condition)
        forced = self._forced_error()
        code = forced[0] if forced else next((c for prefix, c in TOKEN_MODES.items() if token.startswith(prefix)), None)
        if code is None and kind == "fid" and self.fids_unregistered:
            code = "UNREGISTERED"
        if code:
            with self._lock:
                self.errors[code] += 1
            headers = {"Retry-After": str(math.ceil(forced[1]))} if forced and forced[1] is not None else {}
            return ERRORS[code][0], error_body(code, "fid" if kind == "fid" else "token"), headers
        message_id = f"0:{int(time.time() * 1000)}%{next(self._ids):08x}"
        with self._lock:
            self.accepted += 1
            if self.record:
                (self.validated if body.get("validate_only") else self.delivered).append((token, message))
                self.received_at.append(time.time())
        if body.get("validate_only"):
            return 200, {"name": f"projects/{project}/messages/fake_message_id"}, {}
        return 200, {"name": f"projects/{project}/messages/{message_id}"}, {}

    @staticmethod
    def _send_project(path: str) -> str | None:
        """The project of a `/v1/projects/{project}/messages:send` path, else None."""
        prefix, _, rest = path.partition("/v1/projects/")
        project, _, action = rest.partition("/")
        return project if not prefix and project and action == "messages:send" else None

    def _post(self, path: str, authorization: str, raw: bytes) -> tuple[int, dict, dict]:
        """A POST to the token endpoint or to messages:send (the caller applies the latency)."""
        if path == "/token":
            return (*self._issue_token(urllib.parse.parse_qs(raw.decode())), {})
        project = self._send_project(path)
        if project is None:
            return 404, {"error": {"code": 404, "status": "NOT_FOUND", "message": "Not found."}}, {}
        try:
            body = json.loads(raw or b"null")
        except ValueError:
            return (
                400,
                {"error": {"code": 400, "status": "INVALID_ARGUMENT", "message": "Invalid JSON payload received."}},
                {},
            )
        return self._send(project, authorization, body)

    def _handler(self):
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as firebase-admin's connection pool expects

            def log_message(self, *args):
                pass

            def _reply(self, status: int, payload: dict, headers: dict | None = None) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=UTF-8")
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                path = urllib.parse.urlsplit(self.path).path
                if stub._send_project(path):
                    stub._headers_record({name.lower(): value for name, value in self.headers.items()})
                if stub.latency and stub._send_project(path):
                    time.sleep(stub.latency)
                self._reply(*stub._post(path, self.headers.get("Authorization", ""), raw))

        return Handler


def _credentials_file(directory: Path, *, key, project_id: str, client_email: str, token_uri: str) -> Path:
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    path = Path(directory) / "service-account.json"
    path.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": project_id,
                "private_key_id": "stub-key-1",
                "private_key": pem,
                "client_email": client_email,
                "client_id": "1",
                "token_uri": token_uri,
            }
        )
    )
    return path


# --- The same stub in a process of its own (benchmarks) -------------------------------------------

REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


class _StubProtocol(asyncio.Protocol):
    """The stub's protocol code on asyncio, over plain TCP or TLS: HTTP/2 when the client chose it
    by ALPN (many concurrent streams on one connection, as FCM serves it), else HTTP/1.1 with
    keep-alive (one request at a time per connection: firebase-admin's clients do not pipeline).
    The latency is waited with a timer instead of a sleeping thread; an answer is written in one
    send (no Nagle delay between its headers and its body)."""

    def __init__(self, stub: FcmStub, counters=None, accept_times=None):
        self.stub = stub
        self.counters = counters  # shared with a parent process: accepted, requests, connections, HTTP/2 ones
        self.accept_times = accept_times  # shared too: wall-clock time of the first and the last accepted send
        self.buffer = b""
        self.busy = False
        self.h2: h2.connection.H2Connection | None = None
        self.streams: dict[int, tuple[dict[str, str], bytearray]] = {}
        self.flush_scheduled = False
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        tls = transport.get_extra_info("ssl_object")
        protocol = (tls.selected_alpn_protocol() if tls is not None else None) or "http/1.1"
        self.stub._connection_opened(protocol)
        if self.counters is not None:
            self.counters[2] += 1
            self.counters[3] += protocol == "h2"
        if protocol == "h2":
            self.h2 = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False, header_encoding="utf-8"))
            self.h2.local_settings.max_concurrent_streams = self.stub.max_concurrent_streams
            self.h2.initiate_connection()
            transport.write(self.h2.data_to_send())

    def data_received(self, data: bytes) -> None:
        if self.h2 is not None:
            self._h2_received(data)
            return
        self.buffer += data
        self._next()

    def connection_lost(self, exc) -> None:
        self.transport = None

    # --- HTTP/2 ---------------------------------------------------------------------------

    def _h2_received(self, data: bytes) -> None:
        try:
            events = self.h2.receive_data(data)
        except h2.exceptions.ProtocolError:
            self._h2_flush()
            if self.transport is not None:
                self.transport.close()
            return
        for event in events:
            if isinstance(event, h2.events.RequestReceived):
                self.streams[event.stream_id] = (
                    {name.lower(): value for name, value in event.headers},
                    bytearray(),
                )
            elif isinstance(event, h2.events.DataReceived):
                if event.stream_id in self.streams:
                    self.streams[event.stream_id][1].extend(event.data)
                self.h2.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif isinstance(event, h2.events.StreamEnded) and event.stream_id in self.streams:
                headers, raw = self.streams.pop(event.stream_id)
                self._request(event.stream_id, headers[":method"], headers[":path"], headers, bytes(raw))
            elif isinstance(event, h2.events.StreamReset):
                self.streams.pop(event.stream_id, None)
            elif isinstance(event, h2.events.ConnectionTerminated) and self.transport is not None:
                self._h2_flush()
                self.transport.close()
        self._h2_flush()

    def _h2_flush(self) -> None:
        self.flush_scheduled = False
        data = self.h2.data_to_send()
        if data and self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    # --- HTTP/1.1 -------------------------------------------------------------------------

    def _next(self) -> None:
        if self.busy:
            return
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = self.buffer[:end].decode("latin-1").split("\r\n")
        headers = {}
        for line in head[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length") or 0)
        if len(self.buffer) < end + 4 + length:
            return
        raw = self.buffer[end + 4 : end + 4 + length]
        self.buffer = self.buffer[end + 4 + length :]
        method, target, _ = head[0].split(" ", 2)
        self.busy = True
        self._request(None, method, target, headers, raw)

    # --- either ---------------------------------------------------------------------------

    def _request(self, stream_id: int | None, method: str, target: str, headers: dict, raw: bytes) -> None:
        path = urllib.parse.urlsplit(target).path
        if method != "POST":
            self._answer(stream_id, 404, {"error": {"code": 404, "status": "NOT_FOUND", "message": "Not found."}}, {})
            return
        if self.stub._send_project(path):
            self.stub._headers_record(headers)
            if self.stub.latency:
                asyncio.get_running_loop().call_later(
                    self.stub.latency, self._reply, stream_id, path, headers.get("authorization", ""), raw
                )
                return
        self._reply(stream_id, path, headers.get("authorization", ""), raw)

    def _reply(self, stream_id: int | None, path: str, authorization: str, raw: bytes) -> None:
        accepted, requests = self.stub.accepted, self.stub.requests
        status, payload, headers = self.stub._post(path, authorization, raw)
        if self.counters is not None:
            self.counters[0] += self.stub.accepted - accepted
            self.counters[1] += self.stub.requests - requests
        if self.accept_times is not None and self.stub.accepted != accepted:
            now = time.time()
            if not self.accept_times[0]:
                self.accept_times[0] = now
            self.accept_times[1] = now
        self._answer(stream_id, status, payload, headers)

    def _answer(self, stream_id: int | None, status: int, payload: dict, headers: dict) -> None:
        data = json.dumps(payload).encode()
        if self.transport is None or self.transport.is_closing():
            return
        if stream_id is not None:
            try:
                self.h2.send_headers(
                    stream_id,
                    [
                        (":status", str(status)),
                        ("content-type", "application/json; charset=UTF-8"),
                        ("content-length", str(len(data))),
                        *((name.lower(), value) for name, value in headers.items()),
                    ],
                )
                self.h2.send_data(stream_id, data, end_stream=True)  # far below the initial window
            except h2.exceptions.StreamClosedError:
                pass  # the client reset the stream meanwhile
            if not self.flush_scheduled:  # the answers due in this turn of the loop leave in one write
                self.flush_scheduled = True
                asyncio.get_running_loop().call_soon(self._h2_flush)
            return
        extra = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        self.transport.write(
            f"HTTP/1.1 {status} {REASONS.get(status, 'Error')}\r\n"
            f"Content-Type: application/json; charset=UTF-8\r\nContent-Length: {len(data)}\r\n"
            f"{extra}\r\n".encode("latin-1")
            + data
        )
        self.busy = False
        self._next()


def _server_tls(directory: Path) -> tuple[Path, ssl.SSLContext]:
    """(the test authority's certificate, a server context offering HTTP/2 and HTTP/1.1 by ALPN)."""
    ca_file, context = local_tls(directory)
    context.set_alpn_protocols(["h2", "http/1.1"])
    return ca_file, context


async def _serve(
    stub: FcmStub, listener: socket.socket, tls: ssl.SSLContext | None, counters=None, accept_times=None
) -> None:
    server = await asyncio.get_running_loop().create_server(
        lambda: _StubProtocol(stub, counters, accept_times), sock=listener, backlog=4096, ssl=tls
    )
    async with server:
        await server.serve_forever()


def _process_serve(
    listener: socket.socket,
    key_pem: bytes,
    base_url: str,
    latency: float,
    project_id: str,
    max_concurrent_streams: int,
    counters,
    accept_times,
    tls_directory: str | None,
) -> None:
    stub = FcmStub(
        latency=latency,
        project_id=project_id,
        record=False,
        key_pem=key_pem,
        base_url=base_url,
        max_concurrent_streams=max_concurrent_streams,
    )
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    tls = None
    if tls_directory is not None:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(Path(tls_directory) / "server.pem", Path(tls_directory) / "server.key")
        tls.set_alpn_protocols(["h2", "http/1.1"])
    asyncio.run(_serve(stub, listener, tls, counters, accept_times))


class FcmStubProcess:
    """The FCM stub (the same FcmStub protocol code) in a process of its own, on asyncio: its CPU
    is measured apart from the client's (in production FCM is remote) and it shares no GIL with
    the benchmark. Token modes only (no outage/fail_next); `accepted` counts accepted sends.
    `tls`: HTTPS (HTTP/2 or HTTP/1.1 by ALPN) with a certificate of a test authority, `ca_file`,
    which the client trusts through FCM_CA_BUNDLE.

        with FcmStubProcess(latency=0.05, tls=True) as stub:
            path = stub.credentials_file(tmp_path)
            stub.base_url, stub.ca_file, stub.pid, stub.accepted, stub.connections
    """

    def __init__(
        self,
        *,
        latency: float = 0.0,
        project_id: str = "soulverse-test",
        tls: bool = False,
        max_concurrent_streams: int = 100,
    ):
        self.latency = latency
        self.project_id = project_id
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.client_email = f"firebase-adminsdk@{project_id}.iam.gserviceaccount.com"
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=4096)
        self._tls_directory = tempfile.TemporaryDirectory() if tls else None
        self.ca_file = _server_tls(Path(self._tls_directory.name))[0] if tls else None
        scheme = "https" if tls else "http"
        self.base_url = f"{scheme}://127.0.0.1:{self._listener.getsockname()[1]}"
        self.token_uri = f"{self.base_url}/token"
        context = multiprocessing.get_context("fork")  # the listening socket is inherited
        self._counters = context.RawArray("q", 4)
        self._accept_times = context.RawArray("d", 2)  # first, last accepted send (Unix time; 0: none yet)
        pem = self._key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        self._process = context.Process(
            target=_process_serve,
            daemon=True,
            args=(
                self._listener,
                pem,
                self.base_url,
                latency,
                project_id,
                max_concurrent_streams,
                self._counters,
                self._accept_times,
                self._tls_directory.name if tls else None,
            ),
        )

    def __enter__(self) -> Self:
        self._process.start()
        self._listener.close()  # the child's copy serves
        return self

    def __exit__(self, *exc) -> None:
        self._process.terminate()
        self._process.join(10)
        if self._tls_directory is not None:
            self._tls_directory.cleanup()

    @property
    def pid(self) -> int:
        return self._process.pid

    @property
    def pids(self) -> list[int]:
        """The stand-in's processes, for CPU accounting (bench/fcm_nginx.FcmNginx has several)."""
        return [self._process.pid]

    @property
    def accepted(self) -> int:
        return self._counters[0]

    @property
    def requests(self) -> int:
        return self._counters[1]

    @property
    def first_accepted_at(self) -> float:
        """Wall-clock (Unix) time of the first send accepted since the last `accept_times_reset`; 0: none."""
        return self._accept_times[0]

    @property
    def last_accepted_at(self) -> float:
        return self._accept_times[1]

    def accept_times_reset(self) -> None:
        self._accept_times[0] = self._accept_times[1] = 0.0

    @property
    def connections(self) -> Counter[str]:
        """Connections opened, by protocol ("h2", "http/1.1")."""
        return Counter({"h2": self._counters[3], "http/1.1": self._counters[2] - self._counters[3]})

    def credentials_file(self, directory: Path) -> Path:
        return _credentials_file(
            directory,
            key=self._key,
            project_id=self.project_id,
            client_email=self.client_email,
            token_uri=self.token_uri,
        )
