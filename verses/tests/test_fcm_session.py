"""firebase-admin's session as verses.push.fcm tunes it, and the stub served in a process of its own
(the benchmark's), both through real firebase-admin code over real HTTP."""

import pytest
import requests

from soulverse.testing.fcm_stub import FcmStubProcess
from verses.push import fcm, fcm_sdk
from verses.tests.pushes import AT, push_to


def test_the_session_keeps_a_batch_of_connections_and_reads_the_environment_once(
    fcm_stub, monkeypatch, tmp_path, settings
):
    settings.FCM_SEND_MODE = "threads"  # firebase-admin's own send_each, on its requests session
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login someone password secret\n")
    monkeypatch.setenv("NETRC", str(netrc))  # would replace the Bearer token with Basic auth per request
    app = fcm.fcm_app()
    session = fcm_sdk.service_session(fcm_sdk.messaging_service(app))
    adapter = session.get_adapter(f"{fcm_stub.base_url}/v1/projects/x/messages:send")

    assert session.trust_env is False
    assert adapter._pool_maxsize == fcm.BATCH_MAX
    results, retried = fcm.pushes_send([push_to(n, f"token-{n}") for n in range(600)], now=AT)

    assert [r.outcome for r in results] == [fcm.Outcome.SENT] * 600
    assert retried == 0
    assert fcm_stub.delivered_tokens() == {f"token-{n}": 1 for n in range(600)}
    pool = adapter.poolmanager.connection_from_url(fcm_stub.base_url)
    assert pool.num_connections <= fcm.BATCH_MAX  # the second batch reused the first one's connections


@pytest.fixture
def stub_process(settings, tmp_path):
    with FcmStubProcess(latency=0.01) as stub:
        settings.FCM_CREDENTIALS_FILE = str(stub.credentials_file(tmp_path))
        settings.FCM_BASE_URL = stub.base_url
        fcm.fcm_reset()
        yield stub
    fcm.fcm_reset()


def test_the_stub_process_speaks_the_same_protocol(stub_process):
    pushes = [
        push_to(1, "token-ok"),
        push_to(2, "unregistered-1"),
        push_to(3, "invalid-1"),
        push_to(4, "mismatch-1"),
        push_to(5, "token-ok-2"),
    ]

    results, _ = fcm.pushes_send(pushes, now=AT)

    assert [(r.key, r.outcome) for r in results] == [
        (1, fcm.Outcome.SENT),
        (2, fcm.Outcome.INVALID_TOKEN),
        (3, fcm.Outcome.INVALID_TOKEN),
        (4, fcm.Outcome.INVALID_TOKEN),
        (5, fcm.Outcome.SENT),
    ]
    assert results[0].message_id.startswith(f"projects/{stub_process.project_id}/messages/0:")
    assert results[1].error == "UNREGISTERED (HTTP 404)"
    assert stub_process.accepted == 2
    assert stub_process.requests == 5
    # Without the OAuth token the stub issued, a send is refused.
    answer = requests.post(
        f"{stub_process.base_url}/v1/projects/{stub_process.project_id}/messages:send",
        json={"message": {"token": "t"}},
        headers={"Authorization": "Bearer forged"},
        timeout=5,
    )
    assert answer.status_code == 401
    assert answer.json()["error"]["status"] == "UNAUTHENTICATED"
    assert stub_process.accepted == 2
