"""firebase-admin as the FCM transport uses it. Every private name of the SDK the transport relies
on is reached here and only here, through the accessors below; verses/tests/test_fcm_sdk_contract.py
pins each of them, so an upgrade of firebase-admin that changes one fails that test, not a morning
push. Below the accessors: the transport built on them (the pooled sender, the HTTP/2 sender, the
libcurl sender, the session tuning, the trust of FCM_CA_BUNDLE, the OAuth token refresh)."""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import heapq
import itertools
import json
import os
import ssl
import threading
import time
import urllib.parse
import weakref

import firebase_admin
import google.auth.transport.requests
import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions
import httpx
import pycurl
import requests.adapters
import requests.certs
import requests.structures
import urllib3
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from firebase_admin import (
    _http_client,  # firebase-admin's own retry policy, timeout and metrics headers
    _retry,  # its retry policy as an httpx transport (send_each_async's)
    exceptions,
    messaging,
)

BATCH_MAX = 500  # firebase-admin's send_each limit

# --- firebase-admin's private names (pinned by the contract test) -------------------------------

RETRY_CONFIG = _http_client.DEFAULT_RETRY_CONFIG  # a urllib3 Retry: 500/503 retried with back-off
METRICS_HEADERS = _http_client.METRICS_HEADERS
DEFAULT_TIMEOUT_SECONDS = _http_client.DEFAULT_TIMEOUT_SECONDS
HTTPX_RETRY_CONFIG = _http_client.DEFAULT_HTTPX_RETRY_CONFIG  # an HttpxRetry: 500/503 with back-off


def httpx_retry_transport(**transport_options) -> httpx.AsyncBaseTransport:
    """firebase-admin's retrying httpx transport (HTTP/2 on), as send_each_async's client mounts it;
    `transport_options` go to the httpx.AsyncHTTPTransport it wraps (verify, limits)."""
    return _retry.HttpxRetryTransport(retry=HTTPX_RETRY_CONFIG, **transport_options)


def httpx_credential_auth(credential) -> httpx.Auth:
    """firebase-admin's httpx auth flow: the Bearer token, refreshed on a 401."""
    return _http_client.GoogleAuthCredentialFlow(credential)


def messaging_service(app: firebase_admin.App):
    """The app's FCM service (firebase-admin's _MessagingService)."""
    return messaging._get_messaging_service(app)


def service_url(service) -> str:
    """The `messages:send` URL the service posts to."""
    return service._fcm_url


def service_url_set(service, url: str) -> None:
    """Point the service at another endpoint (a loopback stub): firebase-admin has no public option."""
    service._fcm_url = url


def service_session(service) -> requests.Session:
    """The requests session of the service's HTTP client."""
    return service._client.session


def service_headers(service) -> dict[str, str]:
    """The headers firebase-admin sends with each message (API format, client version, metrics)."""
    return {**service._fcm_headers, **METRICS_HEADERS}


def message_payload(service, message: messaging.Message, *, dry_run: bool) -> dict:
    """The JSON body firebase-admin posts for `message` (validate_only when `dry_run`)."""
    return service._message_data(message, dry_run)


def fcm_error(service, error: requests.exceptions.RequestException) -> exceptions.FirebaseError:
    """A requests error (an FCM error answer or a transport error) read into firebase-admin's
    exception classes (UnregisteredError, QuotaExceededError, ...)."""
    return service._handle_fcm_error(error)


def fcm_httpx_error(service, error: httpx.HTTPError) -> exceptions.FirebaseError:
    """The same for an httpx error (HTTPStatusError, ConnectError, TimeoutException, ...)."""
    return service._handle_fcm_httpx_error(error)


def service_httpx_client(service):
    """firebase-admin's HttpxAsyncClient of the service (send_each_async's)."""
    return service._async_client


def service_httpx_client_set(service, client: httpx.AsyncClient) -> None:
    """Replace the httpx.AsyncClient inside it (firebase-admin has no option for its CA bundle)."""
    service._async_client._async_client = client


def authorized_session_token_session(session) -> requests.Session | None:
    """The plain requests session google-auth's AuthorizedSession refreshes its token with
    (None when it was given a request of its own)."""
    return session._auth_request_session


def send_response(answer: dict | None, exception: exceptions.FirebaseError | None) -> messaging.SendResponse:
    return messaging.SendResponse(answer, exception)


def batch_response(responses: list[messaging.SendResponse]) -> messaging.BatchResponse:
    return messaging.BatchResponse(responses)


def message_bodies(service, messages: list[messaging.Message], *, dry_run: bool) -> list[bytes]:
    """The bytes firebase-admin's send_each would post for each message."""
    return [
        json.dumps(message_payload(service, message, dry_run=dry_run), allow_nan=False).encode() for message in messages
    ]


