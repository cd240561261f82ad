"""FCM over HTTPS, as in production: the stand-in in a process of its own serves TLS with a
certificate of a test authority (HTTP/2 or HTTP/1.1 by ALPN), which every send mode trusts through
FCM_CA_BUNDLE, and none trusts without it."""

import google.auth.exceptions
import pytest

from soulverse.testing.fcm_stub import FcmStubProcess
from soulverse.tests.settings_process import django_setup_run
from verses.push import fcm
from verses.tests.pushes import AT, push_to

MODES = ["pool", "threads", "async", "h2", "curl"]


@pytest.fixture(scope="module")
def https_stand_in():
    with FcmStubProcess(tls=True) as stub:
        yield stub


@pytest.fixture
def stand_in(https_stand_in, settings, tmp_path):
    settings.FCM_CREDENTIALS_FILE = str(https_stand_in.credentials_file(tmp_path))
    settings.FCM_BASE_URL = https_stand_in.base_url
    settings.FCM_RETRIES = 0
    yield https_stand_in
    fcm.fcm_reset()


@pytest.mark.parametrize("mode", MODES)
def test_a_push_goes_through_the_https_stand_in_trusted_through_the_setting(stand_in, settings, mode):
    settings.FCM_SEND_MODE = mode
    settings.FCM_CA_BUNDLE = str(stand_in.ca_file)
    fcm.fcm_reset()
    accepted, connections = stand_in.accepted, stand_in.connections

    results, _ = fcm.pushes_send([push_to(1, "token-1"), push_to(2, "unregistered-2")], now=AT)

    assert [(r.outcome, r.error) for r in results] == [
        (fcm.Outcome.SENT, ""),
        (fcm.Outcome.INVALID_TOKEN, "UNREGISTERED (HTTP 404)"),
    ]
    assert stand_in.base_url.startswith("https://127.0.0.1:")
    assert stand_in.accepted - accepted == 1
    # h2, libcurl and firebase-admin's send_each_async (httpx) ask for HTTP/2 by ALPN; requests
    # and urllib3 speak HTTP/1.1 (and so does the OAuth token endpoint's client).
    new_h2 = stand_in.connections["h2"] - connections["h2"]
    assert new_h2 == (1 if mode in ("async", "h2", "curl") else 0)


@pytest.mark.parametrize("mode", MODES)
def test_without_the_setting_the_stand_ins_certificate_is_refused(stand_in, settings, mode):
    settings.FCM_SEND_MODE = mode
    settings.FCM_CA_BUNDLE = ""
    fcm.fcm_reset()
    accepted = stand_in.accepted

    with pytest.raises(google.auth.exceptions.TransportError) as error:
        fcm.pushes_send([push_to(1, "token-1")], now=AT)

    # The token endpoint, the first request of a batch, names the certificate it could not verify.
    assert "CERTIFICATE_VERIFY_FAILED" in str(error.value)
    assert f"port={stand_in.base_url.rsplit(':', 1)[1]}" in str(error.value)
    assert stand_in.accepted == accepted


def test_fcm_ca_bundle_must_name_a_file(tmp_path):
    result = django_setup_run(FCM_CA_BUNDLE=str(tmp_path / "missing.pem"))
    assert result.returncode != 0
    assert f"FCM_CA_BUNDLE names no file: {tmp_path / 'missing.pem'}" in result.stderr
    bundle = tmp_path / "ca.pem"
    bundle.write_text("")
    assert django_setup_run(FCM_CA_BUNDLE=str(bundle), FCM_SEND_MODE="h2").returncode == 0
    result = django_setup_run(FCM_SEND_MODE="http2")
    assert result.returncode != 0
    assert "FCM_SEND_MODE must be 'pool', 'threads', 'async', 'h2' or 'curl'." in result.stderr
