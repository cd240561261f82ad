"""FCM_SEND_MODE=pool (firebase-admin's messages, credential, retry policy and errors over a kept
urllib3 pool), FCM_SEND_MODE=h2 (the same over one HTTP/2 connection) and FCM_SEND_MODE=curl (the
same through libcurl) send what firebase-admin's
own send_each sends and read FCM's answers the same way: each case runs in each mode against the
local FCM stub, over real HTTPS (HTTP/2 or HTTP/1.1 as the client asks by ALPN), its test
authority trusted through FCM_CA_BUNDLE."""

import shutil
import socket
import subprocess

import pycurl
import pytest

from soulverse.testing.fcm_stub import FcmStub
from verses.push import fcm, fcm_sdk
from verses.tests.pushes import AT, push_to

MODES = ["pool", "threads", "h2", "curl"]


@pytest.fixture
def fcm_stub(fcm_stub_tls):
    return fcm_stub_tls


@pytest.fixture(params=MODES)
def mode(request, settings, fcm_stub):
    settings.FCM_SEND_MODE = request.param
    settings.FCM_RETRIES = 0  # firebase-admin's own retries only: what each transport does by itself
    fcm.fcm_reset()
    return request.param


def test_both_modes_send_the_same_request(fcm_stub, settings):
    sent = {}
    for name in MODES:
        settings.FCM_SEND_MODE = name
        fcm.fcm_reset()
        fcm_stub.reset()
        results, _ = fcm.pushes_send([push_to(n, f"token-{n}") for n in range(3)], now=AT)
        assert [r.outcome for r in results] == [fcm.Outcome.SENT] * 3
        headers = fcm_stub.send_headers[0]
        sent[name] = (
            sorted(fcm_stub.delivered),
            {
                name: headers.get(name)
                for name in ("x-goog-api-format-version", "x-firebase-client", "x-goog-api-client")
            },
        )
        assert headers["authorization"].startswith("Bearer ya29.stub-")
        assert headers["content-type"].startswith("application/json")

    assert sent["pool"] == sent["threads"] == sent["h2"] == sent["curl"]
    assert sent["pool"][1]["x-goog-api-format-version"] == "2"
    assert fcm_stub.connections["h2"] == 1  # curl's batch, the last (h2 and curl ask for HTTP/2 by ALPN)


def test_fcm_verdicts_are_read_the_same_way(mode, fcm_stub):
    tokens = ["token-ok", "unregistered-1", "mismatch-1", "invalid-1"]
    results, _ = fcm.pushes_send([push_to(n, token) for n, token in enumerate(tokens)], now=AT)

    assert [(r.outcome, r.error) for r in results] == [
        (fcm.Outcome.SENT, ""),
        (fcm.Outcome.INVALID_TOKEN, "UNREGISTERED (HTTP 404)"),
        (fcm.Outcome.INVALID_TOKEN, "SENDER_ID_MISMATCH (HTTP 403)"),
        (fcm.Outcome.INVALID_TOKEN, "INVALID_ARGUMENT (HTTP 400)"),
    ]
    assert results[0].message_id.startswith("projects/soulverse-test/messages/")


def test_fid_verdicts_are_read_the_same_way(mode, fcm_stub):
    """An FID FCM calls UNREGISTERED is a dead device once FCM has accepted a message for it; before
    that, an FID FCM never routed (the app has not opted in to FID registration): its own outcome."""
    pushes = [
        push_to(0, "fid-ok", kind="fid"),
        push_to(1, "unregistered-fid-seen", kind="fid"),
        push_to(2, "unregistered-fid-never", kind="fid", confirmed=False),
        push_to(3, "unregistered-token-never", confirmed=False),
        push_to(4, "invalid-fid", kind="fid"),
    ]
    results, _ = fcm.pushes_send(pushes, now=AT)

    assert [(r.outcome, r.error) for r in results] == [
        (fcm.Outcome.SENT, ""),
        (fcm.Outcome.INVALID_TOKEN, "UNREGISTERED (HTTP 404)"),
        (fcm.Outcome.FID_NOT_REGISTERED, "UNREGISTERED (HTTP 404)"),
        (fcm.Outcome.INVALID_TOKEN, "UNREGISTERED (HTTP 404)"),
        (fcm.Outcome.INVALID_TOKEN, "INVALID_ARGUMENT (HTTP 400)"),
    ]
    assert [target for target, message in fcm_stub.delivered if "fid" in message] == ["fid-ok"]


def test_firebase_admins_retry_policy_applies_to_500_and_503(mode, fcm_stub):
    fcm_stub.fail_next(1, status=500)
    fcm_stub.fail_next(1, status=503)
    results, _ = fcm.pushes_send([push_to(1, "token-1")], now=AT)

    assert results[0].outcome == fcm.Outcome.SENT
    assert fcm_stub.requests == 3  # Retry(status=4, status_forcelist=[500, 503]): urllib3's, or httpx's for h2