# --- The transport ------------------------------------------------------------------------------
def fcm_session_tune(session: requests.Session, fcm_url: str) -> None:
    """Make firebase-admin's requests session cheap per message (bench/push.py measures it).

    - A connection pool as large as a batch: send_each runs a thread per message, and with
      firebase-admin's 100 the other 400 connections (TLS handshakes on fcm.googleapis.com) were
      opened and thrown away at every batch. Same retry policy as firebase-admin's own adapter.
    - The environment (proxies, CA bundle, .netrc) read once here rather than on every request
      (requests' trust_env scans os.environ and stats ~/.netrc per call: a fifth of the CPU).
    - FCM_CA_BUNDLE, when set, trusted for FCM and for the token endpoint."""
    base = "{0.scheme}://{0.netloc}".format(urllib.parse.urlsplit(fcm_url))
    adapter = requests.adapters.HTTPAdapter(pool_connections=1, pool_maxsize=BATCH_MAX, max_retries=RETRY_CONFIG)
    session.mount(base, adapter)
    environment = session.merge_environment_settings(fcm_url, {}, None, None, None)
    session.proxies.update(environment["proxies"])
    session.verify = settings.FCM_CA_BUNDLE or environment["verify"]
    session.trust_env = False
    token_session = authorized_session_token_session(session)
    if token_session is not None and settings.FCM_CA_BUNDLE:
        token_session.mount("https://", _TrustingAdapter(settings.FCM_CA_BUNDLE, max_retries=RETRY_CONFIG))


class _TrustingAdapter(requests.adapters.HTTPAdapter):
    """Verifies with `ca_bundle` whatever the environment says: requests lets REQUESTS_CA_BUNDLE
    and CURL_CA_BUNDLE override a session's `verify` when it reads the environment (proxies)."""

    def __init__(self, ca_bundle: str, **options) -> None:
        super().__init__(**options)
        self.ca_bundle = ca_bundle

    def send(self, request, **options):
        options["verify"] = self.ca_bundle
        return super().send(request, **options)


def fcm_auth_request() -> google.auth.transport.requests.Request:
    """What google-auth refreshes the OAuth token with: a requests session trusting FCM_CA_BUNDLE."""
    session = requests.Session()
    if settings.FCM_CA_BUNDLE:
        session.mount("https://", _TrustingAdapter(settings.FCM_CA_BUNDLE))
    return google.auth.transport.requests.Request(session)


def fcm_ssl_context(url: str) -> ssl.SSLContext:
    """The TLS client context for FCM: FCM_CA_BUNDLE, else the CA bundle requests would use."""
    verify = settings.FCM_CA_BUNDLE or fcm_environment(url)["verify"]
    if verify is False:
        return httpx.create_ssl_context(verify=False)
    if isinstance(verify, str) and os.path.isdir(verify):
        return ssl.create_default_context(capath=verify)
    return ssl.create_default_context(cafile=verify if isinstance(verify, str) else requests.certs.where())


class _FcmSender:
    """What each sender of prebuilt bodies (pool, h2, curl) takes from firebase-admin: the app's
    FCM service (the endpoint, its headers, its reading of errors), its OAuth credential, its
    timeout; and a request to refresh the credential with (trusting FCM_CA_BUNDLE)."""

    def __init__(self, app: firebase_admin.App) -> None:
        service = messaging_service(app)
        self._service = service
        self._credential = app.credential.get_credential()
        self._url = service_url(service)
        self._fcm_headers = {**service_headers(service), "Content-Type": "application/json; charset=utf-8"}
        self._timeout_seconds = app.options.get("httpTimeout", DEFAULT_TIMEOUT_SECONDS)
        self._auth_request = fcm_auth_request()  # for token refreshes

    def send_each(self, messages: list[messaging.Message], *, dry_run: bool) -> messaging.BatchResponse:
        return self.send_bodies(message_bodies(self._service, messages, dry_run=dry_run))

    def send_bodies(self, bodies: list[bytes]) -> messaging.BatchResponse:
        """Post each JSON body (a `messages:send` request, as message_payload encodes it)."""
        raise NotImplementedError

    def _request_headers(self) -> dict[str, str]:
        """firebase-admin's FCM headers, and what google-auth adds to each request (the Bearer
        token, refreshed first if it has expired, and the credential type in x-goog-api-client)."""
        headers = dict(self._fcm_headers)
        self._credential.before_request(self._auth_request, "POST", self._url, headers)
        return headers


