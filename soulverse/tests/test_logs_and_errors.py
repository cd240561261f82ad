"""What an operator follows in production: JSON log lines carrying the proxy's request id, and
the errors of views reaching Sentry (a local HTTP server posing as Sentry's ingest endpoint),
through gunicorn in a new process."""

import json
import logging
from pathlib import Path

import pytest

from scheduler.tests.clusters import wait_until
from soulverse.logs import ContextFilter
from soulverse.testing.http_recorder import HttpRecorder
from soulverse.tests.test_gunicorn import gunicorn_serving

REQUEST_ID = "0123456789abcdef0123456789abcdef"  # as nginx's $request_id looks


@pytest.fixture
def sentry():
    with HttpRecorder() as server:
        yield server


def json_lines(path: Path) -> list[dict]:
    lines = []
    for line in path.read_text().splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))
    return lines


def sentry_events(sentry: HttpRecorder) -> list[dict]:
    return [
        item
        for received in sentry.requests()
        if received.path == "/api/1/envelope/"
        for item in received.sentry_items()
        if "exception" in item
    ]


@pytest.fixture
def gunicorn_broken_database(tmp_path, sentry):
    """gunicorn with JSON logs and Sentry, on a database it cannot open: every view that reads it fails."""
    dsn = sentry.url.replace("http://", "http://public-key@") + "/1"
    with gunicorn_serving(
        tmp_path,
        DATABASE_URL=f"sqlite:///{tmp_path / 'no-such-directory' / 'db.sqlite3'}",
        GUNICORN_ACCESS_LOG="-",
        LOG_FORMAT="json",
        TEST_SENTRY_DSN=dsn,
        SENTRY_ENVIRONMENT="staging",
        SENTRY_RELEASE="soulverse@1.2.3",
    ) as served:
        yield served


def _call(port: int, method: str, path: str, headers: dict, body: bytes | None = None) -> tuple[int, dict]:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status, {name.lower(): value for name, value in response.getheaders()}
    finally:
        conn.close()


def test_an_error_in_a_view_is_logged_as_json_with_its_request_id_and_reaches_sentry(gunicorn_broken_database, sentry):
    port, log_path = gunicorn_broken_database
    auth = {"Authorization": "Token " + "ab" * 32}

    status, headers = _call(port, "GET", "/api/v1/scheduler/status", {**auth, "X-Request-ID": REQUEST_ID})
    assert (status, headers["x-request-id"]) == (500, REQUEST_ID)
    # No id from a proxy, or a forged one: the service makes one up and answers with it. A login
    # (django-axes reads the database first) whose email and password must not reach Sentry.
    login = json.dumps({"email": "someone.private@example.org", "password": "Hunter2-Private-Pass"}).encode()
    status, headers = _call(
        port,
        "POST",
        "/api/v1/auth/login",
        {"Content-Type": "application/json", "X-Request-ID": 'x" level="INFO'},
        login,
    )
    made_up = headers["x-request-id"]
    assert status == 500 and len(made_up) == 32 and made_up != 'x" level="INFO'

    sentry.wait_for(lambda got: len([r for r in got if b'"exception"' in r.body]) == 2)
    events = sentry_events(sentry)
    assert sorted(event["tags"]["request_id"] for event in events) == sorted([REQUEST_ID, made_up])
    for event in events:
        exception = event["exception"]["values"][-1]  # the one raised (its cause, sqlite3's, comes first)
        assert (exception["module"], exception["type"], exception["value"]) == (
            "django.db.utils",
            "OperationalError",
            "unable to open database file",
        )
        assert exception["mechanism"]["type"] == "django"
        assert (event["environment"], event["release"]) == ("staging", "soulverse@1.2.3")
        assert "user" not in event  # send_default_pii=False: no address, no cookies
        assert event["request"]["headers"].get("Authorization") in (None, "[Filtered]")
        text = json.dumps(event)
        assert "someone.private" not in text and "Hunter2" not in text and "abab" not in text  # no body, no token
        assert all(
            "vars" not in frame for value in event["exception"]["values"] for frame in value["stacktrace"]["frames"]
        )  # no local variables

    errors = [line for line in json_lines(log_path) if line.get("logger") == "django.request"]
    assert [(line["level"], line["message"], line["request_id"]) for line in errors] == [
        ("ERROR", "Internal Server Error: /api/v1/scheduler/status", REQUEST_ID),
        ("ERROR", "Internal Server Error: /api/v1/auth/login", made_up),
    ]
    assert all("OperationalError: unable to open database file" in line["exc_info"] for line in errors)

    # gunicorn's own lines are JSON too, its access lines with the request id of the answer. The
    # worker writes an access line after the answer has left, so the client may read the log first.
    def access_lines() -> list[tuple[str, str]]:
        return [
            (line["request_id"], line["message"].split('"')[1])
            for line in json_lines(log_path)
            if line["logger"] == "gunicorn.access" and line["message"].split('"')[1] != "GET /livez HTTP/1.1"
        ]

    wait_until(lambda: len(access_lines()) >= 2, 30, "gunicorn's two access lines")
    access = access_lines()
    lines = json_lines(log_path)
    assert access == [
        (REQUEST_ID, "GET /api/v1/scheduler/status HTTP/1.1"),
        (made_up, "POST /api/v1/auth/login HTTP/1.1"),
    ]
    assert any(line["logger"] == "gunicorn.error" and line["message"].startswith("Booting worker") for line in lines)
    every_line = log_path.read_text().splitlines()
    assert [line for line in every_line if not line.startswith("{")] == []  # nothing but JSON objects
    assert all(set(line) >= {"time", "level", "logger", "message"} for line in lines)


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__()
        self.records: list[logging.LogRecord] = []
        self.addFilter(ContextFilter())  # as the settings' console handler has it

    def emit(self, record):
        self.records.append(record)


def test_log_records_of_a_request_carry_its_id_and_none_outside(client):
    handler = _Collect()
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    try:
        response = client.get("/no-such-page", HTTP_X_REQUEST_ID=REQUEST_ID)
        logger.warning("outside a request")
    finally:
        logger.removeHandler(handler)

    assert (response.status_code, response["X-Request-ID"]) == (404, REQUEST_ID)
    inside, outside = handler.records
    assert (inside.getMessage(), inside.request_id) == ("Not Found: /no-such-page", REQUEST_ID)
    assert not hasattr(outside, "request_id")
