"""The contract with firebase-admin's private names that verses/push/fcm_sdk.py relies on.

firebase-admin gives no public way to post to another endpoint, reuse its retry policy, build a
message's JSON or read FCM's error answers without its own requests session. fcm_sdk.py reaches
those internals, and only it does; each is pinned here (present, and called as the transport
calls it), so upgrading firebase-admin past a change fails this module instead of the pushes.
"""

from __future__ import annotations

import dataclasses
import datetime
import inspect
import json
import pathlib
import re

import google.auth.transport.requests
import httpx
import pytest
import requests
import urllib3
from firebase_admin import _http_client, _retry, exceptions, messaging

from verses.push import fcm, fcm_sdk


def _parameters(function) -> list[str]:
    return list(inspect.signature(function).parameters)


def test_the_private_module_constants_are_there_with_their_types():
    assert isinstance(_http_client.DEFAULT_RETRY_CONFIG, urllib3.util.Retry)
    assert 500 in _http_client.DEFAULT_RETRY_CONFIG.status_forcelist
    assert 503 in _http_client.DEFAULT_RETRY_CONFIG.status_forcelist
    assert isinstance(_http_client.DEFAULT_RETRY_CONFIG.new(), urllib3.util.Retry)
    assert isinstance(_http_client.METRICS_HEADERS, dict)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in _http_client.METRICS_HEADERS.items())
    assert isinstance(_http_client.DEFAULT_TIMEOUT_SECONDS, int | float)
    assert _http_client.DEFAULT_TIMEOUT_SECONDS > 0
    assert fcm_sdk.RETRY_CONFIG is _http_client.DEFAULT_RETRY_CONFIG
    # send_each_async's retry policy, which the h2 sender mounts as send_each_async does.
    assert isinstance(_http_client.DEFAULT_HTTPX_RETRY_CONFIG, _retry.HttpxRetry)
    assert _http_client.DEFAULT_HTTPX_RETRY_CONFIG.status_forcelist == [500, 503]
    assert isinstance(_http_client.DEFAULT_HTTPX_RETRY_CONFIG.copy(), _retry.HttpxRetry)
    assert fcm_sdk.HTTPX_RETRY_CONFIG is _http_client.DEFAULT_HTTPX_RETRY_CONFIG


def test_the_private_callables_take_the_parameters_the_transport_passes():
    assert _parameters(messaging._get_messaging_service) == ["app"]
    assert _parameters(messaging._MessagingService._message_data) == ["self", "message", "dry_run"]
    assert _parameters(messaging._MessagingService._handle_fcm_error) == ["self", "error"]
    assert _parameters(messaging._MessagingService._handle_fcm_httpx_error) == ["self", "error"]
    assert _parameters(_retry.HttpxRetryTransport.__init__) == ["self", "retry", "kwargs"]
    assert _parameters(_http_client.GoogleAuthCredentialFlow.__init__) == ["self", "credential"]
    # Built by the pooled sender for each message's verdict and for the batch.
    assert _parameters(messaging.SendResponse.__init__) == ["self", "resp", "exception"]
    assert _parameters(messaging.BatchResponse.__init__) == ["self", "responses"]


def test_a_real_service_has_the_attributes_the_transport_reads_and_sets(fcm_stub):
    app = fcm.fcm_app()
    service = fcm_sdk.messaging_service(app)

    assert isinstance(service, messaging._MessagingService)
    assert service is messaging._get_messaging_service(app)  # one per app: the URL set sticks
    assert fcm_sdk.service_url(service) == f"{fcm_stub.base_url}/v1/projects/{app.project_id}/messages:send"
    assert isinstance(service._fcm_headers, dict)
    assert isinstance(fcm_sdk.service_session(service), requests.Session)
    headers = fcm_sdk.service_headers(service)
    assert headers["X-GOOG-API-FORMAT-VERSION"] == "2"
    assert headers["x-goog-api-client"] == _http_client.METRICS_HEADERS["x-goog-api-client"]
    # send_each_async's client, whose httpx.AsyncClient FCM_CA_BUNDLE replaces.
    httpx_client = fcm_sdk.service_httpx_client(service)
    assert isinstance(httpx_client, _http_client.HttpxAsyncClient)
    assert isinstance(httpx_client._async_client, httpx.AsyncClient)
    assert httpx_client.async_client is httpx_client._async_client
    # google-auth's session for token refreshes inside firebase-admin's AuthorizedSession.
    session = fcm_sdk.service_session(service)
    assert isinstance(session, google.auth.transport.requests.AuthorizedSession)
    assert isinstance(fcm_sdk.authorized_session_token_session(session), requests.Session)