class _PooledSender(_FcmSender):
    """`messages:send` as firebase-admin's send_each makes it, at a fraction of its CPU.

    firebase-admin still does everything that is FCM: the message's JSON (`_message_data`), the
    endpoint and its headers, the OAuth credential, the retry policy of 500/503 (its urllib3
    `Retry`) and the reading of an error answer into its exception classes (`_handle_fcm_error`).
    Only the transport differs: urllib3's connection pool, kept for the process, and a fixed set
    of threads that take the batch's messages in turn, instead of requests + google-auth's session
    and a new thread per message, which cost about half of the client's CPU per push
    (bench/push_send.py: FCM_SEND_MODE=threads against pool)."""

    def __init__(self, app: firebase_admin.App) -> None:
        super().__init__(app)
        self._timeout = urllib3.Timeout(connect=self._timeout_seconds, read=self._timeout_seconds)
        self._threads = settings.FCM_CONCURRENCY
        # FCM_CA_BUNDLE, else the CA bundle as requests would read it from the environment (once).
        # Through a proxy, firebase-admin's own send_each is used instead (fcm_send_each): requests
        # selects it and authenticates to it.
        verify = settings.FCM_CA_BUNDLE or fcm_environment(self._url)["verify"]  # True (certifi), a path, False
        if verify is False:
            tls = {"cert_reqs": "CERT_NONE"}
        elif isinstance(verify, str) and os.path.isdir(verify):
            tls = {"ca_cert_dir": verify}
        else:
            tls = {"ca_certs": verify if isinstance(verify, str) else requests.certs.where()}
        self._pool = urllib3.PoolManager(maxsize=self._threads, **tls).connection_from_url(self._url)
        self._path = urllib.parse.urlsplit(self._url).path
        self._executor = concurrent.futures.ThreadPoolExecutor(max_workers=self._threads, thread_name_prefix="fcm-send")

    def close(self) -> None:
        self._executor.shutdown(wait=False)
        self._pool.close()

    def send_bodies(self, bodies: list[bytes]) -> messaging.BatchResponse:
        headers = self._request_headers()
        responses: list[messaging.SendResponse | None] = [None] * len(bodies)
        turns = itertools.count()  # each thread takes the next message (next() is atomic)

        def work() -> None:
            while (index := next(turns)) < len(bodies):
                responses[index] = self._send_one(bodies[index], headers)

        for future in [self._executor.submit(work) for _ in range(min(self._threads, len(bodies)))]:
            future.result()
        return batch_response(responses)

    def _send_one(self, body: bytes, headers: dict[str, str]) -> messaging.SendResponse:
        try:
            return self._send_or_raise(body, headers)
        except Exception as exc:  # as send_each: the message's verdict, never an abandoned batch
            error = exceptions.UnknownError(f"Unknown error while sending: {exc}", cause=exc)
            return send_response(None, error)

    def _send_or_raise(self, body: bytes, headers: dict[str, str]) -> messaging.SendResponse:
        for attempt in range(2):  # a 401: the OAuth token is refreshed (once for all) and the send tried again
            try:
                answer = self._pool.urlopen(
                    "POST",
                    self._path,
                    body=body,
                    headers=headers,
                    timeout=self._timeout,
                    retries=RETRY_CONFIG.new(),
                    redirect=False,
                )
            except urllib3.exceptions.HTTPError as exc:
                return send_response(None, fcm_error(self._service, _requests_error(exc)))
            if answer.status == 401 and attempt == 0:
                fcm_token_refresh(self._credential, stale=headers["authorization"].removeprefix("Bearer "))
                headers = self._request_headers()
                continue
            break
        if 200 <= answer.status < 300:
            return send_response(json.loads(answer.data), None)
        return send_response(None, fcm_error(self._service, _requests_http_error(self._url, answer)))


