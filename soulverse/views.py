"""Project-level views that belong to no app."""

from django.http import HttpResponse
from django.views.decorators.http import require_safe


@require_safe
def livez(request):
    """Liveness: the process answers. No database, cache or authentication, on purpose (a
    database outage must not get healthy web containers restarted; readiness with the
    dependencies is /api/v1/scheduler/health). Also the "trivial Django view" baseline of
    bench/http_load.py."""
    return HttpResponse("ok", content_type="text/plain; charset=utf-8")