def test_the_httpx_retry_policy_has_what_the_h2_sender_calls():
    retry = fcm_sdk.HTTPX_RETRY_CONFIG.copy()
    request = httpx.Request("POST", "https://fcm.googleapis.com/v1/projects/p/messages:send")
    unavailable = httpx.Response(503, request=request)

    assert (retry.is_exhausted(), retry.is_retryable_response(unavailable)) == (False, True)
    assert retry.is_retryable_response(httpx.Response(429, request=request)) is False
    assert retry.is_retryable_response(httpx.Response(200, request=request)) is False
    assert inspect.iscoroutinefunction(retry.sleep) and _parameters(retry.sleep) == ["response"]
    for _ in range(5):  # the first try and four retries
        retry.increment(request, unavailable, None)
    assert retry.is_exhausted()
    assert fcm_sdk.HTTPX_RETRY_CONFIG.is_exhausted() is False  # copy() left the shared policy alone


def test_the_httpx_pieces_are_built_as_send_each_async_builds_them(fcm_stub):
    transport = fcm_sdk.httpx_retry_transport(limits=httpx.Limits(max_connections=1))
    assert isinstance(transport, httpx.AsyncBaseTransport)
    assert transport._retry is _http_client.DEFAULT_HTTPX_RETRY_CONFIG
    assert isinstance(transport._wrapped_transport, httpx.AsyncHTTPTransport)
    credential = fcm.fcm_app().credential.get_credential()
    assert isinstance(fcm_sdk.httpx_credential_auth(credential), httpx.Auth)


def test_a_message_payload_is_the_json_fcm_expects(fcm_stub):
    service = fcm_sdk.messaging_service(fcm.fcm_app())
    message = messaging.Message(token="token-1", data={"day": "2026-12-07"})

    assert fcm_sdk.message_payload(service, message, dry_run=False) == {
        "message": {"token": "token-1", "data": {"day": "2026-12-07"}}
    }
    dry = fcm_sdk.message_payload(service, message, dry_run=True)
    assert dry["validate_only"] is True
    json.dumps(dry, allow_nan=False)  # what the pooled sender posts


def _http_error(status: int, body: dict) -> requests.exceptions.HTTPError:
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(body).encode()
    response.headers["Content-Type"] = "application/json"
    return requests.exceptions.HTTPError(f"{status}", response=response)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            _http_error(
                404,
                {
                    "error": {
                        "status": "NOT_FOUND",
                        "message": "Requested entity was not found.",
                        "details": [
                            {
                                "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
                                "errorCode": "UNREGISTERED",
                            }
                        ],
                    }
                },
            ),
            messaging.UnregisteredError,
        ),
        (
            _http_error(
                429,
                {
                    "error": {
                        "status": "RESOURCE_EXHAUSTED",
                        "message": "quota",
                        "details": [
                            {
                                "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
                                "errorCode": "QUOTA_EXCEEDED",
                            }
                        ],
                    }
                },
            ),
            messaging.QuotaExceededError,
        ),
        (
            _http_error(400, {"error": {"status": "INVALID_ARGUMENT", "message": "bad"}}),
            exceptions.InvalidArgumentError,
        ),
        (requests.exceptions.ConnectionError("refused"), exceptions.UnavailableError),
        (requests.exceptions.Timeout("slow"), exceptions.DeadlineExceededError),
        (requests.exceptions.RequestException("other"), exceptions.UnknownError),
    ],
)
def test_fcm_errors_are_read_into_firebase_admins_exception_classes(fcm_stub, error, expected):
    service = fcm_sdk.messaging_service(fcm.fcm_app())

    exception = fcm_sdk.fcm_error(service, error)

    assert type(exception) is expected


