"""Sending one webhook request: the address guard (SSRF) and the HTTP POST.

The host is resolved once, every address it resolves to is checked, and the request goes to a
checked address (the host name still names the TLS certificate and the Host header): a DNS
answer that changes between the check and the connection cannot point the request elsewhere."""

import ipaddress
import socket
import threading
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


# What a webhook may reach is decided here, not by Python's is_private/is_global (their ranges
# changed between releases: 3.11.10, 3.12.4 and 3.13 each moved some). IPv4: everything except the
# special-purpose ranges (IANA's registry). IPv6: global unicast (2000::/3) only, except the ranges
# in it that are not a host of their own: Teredo and the other IETF protocol assignments, 6to4
# (2002:7f00:1::1 wraps 127.0.0.1), documentation. Outside 2000::/3 are loopback, unspecified,
# IPv4-compatible (::/96), NAT64 (64:ff9b::/96, 64:ff9b:1::/48), discard, unique local,
# site-local (fec0::/10), link-local and multicast: all refused. An IPv4-mapped address
# (::ffff:a.b.c.d) is judged as the IPv4 address it is (_ip).
_IPV4_REFUSED = tuple(
    ipaddress.IPv4Network(net)
    for net in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.31.196.0/24",
        "192.52.193.0/24",
        "192.88.99.0/24",
        "192.168.0.0/16",
        "192.175.48.0/24",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",
    )
)
_IPV6_GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")
_IPV6_REFUSED = tuple(
    ipaddress.IPv6Network(net)
    for net in (
        "2001::/23",  # IETF protocol assignments, Teredo (2001::/32) among them
        "2001:db8::/32",  # documentation
        "2002::/16",  # 6to4: the next 32 bits are an IPv4 address, reached through a relay
        "3fff::/20",  # documentation (RFC 9637)
    )
)


def address_refused(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """True unless `ip` is a global unicast address of a host of its own (see the ranges above)."""
    if isinstance(ip, ipaddress.IPv4Address):
        return any(ip in net for net in _IPV4_REFUSED)
    return ip not in _IPV6_GLOBAL_UNICAST or any(ip in net for net in _IPV6_REFUSED)


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


class _Deadline:
    """A wall-clock limit on one request, connect to last byte: when it passes, the request's sockets
    are shut down, so a blocked read fails at once. urllib3's timeouts are per socket operation: a
    receiver sending a byte a second would otherwise hold the worker until the task is killed."""

    def __init__(self, seconds: float) -> None:
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> "_Deadline":
        self._timer.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._timer.cancel()

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
            if self.expired:
                _shutdown(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                _shutdown(sock)

    def connection_class(self, base: type) -> type:
        """`base` (urllib3's connection class) with its sockets watched by this deadline."""
        deadline = self

        class Watched(base):
            def _new_conn(self):
                sock = super()._new_conn()
                deadline.watch(sock)
                return sock

        return Watched


def _shutdown(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already closed


def webhook_post(*, url: str, headers: dict[str, str], body: bytes) -> SendResult:
    """POST `body` to `url`, no redirect followed, within WEBHOOKS_TIMEOUT_SECONDS of wall-clock time
    from the connection to the answer's last byte read."""
    started = time.monotonic()
    limit = settings.WEBHOOKS_TIMEOUT_SECONDS

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
    timeout = urllib3.Timeout(total=limit)
    if parts.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(
            address,
            port,
            timeout=timeout,
            retries=False,
            maxsize=1,
            server_hostname=parts.hostname,
            assert_hostname=parts.hostname,
            cert_reqs="CERT_REQUIRED",
        )
    else:
        pool = urllib3.HTTPConnectionPool(address, port, timeout=timeout, retries=False, maxsize=1)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    with _Deadline(limit) as deadline:
        pool.ConnectionCls = deadline.connection_class(pool.ConnectionCls)
        try:
            with pool:
                response = pool.urlopen(
                    "POST",
                    path,
                    body=body,
                    headers={**headers, "Host": parts.netloc.rpartition("@")[2]},
                    redirect=False,
                    retries=False,
                    assert_same_host=False,
                    preload_content=False,
                )
                response.read(64 * 1024)  # a receiver's answer is not needed; do not read a large one
                response.release_conn()
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            if deadline.expired or isinstance(exc, urllib3.exceptions.TimeoutError):
                return SendResult(None, elapsed(), f"timeout after {limit:g} s")
            return SendResult(None, elapsed(), f"{type(exc).__name__}: {exc}")
        if deadline.expired:  # the last read was cut short
            return SendResult(None, elapsed(), f"timeout after {limit:g} s")
    error = ""
    if 300 <= response.status < 400:
        error = f"redirect to {response.headers.get('Location', '?')} not followed"
    elif not 200 <= response.status < 300:
        error = f"HTTP {response.status}"
    return SendResult(response.status, elapsed(), error)
