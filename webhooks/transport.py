"""Sending one webhook request: the address guard (SSRF) and the HTTP POST.

The host is resolved once, every address it resolves to is checked, and the request goes to a
checked address (the host name still names the TLS certificate and the Host header): a DNS
answer that changes between the check and the connection cannot point the request elsewhere."""

import ipaddress
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import urllib3
from django.conf import settings


class AddressRefused(Exception):
    """The URL resolves to an address webhooks may not reach."""


@dataclass(frozen=True)
class SendResult:
    status_code: int | None
    duration_ms: int
    error: str = ""  # for the attempt log (may name the URL); logs get `kind` only

    @property
    def kind(self) -> str:
        if self.status_code is not None:
            return "ok" if self.succeeded else f"http_{self.status_code}"
        return self.error.split(":", 1)[0].split(" ", 1)[0].lower() or "error"

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _ip(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # an IPv6 scope id is not part of the address
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        return ip.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    return ip


def address_refused(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Private, loopback, link-local (cloud metadata), and anything else that is not global."""
    return (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast or ip.is_reserved
            or ip.is_unspecified or not ip.is_global)


def _allowed_private(host: str, ip) -> bool:
    allowed = {entry.strip().lower().strip("[]") for entry in settings.WEBHOOKS_ALLOWED_PRIVATE_HOSTS}
    return host.lower() in allowed or str(ip) in allowed


def url_addresses(url: str) -> list[str]:
    """The addresses `url`'s host resolves to, all allowed; AddressRefused if one is not.
    socket.gaierror when the host does not resolve."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    for address in addresses:
        ip = _ip(address)
        if address_refused(ip) and not _allowed_private(host, ip):
            raise AddressRefused(f"{host} resolves to {ip}, a private, loopback or link-local address")
    return addresses


def webhook_post(*, url: str, headers: dict[str, str], body: bytes) -> SendResult:
    """POST `body` to `url` with a total timeout of WEBHOOKS_TIMEOUT_SECONDS, no redirect followed."""
    started = time.monotonic()

    def elapsed() -> int:
        return round((time.monotonic() - started) * 1000)

    parts = urlsplit(url)
    try:
        address = url_addresses(url)[0]
    except AddressRefused as exc:
        return SendResult(None, elapsed(), f"refused: {exc}")
    except (socket.gaierror, UnicodeError) as exc:
        return SendResult(None, elapsed(), f"DNS resolution failed: {exc}")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    timeout = urllib3.Timeout(total=settings.WEBHOOKS_TIMEOUT_SECONDS)
    if parts.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(address, port, timeout=timeout, retries=False, maxsize=1,
                                           server_hostname=parts.hostname, assert_hostname=parts.hostname,
                                           cert_reqs="CERT_REQUIRED")
    else:
        pool = urllib3.HTTPConnectionPool(address, port, timeout=timeout, retries=False, maxsize=1)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        with pool:
            response = pool.urlopen("POST", path, body=body, headers={**headers, "Host": parts.netloc.rpartition("@")[2]},
                                    redirect=False, retries=False, assert_same_host=False, preload_content=False)
            response.read(64 * 1024)  # a receiver's answer is not needed; do not read a large one
            response.release_conn()
    except urllib3.exceptions.TimeoutError:
        return SendResult(None, elapsed(), f"timeout after {settings.WEBHOOKS_TIMEOUT_SECONDS:g} s")
    except urllib3.exceptions.HTTPError as exc:
        return SendResult(None, elapsed(), f"{type(exc).__name__}: {exc}")
    error = ""
    if 300 <= response.status < 400:
        error = f"redirect to {response.headers.get('Location', '?')} not followed"
    elif not 200 <= response.status < 300:
        error = f"HTTP {response.status}"
    return SendResult(response.status, elapsed(), error)
