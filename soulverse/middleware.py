"""Request guards that must run before any view reads the body, who the caller is, and the request
id of the logs."""

import functools
import ipaddress
import logging

from csp.middleware import CSPMiddleware
from django.conf import settings
from django.core.signals import request_finished
from django.http import JsonResponse

from soulverse.logs import log_context_clear, log_context_start, request_id_from


class RequestIdMiddleware:
    """Tag the request with the proxy's X-Request-ID (one made up when absent or malformed): in
    every log line of the request, in Sentry's events, and echoed in the response."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = request_id_from(request.META.get("HTTP_X_REQUEST_ID", ""))
        request.request_id = request_id
        if settings.SENTRY_DSN:
            import sentry_sdk

            sentry_sdk.set_tag("request_id", request_id)
        log_context_start(request_id=request_id)  # until the response is closed (request_finished)
        response = self.get_response(request)
        response["X-Request-ID"] = request_id
        return response


def _request_log_context_clear(**kwargs) -> None:
    log_context_clear()


request_finished.connect(_request_log_context_clear, dispatch_uid="soulverse.request_log_context_clear")
logger = logging.getLogger(__name__)


class RequestBodyGuardMiddleware:
    """Refuse a body sent without Content-Length (chunked transfer coding) with 411.

    Django reads CONTENT_LENGTH bytes of the body: without it a chunked body would be read as
    empty, and an invalid PATCH would answer 200 having checked nothing."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "HTTP_TRANSFER_ENCODING" in request.META and not request.META.get("CONTENT_LENGTH"):
            return JsonResponse(
                {"detail": "Longueur requise : envoyez le corps avec un en-tête Content-Length."}, status=411
            )
        return self.get_response(request)


@functools.cache
def _networks(entries: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries if entry != "*")


def peer_trusted(remote_addr: str) -> bool:
    """Whether the immediate peer is a proxy whose forwarded headers are believed: DJANGO_BEHIND_PROXY
    is on and the peer is in FORWARDED_ALLOW_IPS (gunicorn's list, addresses or networks, `*` for any)."""
    if not settings.BEHIND_PROXY:
        return False
    entries = tuple(settings.FORWARDED_ALLOW_IPS)
    if "*" in entries:
        return True
    try:
        peer = ipaddress.ip_address(remote_addr.split("%", 1)[0])
    except ValueError:
        return False
    return any(peer in network for network in _networks(entries))


class ForwardedHeadersMiddleware:
    """Drop X-Forwarded-For and X-Forwarded-Proto from a peer that is not a trusted proxy (a caller
    that reaches gunicorn directly): nothing downstream (HTTPS detection, throttles, lockout) may
    believe them."""

    HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO")

    def __init__(self, get_response):
        self.get_response = get_response
        self.unexpected_logged = False

    def __call__(self, request):
        if settings.BEHIND_PROXY:
            if not peer_trusted(request.META.get("REMOTE_ADDR", "")):
                for name in self.HEADERS:
                    request.META.pop(name, None)
        elif "HTTP_X_FORWARDED_FOR" in request.META and not self.unexpected_logged:
            # Behind a proxy without DJANGO_BEHIND_PROXY, every client has the proxy's address: one
            # client's failed sign-ins lock an account out for all. Said once per process.
            self.unexpected_logged = True
            logger.warning(
                "event=forwarded_for_ignored reason=DJANGO_BEHIND_PROXY_off peer=%s",
                request.META.get("REMOTE_ADDR", ""),
            )
        return self.get_response(request)


def client_ip(request) -> str:
    """The caller's address: the one the proxy saw (last X-Forwarded-For entry, which it appends)
    when the peer is a trusted proxy (peer_trusted), else the socket's peer. DRF's throttles
    (soulverse.throttles) and django-axes both identify callers by it."""
    remote_addr = request.META.get("REMOTE_ADDR", "")
    if peer_trusted(remote_addr):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[-1].strip()
    return remote_addr


def lockout_response(request, original_response=None, credentials=None):
    """django-axes' answer to a locked-out login (admin or API): 429 with Retry-After, and no
    username echoed."""
    seconds = int(settings.AXES_COOLOFF_TIME.total_seconds())
    response = JsonResponse(
        {"detail": f"Trop de tentatives de connexion : réessayez dans {seconds // 60} minutes."}, status=429
    )
    response["Retry-After"] = str(seconds)
    return response


class HtmlContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's Content-Security-Policy (CONTENT_SECURITY_POLICY), on HTML answers only: the
    admin, the dashboard and the other pages; the API's JSON and the metrics carry no document a
    policy would protect, and skipping them keeps the hot paths' work unchanged."""

    def process_request(self, request):
        return None  # no nonce: no page here has an inline script or style

    def process_response(self, request, response):
        if not response.get("Content-Type", "").startswith("text/html"):
            return response
        return super().process_response(request, response)
