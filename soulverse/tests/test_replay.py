"""soulverse.replay through the project's WSGI application: anonymous health, the anonymous schema
and known wrong keys on verses/today are answered without entering Django the second time, with
the bytes Django sent (every middleware's headers included); anything else still goes through
Django. Each test failed before the replay (every request entered Django)."""

import io

import pytest
from django.core.wsgi import get_wsgi_application

from console import selectors
from soulverse.wsgi import _answers_replayed
from users.tests.factories import UserFactory, token_key_for

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("wsgi_connections_kept")]
HEALTH = "/api/v1/scheduler/health"
TODAY = "/api/v1/verses/today"
WRONG_KEY = "Token " + "0" * 64
SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def call(
    application, path: str, *, method: str = "GET", query: str = "", scheme: str = "http", **headers
) -> tuple[str, dict, bytes]:
    """One request as a WSGI server makes it: (status, headers, body)."""
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SCRIPT_NAME": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "443" if scheme == "https" else "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "testserver",
        "wsgi.url_scheme": scheme,
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": io.StringIO(),
        "wsgi.version": (1, 0),
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        **headers,
    }
    started = []
    result = application(
        environ, lambda status, response_headers, exc_info=None: started.append((status, response_headers))
    )
    try:
        body = b"".join(result)
    finally:
        if hasattr(result, "close"):
            result.close()
    status, response_headers = started[0]
    response_headers = dict(response_headers)
    # Every answer, a replayed one too, carries its own request's id (the proxy's, or a new one):
    # checked here, then left out so that answers compare equal.
    request_id = response_headers.pop("X-Request-ID", None)
    sent = headers.get("HTTP_X_REQUEST_ID")
    assert request_id == sent if sent else request_id is not None and len(request_id) == 32
    assert request_id not in _REQUEST_IDS_SEEN or request_id == sent
    _REQUEST_IDS_SEEN.add(request_id)
    return status, response_headers, body


_REQUEST_IDS_SEEN: set[str] = set()


@pytest.fixture
def health_state():
    """Set the public health memo (console.selectors.health_public) to a state for a minute."""

    def set_state(healthy: bool, state: str) -> None:
        selectors.health_public_memo.set("answer", (healthy, state), ttl=60)

    return set_state


@pytest.mark.parametrize(
    ("path", "headers", "status", "body"),
    [
        (HEALTH, {}, "200 OK", b'{"status":"ok"}'),
        (HEALTH + "/", {"HTTP_ACCEPT": "application/json"}, "200 OK", b'{"status":"ok"}'),
        ("/api/schema/", {}, "401 Unauthorized", None),
        ("/api/schema/", {"HTTP_ACCEPT": "application/json"}, "401 Unauthorized", None),
        ("/api/schema/", {"HTTP_ACCEPT": "application/vnd.oai.openapi"}, "401 Unauthorized", None),
    ],
)
def test_anonymous_health_and_schema_are_replayed_with_every_header(
    wsgi_app, health_state, path, headers, status, body
):
    application, entered = wsgi_app
    health_state(True, "ok")
    answers = [call(application, path, **headers) for _ in range(3)]
    assert entered == [path]  # the first through Django, then replayed
    assert answers[0] == answers[1] == answers[2]
    assert answers[0][0] == status
    assert body is None or answers[0][2] == body
    assert SECURITY_HEADERS.items() <= answers[0][1].items()
    assert "Cookie" in answers[0][1]["Vary"]
    assert answers[0][1]["Content-Length"] == str(len(answers[0][2]))


def test_the_ids_traces_and_addresses_a_proxy_adds_do_not_stop_the_replay(wsgi_app, health_state):
    """A proxy or load balancer adds a new id and trace context to every request, and the client's
    address: none of them makes the request another one."""
    application, entered = wsgi_app
    health_state(True, "ok")
    answers = [
        call(
            application,
            HEALTH,
            HTTP_X_REQUEST_ID=f"req-{n}",
            HTTP_X_CORRELATION_ID=f"c-{n}",
            HTTP_TRACEPARENT=f"00-{n:032x}-{n:016x}-01",
            HTTP_TRACESTATE=f"vendor={n}",
            HTTP_X_AMZN_TRACE_ID=f"Root=1-{n}",
            HTTP_X_CLOUD_TRACE_CONTEXT=f"{n:032x}/{n};o=1",
            HTTP_X_REAL_IP=f"203.0.113.{n}",
            HTTP_X_FORWARDED_FOR=f"203.0.113.{n}",
            HTTP_FORWARDED=f"for=203.0.113.{n}",
        )
        for n in range(1, 4)
    ]
    assert entered == [HEALTH]
    assert answers[0] == answers[1] == answers[2] and answers[0][2] == b'{"status":"ok"}'
    call(application, HEALTH, HTTP_ACCEPT_LANGUAGE="en")  # a header a view may read: another request
    assert entered == [HEALTH, HEALTH]


