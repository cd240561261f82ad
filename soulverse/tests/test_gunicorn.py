"""Findings 8, 9 and 10 through the real web server: gunicorn on the test database.

Before: a chunked body (no Content-Length) was read as empty (an invalid PATCH answered 200),
1,000 nested `[` were a 500, and a trigger waiting longer than gunicorn's timeout got its
worker killed."""

import contextlib
import http.client
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

from scheduler.models import JobRun
from scheduler.permissions import OPERATORS_GROUP, scheduler_groups_ensure
from scheduler.services import schedules_setup
from scheduler.tests.clusters import database_url
from users.models import User
from users.tests.factories import UserFactory, token_key_for

pytestmark = pytest.mark.django_db(transaction=True)
WEB_TIMEOUT = 3  # seconds: the trigger's wait is capped at 2


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def gunicorn(tmp_path: Path):
    with gunicorn_serving(tmp_path) as served:
        yield served


@contextlib.contextmanager
def gunicorn_serving(tmp_path: Path, **environment: str):
    """gunicorn with gunicorn.conf.py on the test database, its environment plus `environment`:
    (port, log path) while it serves."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "DJANGO_SETTINGS_MODULE": "soulverse.settings_test",
        "WEB_TIMEOUT_SECONDS": str(WEB_TIMEOUT),
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "1",
        "GUNICORN_ACCESS_LOG": "",
        **environment,
    }
    log = open(tmp_path / "gunicorn.log", "wb")
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "-c", "gunicorn.conf.py", "soulverse.wsgi:application"],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if request(port, "GET", "/livez")[0] == 200:
                    break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    pytest.fail((tmp_path / "gunicorn.log").read_text()[-3000:])
                time.sleep(0.2)
        yield port, tmp_path / "gunicorn.log"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        log.close()


def request(
    port: int, method: str, path: str, body: bytes | None = None, headers: dict | None = None, chunked: bool = False
) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=WEB_TIMEOUT * 3)
    try:
        if chunked:
            conn.putrequest(method, path)
            for name, value in (headers or {}).items():
                conn.putheader(name, value)
            conn.putheader("Transfer-Encoding", "chunked")
            conn.endheaders()
            conn.send(f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n")
        else:
            conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def test_a_chunked_body_gets_411_and_changes_nothing(gunicorn):
    port, _ = gunicorn
    user = UserFactory(mood="sad")
    headers = {"Authorization": f"Token {token_key_for(user)}", "Content-Type": "application/json"}
    status, body = request(
        port, "PATCH", "/api/v1/users/me", json.dumps({"mood": "not-a-mood"}).encode(), headers, chunked=True
    )
    assert status == 411
    assert json.loads(body) == {"detail": "Longueur requise : envoyez le corps avec un en-tête Content-Length."}
    assert User.objects.get(pk=user.pk).mood == "sad"
    # The same body with a Content-Length is read, and refused for what it says.
    status, body = request(port, "PATCH", "/api/v1/users/me", json.dumps({"mood": "not-a-mood"}).encode(), headers)
    assert status == 400 and "mood" in json.loads(body)


def test_deep_nesting_is_a_400_through_gunicorn(gunicorn):
    port, _ = gunicorn
    user = UserFactory(mood="sad")
    headers = {"Authorization": f"Token {token_key_for(user)}", "Content-Type": "application/json"}
    status, body = request(port, "PATCH", "/api/v1/users/me", b"[" * 1000 + b"]" * 1000, headers)
    assert status == 400
    assert User.objects.get(pk=user.pk).mood == "sad"


def test_a_long_wait_answers_202_before_gunicorn_would_kill_the_worker(gunicorn):
    port, log = gunicorn
    schedules_setup()
    staff = UserFactory(is_staff=True, fcm_token="")
    staff.groups.add(scheduler_groups_ensure()[OPERATORS_GROUP])
    headers = {"Authorization": f"Token {token_key_for(staff)}", "Content-Type": "application/json"}
    # No worker runs here: the run stays queued, so the request waits as long as it is let.
    status, body = request(port, "POST", "/api/v1/scheduler/trigger-daily-verses", b'{"wait": 300}', headers)
    assert status == 202
    answer = json.loads(body)
    assert answer["message"] == "Génération lancée ; elle se poursuit en arrière-plan"
    assert JobRun.objects.get().pk.hex == answer["run_id"].replace("-", "")
    assert "WORKER TIMEOUT" not in log.read_text()


def answers(port: int, path: str, headers: dict, times: int = 3) -> list[tuple[int, list, bytes]]:
    """`times` GETs of `path`: (status, headers but Date, body) of each."""
    found = []
    for _ in range(times):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=WEB_TIMEOUT * 3)
        try:
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            found.append((response.status, [h for h in response.getheaders() if h[0] != "Date"], response.read()))
        finally:
            conn.close()
    return found


@pytest.mark.parametrize(
    ("path", "headers", "status"),
    [
        ("/api/v1/scheduler/health", {}, 503),  # no cluster here: down
        ("/api/schema/", {"Accept": "application/json"}, 401),
        ("/api/v1/verses/today", {"Authorization": "Token " + "0" * 64}, 401),
    ],
)
def test_replayed_answers_are_the_bytes_django_sent(gunicorn, path, headers, status):
    """soulverse.replay in the served application: the worker's first requests go through Django,
    the next are replayed; they must not differ (headers of every middleware included)."""
    port, _ = gunicorn
    found = answers(port, path, headers)
    assert found[0][0] == status
    # Each answer carries its own request id (made up here: none was sent), the replayed ones too.
    request_ids = [dict(headers).get("X-Request-ID") for _, headers, _ in found]
    assert len(set(request_ids)) == 3 and all(len(request_id) == 32 for request_id in request_ids)
    found = [(status, [h for h in headers if h[0] != "X-Request-ID"], body) for status, headers, body in found]
    assert found[0] == found[1] == found[2]
    assert ("X-Frame-Options", "DENY") in found[0][1] and ("X-Content-Type-Options", "nosniff") in found[0][1]


# --- Issue 21, finding 1: forwarded headers believed from the trusted proxy only -------------------


def failed_logins(port: int, forwarded_for: list[str]) -> list[int]:
    """One wrong password per address, each as the X-Forwarded-For a (forged) proxy would send."""
    return [
        request(
            port,
            "POST",
            "/api/v1/auth/login",
            json.dumps({"email": "marie@example.org", "password": f"x{n}"}).encode(),
            {"Content-Type": "application/json", "X-Forwarded-For": address, "X-Forwarded-Proto": "https"},
        )[0]
        for n, address in enumerate(forwarded_for)
    ]


def test_a_caller_that_is_not_the_proxy_cannot_forge_its_address(tmp_path):
    """Before: with DJANGO_BEHIND_PROXY on, a new X-Forwarded-For per attempt escaped the lockout
    (22 wrong passwords, 22 x 401). Now gunicorn's peer (127.0.0.1) is not the proxy listed."""
    UserFactory(email="marie@example.org", password="Un-mot-de-passe-solide-42")
    with gunicorn_serving(tmp_path, DJANGO_BEHIND_PROXY="true", FORWARDED_ALLOW_IPS="10.255.0.0/24") as (port, _):
        assert failed_logins(port, [f"203.0.113.{n}" for n in range(6)]) == [401] * 4 + [429] * 2
    # Nor its scheme: a forged X-Forwarded-Proto is dropped, so the HTTPS redirect still applies.
    with gunicorn_serving(
        tmp_path, DJANGO_BEHIND_PROXY="true", FORWARDED_ALLOW_IPS="10.255.0.0/24", DJANGO_SECURE_SSL_REDIRECT="true"
    ) as (port, _):
        assert failed_logins(port, ["203.0.113.99"]) == [301]


def test_the_trusted_proxy_is_believed(tmp_path):
    """The same requests from the listed proxy: each address is a client of its own, and one
    address that keeps failing is locked out alone."""
    UserFactory(email="marie@example.org", password="Un-mot-de-passe-solide-42")
    with gunicorn_serving(
        tmp_path, DJANGO_BEHIND_PROXY="true", FORWARDED_ALLOW_IPS="127.0.0.0/8", DJANGO_SECURE_SSL_REDIRECT="true"
    ) as (port, _):
        assert failed_logins(port, [f"203.0.113.{n}" for n in range(6)]) == [401] * 6
        assert failed_logins(port, ["198.51.100.7"] * 6) == [401] * 4 + [429] * 2
        status, _ = request(port, "GET", "/api/v1/users/me", headers={"X-Forwarded-Proto": "https"})
        assert status == 401  # HTTPS as the proxy says: no redirect, the authentication answer
