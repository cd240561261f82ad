"""The address guard decides by its own ranges, whatever Python's is_private/is_global say in this
release (issue 21, finding 10): 6to4, Teredo, NAT64, site-local and the IPv4-embedding ranges are
refused through the API, global unicast addresses are not."""

import ipaddress

import pytest

from webhooks.models import WebhookEndpoint
from webhooks.transport import _ip, address_refused

pytestmark = pytest.mark.django_db
URL = "/api/v1/scheduler/webhooks"

REFUSED = [
    "2002:7f00:1::1",  # 6to4 wrapping 127.0.0.1
    "2002:a9fe:a9fe::1",  # 6to4 wrapping 169.254.169.254 (cloud metadata)
    "2002:808:808::1",  # 6to4 even around a public IPv4: reached through a relay
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
    "64:ff9b::7f00:1",
    "64:ff9b::a9fe:a9fe",
    "64:ff9b:1::a00:1",  # NAT64
    "fec0::1",  # site-local
    "::7f00:1",
    "::a9fe:a9fe",  # IPv4-compatible
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",  # IPv4-mapped private
    "fd00::1",
    "fe80::1",
    "ff02::1",
    "::1",
    "::",
    "100::1",
    "2001:db8::1",
    "3fff::1",
    "127.0.0.1",
    "10.0.0.1",
    "169.254.169.254",
    "100.64.0.1",
    "192.0.0.8",
    "198.18.0.1",
    "240.0.0.1",
]


@pytest.mark.parametrize("address", REFUSED)
def test_the_api_refuses_addresses_that_reach_inside(staff_client, address):
    host = f"[{address}]" if ":" in address else address
    response = staff_client.post(URL, {"url": f"http://{host}/hook", "events": ["run.failed"]}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["url"]
    assert response.json()["url"][0].startswith("Adresse refusée : ")
    assert WebhookEndpoint.objects.count() == 0


@pytest.mark.parametrize(
    "address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "2a00:1450:4007:80e::200e", "::ffff:8.8.8.8"]
)
def test_global_addresses_stay_allowed(address):
    assert not address_refused(_ip(address))


def test_the_decision_does_not_follow_pythons_own_classification():
    """Python 3.11.x calls some of these global; the guard refuses them all the same."""
    python_says_global = [a for a in REFUSED if ipaddress.ip_address(a).is_global]
    assert all(address_refused(_ip(a)) for a in python_says_global)