def test_a_429_without_retry_after_is_left_to_the_ticks_retries(mode, fcm_stub):
    fcm_stub.fail_next(1, status=429)  # with a Retry-After, urllib3's Retry waits and retries it itself
    results, _ = fcm.pushes_send([push_to(1, "token-1")], now=AT)

    assert (results[0].outcome, results[0].error) == (fcm.Outcome.RETRY, "QUOTA_EXCEEDED (HTTP 429)")
    assert fcm_stub.requests == 1


def test_a_429_with_retry_after_follows_each_policy(mode, fcm_stub):
    """send_each's urllib3 Retry (pool, threads, curl) honours a 429's Retry-After and sends
    again; send_each_async's httpx policy (h2) leaves it to the tick's retries."""
    fcm_stub.fail_next(1, status=429, retry_after=1)
    results, _ = fcm.pushes_send([push_to(1, "token-1")], now=AT)

    if mode == "h2":
        assert (results[0].outcome, fcm_stub.requests) == (fcm.Outcome.RETRY, 1)
    else:
        assert (results[0].outcome, fcm_stub.requests) == (fcm.Outcome.SENT, 2)


def test_an_answer_later_than_the_timeout_is_left_for_a_retry(mode, fcm_stub, settings):
    settings.FCM_TIMEOUT_SECONDS = 0.3
    fcm.fcm_reset()
    fcm_stub.latency = 1.0
    results, _ = fcm.pushes_send([push_to(1, "token-1")], now=AT)

    # requests names a read timed out after urllib3's retry a connection error (firebase-admin's own send_each).
    expected = "UNAVAILABLE" if mode == "threads" else "DEADLINE_EXCEEDED"
    assert (results[0].outcome, results[0].error) == (fcm.Outcome.RETRY, expected)


def test_an_access_token_fcm_no_longer_accepts_is_refreshed_once(mode, fcm_stub):
    fcm.pushes_send([push_to(1, "token-1")], now=AT)
    fcm_stub.revoke_access_tokens()  # as FCM answers a revoked token: 401 UNAUTHENTICATED
    results, _ = fcm.pushes_send([push_to(n, f"token-{n}") for n in range(2, 12)], now=AT)

    assert [r.outcome for r in results] == [fcm.Outcome.SENT] * 10
    if mode in (
        "pool",
        "h2",
        "curl",
    ):  # one refresh for the batch (google-auth's session refreshes per refused request)
        assert fcm_stub.token_requests == 2


def test_fcm_unreachable_is_left_for_a_retry(mode, fcm_stub, settings):
    with socket.socket() as probe:  # a loopback port with nothing listening
        probe.bind(("127.0.0.1", 0))
        settings.FCM_BASE_URL = f"https://127.0.0.1:{probe.getsockname()[1]}"
    fcm.fcm_reset()
    results, _ = fcm.pushes_send([push_to(1, "token-1")], now=AT)

    assert (results[0].outcome, results[0].error) == (fcm.Outcome.RETRY, "UNAVAILABLE")


def test_the_pool_keeps_its_connections_between_batches(fcm_stub, settings):
    settings.FCM_SEND_MODE = "pool"
    settings.FCM_CONCURRENCY = 20
    fcm.fcm_reset()
    for _ in range(2):
        results, _ = fcm.pushes_send([push_to(n, f"token-{n}") for n in range(300)], now=AT)
        assert [r.outcome for r in results] == [fcm.Outcome.SENT] * 300

    assert fcm_stub.delivered_tokens() == {f"token-{n}": 2 for n in range(300)}
    assert fcm_sdk.fcm_body_sender(fcm.fcm_app())._pool.num_connections <= 20
    assert fcm_stub.connections["h2"] == 0


# h2 with more streams than the stub's 100: the rest wait for a stream to end (one connection).
# curl: a connection per 100 streams in flight (libcurl's limit; the stub's too).
@pytest.mark.parametrize(("mode", "concurrency", "connections"), [("h2", 150, 1), ("curl", 100, 1), ("curl", 250, 3)])
def test_every_batch_goes_as_streams_of_the_connections_kept(fcm_stub, settings, mode, concurrency, connections):
    settings.FCM_SEND_MODE = mode
    settings.FCM_CONCURRENCY = concurrency
    fcm.fcm_reset()
    for _ in range(2):
        results, _ = fcm.pushes_send([push_to(n, f"token-{n}") for n in range(600)], now=AT)
        assert [r.outcome for r in results] == [fcm.Outcome.SENT] * 600

    assert fcm_stub.delivered_tokens() == {f"token-{n}": 2 for n in range(600)}
    assert fcm_stub.connections["h2"] == connections  # the token endpoint's HTTP/1.1 connection aside


def test_curl_over_plain_http_keeps_its_http11_connections(settings, tmp_path):
    """A loopback stand-in over plain HTTP: no HTTP/2 (ALPN is TLS's), kept-alive HTTP/1.1."""
    with FcmStub() as stub:
        settings.FCM_CREDENTIALS_FILE = str(stub.credentials_file(tmp_path))
        settings.FCM_BASE_URL = stub.base_url
        settings.FCM_SEND_MODE = "curl"
        settings.FCM_CONCURRENCY = 20
        fcm.fcm_reset()
        for _ in range(2):
            results, _ = fcm.pushes_send([push_to(n, f"token-{n}") for n in range(100)], now=AT)
            assert [r.outcome for r in results] == [fcm.Outcome.SENT] * 100

        assert stub.delivered_tokens() == {f"token-{n}": 2 for n in range(100)}
        # The second batch opened no connection: the first one's were kept.
        handles = fcm_sdk.fcm_body_sender(fcm.fcm_app())._free
        assert sum(handle.getinfo(pycurl.NUM_CONNECTS) for handle in handles) == 0
    fcm.fcm_reset()