class _H2Connection(asyncio.Protocol):
    """One HTTP/2 connection on the h2 library's state machine: requests open streams, answers
    settle their futures. The frames of every stream opened in one turn of the event loop leave
    in one TLS write."""

    def __init__(self) -> None:
        self.h2 = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding=None))
        self.transport: asyncio.Transport | None = None
        self.failure: Exception | None = None  # set once the connection takes no new stream
        self._answers: dict[int, list] = {}  # stream -> [future, status, headers, body, timer]
        self._waiters: list[asyncio.Future] = []  # for a stream slot or flow-control window
        self._flush_scheduled = False
        # Settled by the server's first SETTINGS frame: until it comes, h2 knows no stream limit.
        self.settings_received = asyncio.get_running_loop().create_future()

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.h2.initiate_connection()
        self._flush()

    def connection_lost(self, exc) -> None:
        self._close(httpx.ReadError(f"the connection to FCM was lost: {exc or 'closed by the server'}"))

    def data_received(self, data: bytes) -> None:
        try:
            events = self.h2.receive_data(data)
        except h2.exceptions.ProtocolError as exc:
            self._close(httpx.RemoteProtocolError(f"HTTP/2 protocol error: {exc}"))
            return
        for event in events:
            if isinstance(event, h2.events.ResponseReceived):
                answer = self._answers.get(event.stream_id)
                if answer is not None:
                    answer[2] = event.headers
            elif isinstance(event, h2.events.DataReceived):
                answer = self._answers.get(event.stream_id)
                if answer is not None:
                    answer[3] += event.data
                self.h2.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif isinstance(event, h2.events.StreamEnded):
                self._settle(event.stream_id, None)
            elif isinstance(event, h2.events.StreamReset):
                self._settle(event.stream_id, httpx.RemoteProtocolError(f"stream reset by FCM ({event.error_code!r})"))
            elif isinstance(event, h2.events.ConnectionTerminated):  # GOAWAY: no new stream; later ones unseen
                self.failure = httpx.ConnectError(f"FCM closed the connection (GOAWAY {event.error_code!r})")
                for stream_id in [sid for sid in self._answers if sid > (event.last_stream_id or 0)]:
                    self._settle(stream_id, self.failure)
            elif isinstance(event, h2.events.WindowUpdated | h2.events.RemoteSettingsChanged):
                if not self.settings_received.done():
                    self.settings_received.set_result(None)
                self._wake()
        self._flush()

    async def exchange(self, headers: list[tuple[bytes, bytes]], body: bytes, timeout: float):
        """(status, headers, body) of one request on a stream of its own."""
        # Its own streams are all a client's: counted here rather than by h2's scan of every stream.
        while self.failure is None and len(self._answers) >= self.h2.remote_settings.max_concurrent_streams:
            await self._wait()
        if self.failure is not None:
            raise self.failure
        try:
            stream_id = self.h2.get_next_available_stream_id()
        except h2.exceptions.NoAvailableStreamIDError:
            self.failure = httpx.ConnectError("stream ids used up: a new connection")
            raise self.failure from None
        loop = asyncio.get_running_loop()
        answer = [loop.create_future(), 0, [], bytearray(), loop.call_later(timeout, self._expire, stream_id)]
        self._answers[stream_id] = answer
        self.h2.send_headers(stream_id, headers)
        sent = 0
        while sent < len(body):  # a body larger than the window waits for the server's WINDOW_UPDATE
            size = min(self.h2.local_flow_control_window(stream_id), self.h2.max_outbound_frame_size, len(body) - sent)
            if size <= 0:
                self._flush()
                await self._wait()
                if answer[0].done():
                    break
                continue
            self.h2.send_data(stream_id, body[sent : sent + size])
            sent += size
        if not answer[0].done():
            self.h2.end_stream(stream_id)
            self._flush_soon()
        await answer[0]
        status = next(int(value) for name, value in answer[2] if name == b":status")
        return status, answer[2], bytes(answer[3])

    def _settle(self, stream_id: int, error: Exception | None) -> None:
        answer = self._answers.pop(stream_id, None)
        if answer is None:
            return
        answer[4].cancel()
        if answer[0].done():
            pass
        elif error is not None:
            answer[0].set_exception(error)
        else:
            answer[0].set_result(None)
        self._wake()

    def _expire(self, stream_id: int) -> None:
        try:
            self.h2.reset_stream(stream_id, h2.errors.ErrorCodes.CANCEL)
        except h2.exceptions.H2Error:
            pass
        self._settle(stream_id, httpx.ReadTimeout("no answer from FCM within the timeout"))
        self._flush()

    def _close(self, error: Exception) -> None:
        self.failure = self.failure or error
        if not self.settings_received.done():
            self.settings_received.set_exception(self.failure)
        for stream_id in list(self._answers):
            self._settle(stream_id, error)
        self._wake()
        if self.transport is not None:
            self.transport.close()

    async def _wait(self) -> None:
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        await waiter

    def _wake(self) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    def _flush_soon(self) -> None:
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        data = self.h2.data_to_send()
        if data and self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)


