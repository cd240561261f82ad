"""Project-level views that belong to no app."""

from django.http import HttpResponse
from django.utils import translation
from django.views.decorators.http import require_safe
from drf_spectacular.views import SpectacularAPIView
from rest_framework.response import Response


@require_safe
def livez(request):
    """Liveness: the process answers. No database, cache or authentication, on purpose (a
    database outage must not get healthy web containers restarted; readiness with the
    dependencies is /api/v1/scheduler/health). Also the "trivial Django view" baseline of
    bench/http_load.py."""
    return HttpResponse("ok", content_type="text/plain; charset=utf-8")


class SchemaView(SpectacularAPIView):
    """The OpenAPI schema, for users with the scheduler's view permission (SERVE_PERMISSIONS),
    generated once per process (about 70 KB: generating it at every request let a few
    anonymous clients starve the server)."""

    _generated: dict = {}

    def _get_schema_response(self, request):
        version = self.api_version or request.version or self._get_version_parameter(request)
        key = (version, translation.get_language())
        if key not in self._generated:
            generator = self.generator_class(urlconf=self.urlconf, api_version=version, patterns=self.patterns)
            self._generated[key] = generator.get_schema(request=request, public=self.serve_public)
        return Response(data=self._generated[key],
                        headers={"Content-Disposition": f'inline; filename="{self._get_filename(request, version)}"'})
