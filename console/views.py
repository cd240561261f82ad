"""GET /api/v1/scheduler/health for anonymous callers (load balancers, probes, anyone) without
DRF's machinery: the public answer costs about what /livez does."""

from django.http import HttpResponse
from django.utils.cache import patch_vary_headers
from django.views.decorators.csrf import csrf_exempt
from rest_framework.renderers import JSONRenderer

from console.apis import SchedulerViewSet
from console.selectors import health_public, health_public_memoised
from soulverse.api import JSON_ACCEPTS, request_anonymous
from soulverse.hotpath import answer_expected, replayable

# As the router builds it: with the action's own permission (AllowAny) and throttles (none).
health_api = SchedulerViewSet.as_view({"get": "health"}, detail=False, **SchedulerViewSet.health.kwargs)


@csrf_exempt  # as the DRF view it hands over to
def health(request):
    """An anonymous plain GET/HEAD gets the memoised public answer (console.selectors.health_public:
    no I/O between two computations) with the bytes the DRF view would send; anything else
    (credentials, which may see the details; other methods; content negotiation) goes to the DRF
    view, SchedulerViewSet.health, which the API schema documents."""
    if (
        request.method not in ("GET", "HEAD")
        or request.GET
        or not request_anonymous(request)
        or request.headers.get("Accept", "") not in JSON_ACCEPTS
    ):
        return health_api(request)
    healthy, state = health_public()
    response = HttpResponse(
        JSONRenderer().render({"status": state}), content_type="application/json", status=200 if healthy else 503
    )
    response["Allow"] = "GET, HEAD, OPTIONS"
    if len(SchedulerViewSet.renderer_classes) > 1:  # DRF's own rule (the browsable API when debugging)
        response["Vary"] = "Accept"
    patch_vary_headers(response, ["Cookie"])  # a session of a user with the view permission sees the details
    # A 503 here is an answer, not a server error (see the DRF view).
    return replayable(answer_expected(response), state)


def health_replay_variant(environ: dict) -> str | None:
    """soulverse.replay's variant of a request (a WSGI environ) that `health` answers itself: the
    public state while its memo holds; None for any other request, and when the state must be
    checked again (the view does it, inside Django's request handling)."""
    if (
        environ.get("REQUEST_METHOD") not in ("GET", "HEAD")
        or "HTTP_AUTHORIZATION" in environ
        or environ.get("HTTP_ACCEPT", "") not in JSON_ACCEPTS
    ):
        return None
    return health_public_memoised()