class _H2Sender(_FcmSender):
    """`messages:send` over one HTTP/2 connection per process (the h2 library on asyncio, TLS with
    ALPN): FCM_CONCURRENCY streams in flight, taken in turn by as many coroutines on an event loop
    of the sender's own, within the server's SETTINGS_MAX_CONCURRENT_STREAMS.

    As in the pooled sender, firebase-admin does everything that is FCM: the message's JSON, the
    endpoint and its headers, the OAuth credential, its httpx retry policy (send_each_async's:
    500/503 with back-off) and its reading of httpx errors. One TLS connection instead of one per
    request in flight; HPACK sends the repeated headers (the Bearer token, the metrics) as table
    indices; httpx's own HTTP/2 client costs three times the CPU of the pooled sender here
    (docs/benchmarks.md)."""

    def __init__(self, app: firebase_admin.App) -> None:
        super().__init__(app)
        parts = urllib.parse.urlsplit(self._url)
        if parts.scheme != "https":
            raise ImproperlyConfigured(f"FCM_SEND_MODE=h2 speaks HTTP/2 over TLS only, not to {self._url}")
        self._host, self._port = parts.hostname, parts.port or 443
        self._static = [
            (b":method", b"POST"),
            (b":scheme", b"https"),
            (b":authority", parts.netloc.encode()),
            (b":path", parts.path.encode()),
        ]
        self._timeout = self._timeout_seconds
        self._streams = settings.FCM_CONCURRENCY
        self._context = fcm_ssl_context(self._url)
        self._context.set_alpn_protocols(["h2"])
        self._loop = asyncio.new_event_loop()
        self._connection: _H2Connection | None = None
        self._connecting: asyncio.Task | None = None

    def close(self) -> None:
        if self._connection is not None and self._connection.transport is not None:
            self._connection.transport.close()
        if not self._loop.is_closed():
            self._loop.run_until_complete(asyncio.sleep(0))  # let the transport close
            self._loop.close()

    def send_bodies(self, bodies: list[bytes]) -> messaging.BatchResponse:
        return batch_response(self._loop.run_until_complete(self._send_all(bodies)))

    async def _send_all(self, bodies: list[bytes]) -> list[messaging.SendResponse]:
        headers = self._headers()
        responses: list[messaging.SendResponse | None] = [None] * len(bodies)
        turns = iter(range(len(bodies)))

        async def work() -> None:
            for index in turns:
                responses[index] = await self._send_one(bodies[index], headers)

        await asyncio.gather(*(work() for _ in range(min(self._streams, len(bodies)))))
        return responses

    def _headers(self) -> list[tuple[bytes, bytes]]:
        """The request's headers, lower-case as HTTP/2 wants them."""
        headers = self._request_headers()
        return [*self._static, *((name.lower().encode(), value.encode()) for name, value in headers.items())]

    async def _connected(self) -> _H2Connection:
        """The connection, opened by the first coroutine that finds none (the others wait for it)."""
        if self._connection is None or self._connection.failure is not None:
            if self._connecting is None or self._connecting.done():
                self._connecting = self._loop.create_task(self._connect())
            try:
                self._connection = await asyncio.shield(self._connecting)
            finally:
                if self._connecting.done() and self._connecting.exception() is not None:
                    self._connection = None
        return self._connection

    async def _connect(self) -> _H2Connection:
        try:
            async with asyncio.timeout(self._timeout):
                _, connection = await self._loop.create_connection(
                    _H2Connection, self._host, self._port, ssl=self._context, server_hostname=self._host
                )
                if connection.transport.get_extra_info("ssl_object").selected_alpn_protocol() != "h2":
                    connection.transport.close()
                    raise httpx.ConnectError(f"{self._url} did not agree to HTTP/2 (ALPN)")
                # Its streams wait for the server's limit on them (SETTINGS_MAX_CONCURRENT_STREAMS).
                await connection.settings_received
        except TimeoutError:
            raise httpx.ConnectTimeout(f"no connection to {self._url} within the timeout") from None
        except OSError as exc:  # refused, unreachable, a certificate not verified (ssl.SSLError)
            raise httpx.ConnectError(f"{exc} ({self._url})") from exc
        return connection

    async def _send_one(self, body: bytes, headers: list[tuple[bytes, bytes]]) -> messaging.SendResponse:
        try:
            return await self._send_or_raise(body, headers)
        except Exception as exc:  # as send_each: the message's verdict, never an abandoned batch
            return send_response(None, exceptions.UnknownError(f"Unknown error while sending: {exc}", cause=exc))

    async def _send_or_raise(self, body: bytes, headers: list[tuple[bytes, bytes]]) -> messaging.SendResponse:
        for attempt in range(2):  # a 401: the OAuth token is refreshed (once for all) and the send tried again
            try:
                status, answer_headers, content = await self._exchange(body, headers)
            except httpx.HTTPError as exc:
                return send_response(None, fcm_httpx_error(self._service, exc))
            if status == 401 and attempt == 0:
                stale = dict(headers)[b"authorization"].decode().removeprefix("Bearer ")
                fcm_token_refresh(self._credential, stale=stale)
                headers = self._headers()
                continue
            break
        if 200 <= status < 300:
            return send_response(json.loads(content), None)
        response = self._response(status, answer_headers, content)
        error = httpx.HTTPStatusError(f"{status} error from FCM", request=response.request, response=response)
        return send_response(None, fcm_httpx_error(self._service, error))

    async def _exchange(self, body: bytes, headers: list[tuple[bytes, bytes]]):
        """One request with firebase-admin's httpx retry policy, as its HttpxRetryTransport
        applies it: a retryable answer is sent again after the back-off; a transport error is not."""
        retry = HTTPX_RETRY_CONFIG.copy()
        request_headers = [*headers, (b"content-length", str(len(body)).encode())]
        answer = None
        while not retry.is_exhausted():
            if answer is not None:
                await retry.sleep(answer)
            connection = await self._connected()
            status, answer_headers, content = await connection.exchange(request_headers, body, self._timeout)
            if 200 <= status < 300 and status not in (retry.status_forcelist or ()):
                return status, answer_headers, content  # no 2xx is retried: no httpx.Response to build
            answer = self._response(status, answer_headers, content)
            if not retry.is_retryable_response(answer):
                break
            retry.increment(answer.request, answer, None)
        return answer.status_code, answer_headers, answer.content

    def _response(self, status: int, headers: list[tuple[bytes, bytes]], content: bytes) -> httpx.Response:
        """An answer as the httpx response firebase-admin reads FCM's errors (and Retry-After) from."""
        return httpx.Response(
            status,
            headers=[(name, value) for name, value in headers if not name.startswith(b":")],
            content=content,
            request=httpx.Request("POST", self._url),
        )