def _httpx_status_error(status: int, body: dict) -> httpx.HTTPStatusError:
    request = httpx.Request("POST", "https://fcm.googleapis.com/v1/projects/p/messages:send")
    response = httpx.Response(status, json=body, request=request)
    return httpx.HTTPStatusError(f"{status}", request=request, response=response)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            _httpx_status_error(
                404,
                {
                    "error": {
                        "status": "NOT_FOUND",
                        "message": "Requested entity was not found.",
                        "details": [
                            {
                                "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
                                "errorCode": "UNREGISTERED",
                            }
                        ],
                    }
                },
            ),
            messaging.UnregisteredError,
        ),
        (
            _httpx_status_error(
                429,
                {
                    "error": {
                        "status": "RESOURCE_EXHAUSTED",
                        "message": "quota",
                        "details": [
                            {
                                "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
                                "errorCode": "QUOTA_EXCEEDED",
                            }
                        ],
                    }
                },
            ),
            messaging.QuotaExceededError,
        ),
        (
            _httpx_status_error(400, {"error": {"status": "INVALID_ARGUMENT", "message": "bad"}}),
            exceptions.InvalidArgumentError,
        ),
        (httpx.ConnectError("refused"), exceptions.UnavailableError),
        (httpx.ReadTimeout("slow"), exceptions.DeadlineExceededError),
        (httpx.RemoteProtocolError("other"), exceptions.UnknownError),
    ],
)
def test_httpx_errors_are_read_into_firebase_admins_exception_classes(fcm_stub, error, expected):
    service = fcm_sdk.messaging_service(fcm.fcm_app())

    exception = fcm_sdk.fcm_httpx_error(service, error)

    assert type(exception) is expected
    if isinstance(error, httpx.HTTPStatusError):  # what verses.push.fcm reads the verdict from
        assert exception.http_response.status_code == error.response.status_code


def test_the_responses_the_pooled_sender_builds_read_as_firebase_admins_own():
    error = exceptions.UnknownError("boom")
    sent = fcm_sdk.send_response({"name": "projects/x/messages/1"}, None)
    failed = fcm_sdk.send_response(None, error)
    batch = fcm_sdk.batch_response([sent, failed])

    assert (sent.success, sent.message_id, sent.exception) == (True, "projects/x/messages/1", None)
    assert (failed.success, failed.message_id, failed.exception) == (False, None, error)
    assert (batch.success_count, batch.failure_count, batch.responses) == (1, 1, [sent, failed])


_PRIVATE = re.compile(
    r"_http_client|_get_messaging_service|_MessagingService|\._fcm_url|\._fcm_headers|\._client\b"
    r"|_message_data|_handle_fcm_error|firebase_admin\._|_handle_fcm_httpx_error|\._async_client\b"
    r"|GoogleAuthCredentialFlow|HttpxRetryTransport|DEFAULT_HTTPX_RETRY_CONFIG|_auth_request_session"
)


def _firebase_private(source: str) -> bool:
    return "firebase_admin" in source and _PRIVATE.search(source) is not None


def test_the_scan_finds_a_private_name():
    assert _firebase_private("from firebase_admin import messaging\nmessaging._get_messaging_service(app)")
    assert not _firebase_private("from firebase_admin import messaging\nmessaging.send_each(messages)")


def test_no_other_module_reaches_a_private_firebase_admin_name():
    root = pathlib.Path(fcm_sdk.__file__).parents[2]
    offenders = [
        str(path.relative_to(root))
        for app in ("verses", "scheduler", "users", "webhooks", "soulverse")
        for path in (root / app).rglob("*.py")
        if "tests" not in path.parts and path.name != "fcm_sdk.py" and _firebase_private(path.read_text())
    ]

    assert offenders == []