def test_the_health_answer_follows_the_state(wsgi_app, health_state, settings):
    settings.HEALTH_PUBLIC_CACHE_SECONDS = 60
    application, entered = wsgi_app
    health_state(True, "ok")
    first = call(application, HEALTH)
    health_state(False, "down")
    down = call(application, HEALTH)
    health_state(True, "ok")
    again = call(application, HEALTH)
    assert (first[0], first[2]) == (again[0], again[2]) == ("200 OK", b'{"status":"ok"}')
    assert (down[0], down[2]) == ("503 Service Unavailable", b'{"status":"down"}')
    assert entered == [HEALTH, HEALTH]  # one per state
    selectors.health_public_memo.clear()  # the memo expired: the view checks the state, inside Django
    call(application, HEALTH)
    assert entered == [HEALTH] * 3 and selectors.health_public_memoised() is not None


def test_a_wrong_key_is_replayed_while_the_view_remembers_it(wsgi_app, settings):
    from verses import views

    application, entered = wsgi_app
    answers = [call(application, TODAY, HTTP_AUTHORIZATION=WRONG_KEY) for _ in range(4)]
    # The first is checked in the database, the second answered from the view's memo and kept.
    assert entered == [TODAY, TODAY]
    assert answers[0] == answers[1] == answers[2] == answers[3]
    assert answers[0][0] == "401 Unauthorized" and answers[0][1]["WWW-Authenticate"] == "Token"
    assert SECURITY_HEADERS.items() <= answers[0][1].items()
    views.invalid_keys.clear()  # the memo expired: the key is checked again
    assert call(application, TODAY, HTTP_AUTHORIZATION=WRONG_KEY) == answers[0]
    assert entered == [TODAY] * 3


def test_valid_keys_and_other_requests_still_go_through_django(wsgi_app, health_state):
    application, entered = wsgi_app
    health_state(True, "ok")
    valid = "Token " + token_key_for(UserFactory())
    requests = [
        (TODAY, {"HTTP_AUTHORIZATION": valid}),
        (HEALTH, {"HTTP_AUTHORIZATION": valid}),  # credentials: the DRF view (details for viewers)
        (HEALTH, {"HTTP_COOKIE": "sessionid=x"}),
        (HEALTH, {"query": "via=drf"}),
        (HEALTH, {"method": "POST"}),
        (HEALTH, {"HTTP_ACCEPT": "text/html"}),
        ("/api/schema/", {"HTTP_AUTHORIZATION": valid}),
        ("/api/schema/", {"HTTP_COOKIE": "sessionid=x"}),
    ]
    for path, headers in requests * 2:
        call(application, path, **headers)
    assert len(entered) == 2 * len(requests)
    assert len(application.answers) == 0


def test_a_refusal_for_another_reason_is_never_replayed(wsgi_app, health_state, settings):
    application, entered = wsgi_app
    health_state(True, "ok")
    assert call(application, HEALTH)[0] == "200 OK"
    evil = [call(application, HEALTH, HTTP_HOST="evil.example") for _ in range(2)]
    assert [answer[0] for answer in evil] == ["400 Bad Request"] * 2  # DisallowedHost, each time
    assert entered == [HEALTH] * 3
    assert call(application, HEALTH)[0] == "200 OK"
    assert entered == [HEALTH] * 3  # the kept answer is for the allowed host only


def test_plain_http_is_still_redirected_and_https_gets_hsts(settings, health_state):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 3600
    application = _answers_replayed(get_wsgi_application())  # SecurityMiddleware reads them when built
    health_state(True, "ok")
    plain = [call(application, HEALTH) for _ in range(2)]
    secure = [call(application, HEALTH, scheme="https") for _ in range(2)]
    assert [answer[0] for answer in plain] == ["301 Moved Permanently"] * 2
    assert plain[1][1]["Location"] == "https://testserver" + HEALTH
    assert secure[0] == secure[1] and secure[0][0] == "200 OK"
    assert secure[0][1]["Strict-Transport-Security"].startswith("max-age=3600")
    assert len(application.answers) == 1


def test_junk_headers_neither_fill_the_memory_nor_push_out_the_answers(wsgi_app, monkeypatch):
    from soulverse import memos, replay

    monkeypatch.setitem(memos.SIZES, "replay.answers", 3)
    application, entered = wsgi_app
    big = call(application, "/api/schema/", HTTP_X_JUNK="x" * (replay.MAX_KEY_BYTES + 1))
    assert call(application, "/api/schema/", HTTP_X_JUNK="x" * (replay.MAX_KEY_BYTES + 1)) == big
    assert entered == ["/api/schema/"] * 2  # too large to be kept: through Django each time
    assert len(application.answers) == 0

    for n in range(5):  # five variants of headers for three places: the oldest make room
        call(application, "/api/schema/", HTTP_X_JUNK=str(n))
    assert len(application.answers) == 3
    call(application, "/api/schema/", HTTP_X_JUNK="4")
    call(application, "/api/schema/", HTTP_X_JUNK="0")
    assert entered == ["/api/schema/"] * 8  # "4" was kept; "0" had been dropped