class _CurlSender(_FcmSender):
    """`messages:send` through libcurl (pycurl's multi interface): TLS, HTTP/2 framing and the
    connection's streams are libcurl's C; Python only hands it each prebuilt body and reads each
    answer. FCM_CONCURRENCY requests in flight per process, as streams of HTTP/2 connections over
    TLS: libcurl opens another when the open ones carry 100 streams each (its limit; fewer if the
    server says so). Over plain HTTP (a loopback stand-in), HTTP/1.1 connections kept alive.

    As in the pooled sender, firebase-admin does everything that is FCM: the message's JSON, the
    endpoint and its headers, the OAuth credential (one refresh on a 401), its retry policy (the
    urllib3 `Retry` of send_each: 500/503 with back-off, a Retry-After honoured, one retry of a
    failed connection) and its reading of an error answer into its exception classes."""

    def __init__(self, app: firebase_admin.App) -> None:
        super().__init__(app)
        self._timeout_ms = int(self._timeout_seconds * 1000)
        verify = settings.FCM_CA_BUNDLE or fcm_environment(self._url)["verify"]  # True (certifi), a path, False
        if verify is False:
            self._tls = [(pycurl.SSL_VERIFYPEER, 0), (pycurl.SSL_VERIFYHOST, 0)]
        elif isinstance(verify, str) and os.path.isdir(verify):
            self._tls = [(pycurl.CAINFO, None), (pycurl.CAPATH, verify)]  # not libcurl's built-in bundle
        else:
            self._tls = [(pycurl.CAINFO, verify if isinstance(verify, str) else requests.certs.where())]
        self._multi = pycurl.CurlMulti()
        self._multi.setopt(pycurl.M_PIPELINING, pycurl.PIPE_MULTIPLEX)
        self._free = [self._handle() for _ in range(settings.FCM_CONCURRENCY)]

    def _handle(self) -> pycurl.Curl:
        handle = pycurl.Curl()
        for option, value in [
            (pycurl.URL, self._url),
            (pycurl.POST, 1),
            (pycurl.HTTP_VERSION, pycurl.CURL_HTTP_VERSION_2TLS),  # HTTP/2 by ALPN over TLS
            # A new request waits to be a stream of an open connection rather than open its own;
            # libcurl opens another once they carry 100 streams each (its limit; fewer if the server
            # says so).
            (pycurl.PIPEWAIT, 1),
            (pycurl.PROXY, ""),  # no proxy of the environment's: through one, firebase-admin sends
            (pycurl.NOSIGNAL, 1),
            # urllib3's timeout is per phase (the connection, then each read): the whole transfer gets both.
            (pycurl.CONNECTTIMEOUT_MS, self._timeout_ms),
            (pycurl.TIMEOUT_MS, 2 * self._timeout_ms),
            (pycurl.FOLLOWLOCATION, 0),
            *self._tls,
        ]:
            handle.setopt(option, value)
        return handle

    def close(self) -> None:
        for handle in self._free:
            handle.close()
        self._multi.close()

    def send_bodies(self, bodies: list[bytes]) -> messaging.BatchResponse:
        batch = _CurlBatch(self, bodies)
        batch.run()
        return batch_response(batch.responses)

    def _headers(self) -> list[str]:
        """The request's headers, as libcurl takes them."""
        return [f"{name}: {value}" for name, value in self._request_headers().items()]


class _CurlBatch:
    """One batch through a _CurlSender: each body on a free handle, answers read as libcurl
    completes them, retries (firebase-admin's policy) put back after their back-off."""

    def __init__(self, sender: _CurlSender, bodies: list[bytes]) -> None:
        self.sender = sender
        self.bodies = bodies
        self.responses: list[messaging.SendResponse | None] = [None] * len(bodies)
        self.headers = sender._headers()
        self._todo = collections.deque(range(len(bodies)))
        self._later: list[tuple[float, int]] = []  # (monotonic time, index): retries after their back-off
        self._retries: dict[int, urllib3.Retry] = {}
        self._refused_once: set[int] = set()  # 401s: the token refreshed, the message sent again once
        # handle -> (index, the headers it was sent with, the answer's body chunks and header lines)
        self._active: dict[pycurl.Curl, tuple[int, list[str], list[bytes], list[bytes]]] = {}

    def run(self) -> None:
        try:
            self._run()
        finally:  # an error of libcurl's own, an interrupt: the handles go back, the messages get a verdict
            for handle, (index, *_) in list(self._active.items()):
                self._release(handle)
                self.responses[index] = _unknown_error(RuntimeError("the batch was interrupted"))
            self._active.clear()

    def _run(self) -> None:
        multi = self.sender._multi
        while self._todo or self._later or self._active:
            now = time.monotonic()
            while self._later and self._later[0][0] <= now:
                self._todo.append(heapq.heappop(self._later)[1])
            while self._todo and self.sender._free:
                index = self._todo.popleft()
                try:
                    self._start(index)
                except Exception as exc:  # as send_each: the message's verdict, never an abandoned batch
                    self.responses[index] = _unknown_error(exc)
            if not self._active:
                if self._later:
                    time.sleep(max(0.0, self._later[0][0] - now))
                continue
            # Until a socket is ready or libcurl's next timer (a new transfer, a timeout), 50 ms at most.
            timer = multi.timeout()
            wait = 0.05 if timer < 0 else min(timer / 1000, 0.05)
            if any(multi.fdset()):
                multi.select(wait)
            else:  # no socket yet (a connection being set up): select would return at once
                time.sleep(wait)
            while multi.perform()[0] == pycurl.E_CALL_MULTI_PERFORM:
                pass
            while True:
                queued, done, failed = multi.info_read()
                for handle in done:
                    self._finish(handle, None)
                for handle, code, message in failed:
                    self._finish(handle, (code, message))
                if not queued:
                    break

    def _start(self, index: int) -> None:
        chunks: list[bytes] = []
        lines: list[bytes] = []
        handle = self.sender._free[-1]
        handle.setopt(pycurl.HTTPHEADER, self.headers)
        handle.setopt(pycurl.POSTFIELDS, self.bodies[index])
        handle.setopt(pycurl.WRITEFUNCTION, chunks.append)
        handle.setopt(pycurl.HEADERFUNCTION, lines.append)
        self.sender._multi.add_handle(handle)
        self._active[self.sender._free.pop()] = (index, self.headers, chunks, lines)

    def _finish(self, handle: pycurl.Curl, failure: tuple[int, str] | None) -> None:
        index, headers, chunks, lines = self._active.pop(handle)
        try:
            status = handle.getinfo(pycurl.RESPONSE_CODE)
        finally:
            self._release(handle)
        try:
            self._read(index, headers, status, b"".join(chunks), lines, failure)
        except Exception as exc:  # as send_each: the message's verdict, never an abandoned batch
            self.responses[index] = _unknown_error(exc)

    def _release(self, handle: pycurl.Curl) -> None:
        try:
            self.sender._multi.remove_handle(handle)
        finally:
            self.sender._free.append(handle)

    def _read(self, index: int, headers: list[str], status: int, content: bytes, lines: list[bytes], failure) -> None:
        sender = self.sender
        retry = self._retries.get(index) or RETRY_CONFIG.new()
        if failure is not None:
            error = _curl_error(*failure)
            try:
                retry = self._retries[index] = retry.increment("POST", sender._url, error=error)
            except urllib3.exceptions.MaxRetryError:
                self.responses[index] = send_response(None, fcm_error(sender._service, _requests_error(error)))
                return
            heapq.heappush(self._later, (time.monotonic() + retry.get_backoff_time(), index))
            return
        answer = _curl_answer(status, lines, content)
        if status == 401 and index not in self._refused_once:
            self._refused_once.add(index)
            stale = next(line for line in headers if line.lower().startswith("authorization:"))
            fcm_token_refresh(sender._credential, stale=stale.split("Bearer ", 1)[1])
            self.headers = sender._headers()
            self._retries.pop(index, None)  # sent again as a new request, as the pool's second urlopen
            self._todo.append(index)
            return
        if retry.is_retry("POST", status, has_retry_after=bool(answer.headers.get("Retry-After"))):
            try:
                retry = self._retries[index] = retry.increment("POST", sender._url, response=answer)
            except urllib3.exceptions.MaxRetryError:
                pass  # raise_on_status is off: the last answer is the verdict
            else:
                delay = retry.get_retry_after(answer) or retry.get_backoff_time()
                heapq.heappush(self._later, (time.monotonic() + delay, index))
                return
        if 200 <= status < 300:
            self.responses[index] = send_response(json.loads(content), None)
        else:
            error = _requests_http_error(sender._url, answer)
            self.responses[index] = send_response(None, fcm_error(sender._service, error))