def test_a_push_message_goes_through_the_pinned_payload(fcm_stub):
    push = fcm.Push(
        key=1,
        kind="token",
        target="token-1",
        language="fr",
        day=datetime.date(2026, 12, 7),
        reference="Jean 3:16",
        text="Car Dieu a tant aimé le monde",
        verse_id=7,
        expires_at=datetime.datetime(2026, 12, 8, tzinfo=datetime.UTC),
    )
    message = fcm.push_message(push, now=datetime.datetime(2026, 12, 7, 6, tzinfo=datetime.UTC))
    payload = fcm_sdk.message_payload(fcm_sdk.messaging_service(fcm.fcm_app()), message, dry_run=False)["message"]

    assert payload["token"] == "token-1" and "fid" not in payload
    # A Firebase Installation ID goes in the v1 message's `fid` (firebase-admin 7.5+), not `token`.
    fid = fcm.push_message(
        dataclasses.replace(push, kind="fid", target="fAbCdEfGhIjKlMnOpQrStU"),
        now=datetime.datetime(2026, 12, 7, 6, tzinfo=datetime.UTC),
    )
    fid_payload = fcm_sdk.message_payload(fcm_sdk.messaging_service(fcm.fcm_app()), fid, dry_run=False)["message"]
    assert fid_payload["fid"] == "fAbCdEfGhIjKlMnOpQrStU" and "token" not in fid_payload
    assert {k: v for k, v in fid_payload.items() if k != "fid"} == {k: v for k, v in payload.items() if k != "token"}
    assert payload["android"] == {"collapse_key": "verse-2026-12-07", "ttl": "64800s", "priority": "normal"}
    assert payload["data"] == {"day": "2026-12-07", "reference": "Jean 3:16", "verse_id": "7"}


@pytest.mark.parametrize("dry_run", [False, True])
def test_a_prebuilt_body_is_firebase_admins_own_encoding_of_the_pushs_message(fcm_stub, dry_run):
    """The pooled and HTTP/2 senders post PushBodies' bytes: for each push, exactly what
    firebase-admin encodes for its Message (json.dumps of `_message_data`), whatever the target
    (a token, an FID, characters JSON escapes) and with one encoding per verse."""
    app = fcm.fcm_app()
    service = fcm_sdk.messaging_service(app)
    now = datetime.datetime(2026, 12, 7, 6, tzinfo=datetime.UTC)
    push = fcm.Push(
        key=1,
        kind="token",
        target="token-1:APA91b",
        language="fr",
        day=datetime.date(2026, 12, 7),
        reference="Jean 3:16",
        text='Car Dieu a tant aimé le monde « tant » "cité"',
        verse_id=7,
        expires_at=datetime.datetime(2026, 12, 8, tzinfo=datetime.UTC),
    )
    pushes = [
        push,
        dataclasses.replace(push, key=2, target="token-2:APA91b"),
        dataclasses.replace(push, key=3, kind="fid", target="fAbCdEfGhIjKlMnOpQrStU"),
        dataclasses.replace(push, key=4, target='odd"target\\é\n'),
        dataclasses.replace(push, key=5, language="en", verse_id=8, reference="John 3:16", text="For God so loved"),
    ]
    bodies = fcm.PushBodies(app, now=now, dry_run=dry_run)
    for each in pushes:
        expected = json.dumps(
            fcm_sdk.message_payload(service, fcm.push_message(each, now=now), dry_run=dry_run), allow_nan=False
        ).encode()
        assert bodies.body(each) == expected
        assert json.loads(bodies.body(each))["message"]["fid" if each.kind == "fid" else "token"] == each.target
    assert len(bodies._templates) == 3  # token fr, fid fr, token en: one encoding each


def test_a_body_is_posted_as_built(fcm_stub, settings):
    """The pooled sender posts a prebuilt body as it is (the stand-in reads the message back)."""
    settings.FCM_SEND_MODE = "pool"
    fcm.fcm_reset()
    push = fcm.Push(
        key=1,
        kind="token",
        target="token-1:APA91b",
        language="fr",
        day=datetime.date(2026, 12, 7),
        reference="Jean 3:16",
        text="Car Dieu a tant aimé le monde",
        verse_id=7,
        expires_at=datetime.datetime(2026, 12, 8, tzinfo=datetime.UTC),
    )
    results, _ = fcm.pushes_send([push, dataclasses.replace(push, key=2, target="token-2:APA91b")])
    assert [result.outcome for result in results] == [fcm.Outcome.SENT, fcm.Outcome.SENT]
    assert sorted((token, message["data"]["verse_id"]) for token, message in fcm_stub.delivered) == [
        ("token-1:APA91b", "7"),
        ("token-2:APA91b", "7"),
    ]