@pytest.mark.parametrize("sender", ["_PooledSender", "_H2Sender", "_CurlBatch"])
def test_an_unexpected_error_is_that_messages_verdict_and_the_batch_completes(fcm_stub, settings, monkeypatch, sender):
    settings.FCM_SEND_MODE = {"_PooledSender": "pool", "_H2Sender": "h2", "_CurlBatch": "curl"}[sender]
    settings.FCM_RETRIES = 0
    fcm.fcm_reset()
    cls = getattr(fcm_sdk, sender)
    if sender == "_CurlBatch":
        start = cls._start

        def start_but_fail_one(self, index):
            if b'"token-2"' in self.bodies[index]:
                raise ValueError("a body libcurl refuses")
            return start(self, index)

        monkeypatch.setattr(cls, "_start", start_but_fail_one)
    send = getattr(cls, "_send_or_raise", None)

    def send_but_fail_one(self, body, headers):
        if b'"token-2"' in body:
            raise ValueError("an answer that is not JSON")
        return send(self, body, headers)

    async def send_async_but_fail_one(self, body, headers):
        if b'"token-2"' in body:
            raise ValueError("an answer that is not JSON")
        return await send(self, body, headers)

    if send is not None:
        monkeypatch.setattr(
            cls, "_send_or_raise", send_async_but_fail_one if sender == "_H2Sender" else send_but_fail_one
        )
    results, _ = fcm.pushes_send([push_to(n, f"token-{n}") for n in range(5)], now=AT)

    assert [(r.outcome, r.error) for r in results] == [(fcm.Outcome.SENT, "")] * 2 + [
        (fcm.Outcome.RETRY, "UNKNOWN")
    ] + [(fcm.Outcome.SENT, "")] * 2
    assert fcm_stub.delivered_tokens() == {f"token-{n}": 1 for n in (0, 1, 3, 4)}


def test_curl_gives_a_verdict_to_a_batch_of_one_that_could_not_start(fcm_stub, settings, monkeypatch):
    settings.FCM_SEND_MODE = "curl"
    settings.FCM_RETRIES = 0
    fcm.fcm_reset()

    def start_fails(self, index):
        raise ValueError("a body libcurl refuses")

    monkeypatch.setattr(fcm_sdk._CurlBatch, "_start", start_fails)
    results, _ = fcm.pushes_send([push_to(1, "token-1")], now=AT)

    assert [(r.outcome, r.error) for r in results] == [(fcm.Outcome.RETRY, "UNKNOWN")]
    assert len(fcm_sdk.fcm_body_sender(fcm.fcm_app())._free) == settings.FCM_CONCURRENCY


def test_curl_trusts_a_directory_of_authorities_from_the_environment(fcm_stub, settings, monkeypatch, tmp_path):
    """REQUESTS_CA_BUNDLE naming a directory (hashed names, as `openssl rehash` writes them), as
    requests reads it: libcurl looks there, not in its own built-in bundle."""
    authorities = tmp_path / "authorities"
    authorities.mkdir()
    shutil.copy(fcm_stub.ca_file, authorities / "stand-in.pem")
    subprocess.run(["openssl", "rehash", str(authorities)], check=True)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(authorities))
    settings.FCM_CA_BUNDLE = ""
    settings.FCM_SEND_MODE = "curl"
    fcm.fcm_reset()
    results, _ = fcm.pushes_send([push_to(1, "token-1")], now=AT)

    assert [(r.outcome, r.error) for r in results] == [(fcm.Outcome.SENT, "")]


@pytest.mark.parametrize("mode", ["pool", "h2", "curl"])
def test_through_a_proxy_firebase_admins_own_send_each_is_used(settings, tmp_path, monkeypatch, mode):
    with FcmStub() as stub:  # plain HTTP: as a proxy it is sent the whole URL (no CONNECT)
        settings.FCM_CREDENTIALS_FILE = str(stub.credentials_file(tmp_path))
        settings.FCM_BASE_URL = stub.base_url
        settings.FCM_SEND_MODE = mode
        fcm.fcm_reset()
        monkeypatch.setenv("HTTP_PROXY", stub.base_url)
        for name in ("NO_PROXY", "no_proxy"):
            monkeypatch.setenv(name, "")
        results, _ = fcm.pushes_send([push_to(1, "token-1")], now=AT)

        assert fcm_sdk.fcm_body_sender(fcm.fcm_app()) is None
        assert results[0].outcome == fcm.Outcome.SENT
        assert stub.delivered_tokens() == {"token-1": 1}
    fcm.fcm_reset()