def _unknown_error(exc: Exception) -> messaging.SendResponse:
    return send_response(None, exceptions.UnknownError(f"Unknown error while sending: {exc}", cause=exc))


def _curl_answer(status: int, lines: list[bytes], content: bytes) -> urllib3.HTTPResponse:
    """libcurl's answer as the urllib3 response the retry policy and the error reading take."""
    headers = urllib3.HTTPHeaderDict()
    reason = ""
    for raw in lines:
        line = raw.decode("latin-1").strip()
        if line.startswith("HTTP/"):  # a status line (each answer of a retry starts afresh)
            headers, reason = urllib3.HTTPHeaderDict(), line.split(" ", 2)[2] if line.count(" ") >= 2 else ""
        elif ":" in line:
            name, value = line.split(":", 1)
            headers.add(name.strip(), value.strip())
    return urllib3.HTTPResponse(body=content, headers=headers, status=status, reason=reason, preload_content=True)


# libcurl's failures before an answer, as urllib3 names them (its Retry counts connection and read
# errors apart; requests then names them for firebase-admin: see _requests_error). Two differ from
# the pool on purpose: a TLS failure counts as a connection error (retried once; urllib3 retries an
# SSLError up to its total of 10), and a timeout as a read error, whatever the phase (libcurl does
# not say which).
_CURL_CONNECT_ERRORS = {
    pycurl.E_COULDNT_RESOLVE_HOST,
    pycurl.E_COULDNT_CONNECT,
    pycurl.E_SSL_CONNECT_ERROR,
    pycurl.E_PEER_FAILED_VERIFICATION,
}


def _curl_error(code: int, message: str) -> urllib3.exceptions.HTTPError:
    if code in _CURL_CONNECT_ERRORS:
        return urllib3.exceptions.NewConnectionError(None, f"libcurl error {code}: {message}")
    if code == pycurl.E_OPERATION_TIMEDOUT:
        return urllib3.exceptions.ReadTimeoutError(None, None, f"libcurl error {code}: {message}")
    return urllib3.exceptions.ProtocolError(f"libcurl error {code}: {message}")


def _requests_http_error(url: str, answer: urllib3.BaseHTTPResponse) -> requests.exceptions.HTTPError:
    """An error answer as the requests error firebase-admin reads FCM's error body from."""
    response = requests.Response()
    response.status_code, response.url, response.reason = answer.status, url, answer.reason
    response.headers = requests.structures.CaseInsensitiveDict(answer.headers)
    response._content = answer.data
    return requests.exceptions.HTTPError(f"{answer.status} error from FCM", response=response)


