"""Request guards that must run before any view reads the body, and the request id of the logs."""

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


class RequestBodyGuardMiddleware:
    """Refuse a body sent without Content-Length (chunked transfer coding) with 411.

    Django reads CONTENT_LENGTH bytes of the body: without it a chunked body would be read as
    empty, and an invalid PATCH would answer 200 having checked nothing."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "HTTP_TRANSFER_ENCODING" in request.META and not request.META.get("CONTENT_LENGTH"):
            return JsonResponse({"detail": "Longueur requise : envoyez le corps avec un en-tête Content-Length."},
                                status=411)
        return self.get_response(request)


def client_ip(request) -> str:
    """The caller's address: the one the proxy saw (last X-Forwarded-For entry) when
    DJANGO_BEHIND_PROXY says a proxy sets it, else the socket's peer."""
    if settings.BEHIND_PROXY:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[-1].strip()
    return request.META.get("REMOTE_ADDR", "")


def lockout_response(request, original_response=None, credentials=None):
    """django-axes' answer to a locked-out login (admin or API): 429 with Retry-After, and no
    username echoed."""
    seconds = int(settings.AXES_COOLOFF_TIME.total_seconds())
    response = JsonResponse({"detail": f"Trop de tentatives de connexion : réessayez dans {seconds // 60} minutes."},
                            status=429)
    response["Retry-After"] = str(seconds)
    return response