def _requests_error(exc: urllib3.exceptions.HTTPError) -> requests.exceptions.RequestException:
    """A transport error as requests names it (firebase-admin: timeout → DEADLINE_EXCEEDED,
    connection → UNAVAILABLE, else UNKNOWN)."""
    reason = getattr(exc, "reason", None) or exc
    # urllib3 2 makes NewConnectionError a ConnectTimeoutError: tell it apart first, as requests does.
    if isinstance(
        reason,
        urllib3.exceptions.NewConnectionError
        | urllib3.exceptions.ProtocolError
        | urllib3.exceptions.SSLError
        | ConnectionError,
    ):
        return requests.exceptions.ConnectionError(str(exc))
    if isinstance(reason, urllib3.exceptions.TimeoutError):
        return requests.exceptions.Timeout(str(exc))
    return requests.exceptions.RequestException(str(exc))


def fcm_environment(url: str) -> dict:
    """The proxies and CA bundle that requests would use for `url`, from the environment."""
    return requests.Session().merge_environment_settings(url, {}, None, None, None)


_senders: dict[tuple, _FcmSender | None] = {}
_senders_lock = threading.Lock()


def _sender(app: firebase_admin.App, cls: type[_FcmSender], *, per_thread: bool) -> _FcmSender | None:
    """The app's sender of `cls` in this process (a forked worker makes its own: its parent's
    threads and connections are not its) and, when `per_thread`, in this thread (an event loop or
    a libcurl multi handle is one thread's); None when the FCM endpoint is reached through a
    proxy (firebase-admin's own send_each then sends)."""
    key = (app.name, os.getpid(), cls.__name__, threading.get_ident() if per_thread else None)
    with _senders_lock:
        if key not in _senders:
            url = service_url(messaging_service(app))
            _senders[key] = None if fcm_environment(url)["proxies"] else cls(app)
        return _senders[key]


# Senders a forked process inherited: kept, never closed nor collected here (libcurl would shut
# their connections down, TLS close_notify and HTTP/2 GOAWAY, on sockets the parent still uses).
_inherited_senders: list[_FcmSender] = []


def pooled_senders_close() -> None:
    with _senders_lock:
        for key, sender in list(_senders.items()):
            if sender is not None and key[1] == os.getpid():
                sender.close()
            elif sender is not None:
                _inherited_senders.append(sender)
        _senders.clear()


_loop_local = threading.local()
_trusted_async_clients: weakref.WeakSet = weakref.WeakSet()


def _async_client_trust(app: firebase_admin.App) -> None:
    """send_each_async's httpx client, rebuilt as firebase-admin builds it (HTTP/2, its retry
    transport and auth flow, its timeout and metrics headers) but trusting FCM_CA_BUNDLE."""
    service = messaging_service(app)
    client = service_httpx_client(service)
    if not settings.FCM_CA_BUNDLE or client in _trusted_async_clients:
        return
    context = fcm_ssl_context(service_url(service))
    service_httpx_client_set(
        service,
        httpx.AsyncClient(
            http2=True,
            timeout=client.timeout,
            headers=METRICS_HEADERS,
            auth=httpx_credential_auth(app.credential.get_credential()),
            mounts={"http://": httpx_retry_transport(), "https://": httpx_retry_transport(verify=context)},
        ),
    )
    _trusted_async_clients.add(client)


def fcm_body_sender(app: firebase_admin.App) -> _FcmSender | None:
    """The sender of FCM_SEND_MODE `pool`, `h2` or `curl` in this process (it posts prebuilt JSON
    bodies: `send_bodies`), or None: firebase-admin's own send_each sends (`threads`, `async`, a
    proxy)."""
    senders = {"pool": (_PooledSender, False), "h2": (_H2Sender, True), "curl": (_CurlSender, True)}
    if settings.FCM_SEND_MODE not in senders:
        return None
    cls, per_thread = senders[settings.FCM_SEND_MODE]
    return _sender(app, cls, per_thread=per_thread)


def fcm_send_each(messages: list[messaging.Message], *, app, dry_run: bool) -> messaging.BatchResponse:
    mode = settings.FCM_SEND_MODE
    sender = fcm_body_sender(app)
    if sender is not None:
        return sender.send_each(messages, dry_run=dry_run)
    if mode == "async":
        _async_client_trust(app)
        # firebase-admin's httpx client keeps connections bound to one event loop: reuse it.
        loop = getattr(_loop_local, "loop", None)
        if loop is None:
            loop = _loop_local.loop = asyncio.new_event_loop()
        return loop.run_until_complete(messaging.send_each_async(messages, dry_run=dry_run, app=app))
    return messaging.send_each(messages, dry_run=dry_run, app=app)


_refresh_lock = threading.Lock()


def fcm_token_refresh(credential, *, stale: str | None = None) -> None:
    """Get the OAuth access token once before a batch (otherwise each of the batch's threads
    finds it missing and asks the token endpoint itself), or after FCM refused `stale` (401)."""
    with _refresh_lock:
        if not credential.valid or (stale is not None and credential.token == stale):
            credential.refresh(fcm_auth_request())
