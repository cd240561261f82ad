"""Project-level views that belong to no app."""

from django.conf import settings
from django.http import HttpResponse
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe
from drf_spectacular.views import SpectacularAPIView
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from soulverse.api import request_anonymous
from soulverse.hotpath import answer_expected, replayable
from soulverse.memos import Memo


@require_safe
def livez(request):
    """Liveness: the process answers. No database, cache or authentication, on purpose (a
    database outage must not get healthy web containers restarted; readiness with the
    dependencies is /api/v1/scheduler/health). Also the "trivial Django view" baseline of
    bench/http_load.py."""
    return HttpResponse("ok", content_type="text/plain; charset=utf-8")


class SchemaView(SpectacularAPIView):
    """The OpenAPI schema, for users with the scheduler's view permission (SERVE_PERMISSIONS),
    generated once per process and language (about 70 KB: generating it at every request let a few
    anonymous clients starve the server). The API has one version: a `version` parameter is a 400,
    and `lang` must be one of LANGUAGES, so that no caller can make the process keep more schemas."""

    generated = Memo("schema.generated")  # language -> the schema

    def get(self, request, *args, **kwargs):
        if "version" in request.GET:
            raise ValidationError({"version": ["Paramètre non pris en charge : l'API n'a qu'une version."]})
        languages = dict(settings.LANGUAGES)
        if "lang" in request.GET and request.GET["lang"] not in languages:
            raise ValidationError({"lang": [f"Langue inconnue : choisissez parmi {', '.join(languages)}."]})
        return super().get(request, *args, **kwargs)

    def _get_schema_response(self, request):
        language = translation.get_language()
        generated = self.generated.get(language)
        if generated is None:
            generator = self.generator_class(urlconf=self.urlconf, api_version=None, patterns=self.patterns)
            generated = generator.get_schema(request=request, public=self.serve_public)
            self.generated.set(language, generated)
        return Response(
            data=generated,
            headers={"Content-Disposition": f'inline; filename="{self._get_filename(request, None)}"'},
        )


schema_api = SchemaView.as_view()
# The schema view's refusal of a caller without credentials, per Accept header (it negotiates YAML
# or JSON): (status, body, headers).
anonymous_refusals = Memo("schema.refusals")
_REFUSAL_HEADERS = ("Content-Type", "WWW-Authenticate", "Vary", "Allow")


@csrf_exempt  # as the DRF view it hands over to
def schema(request):
    """The API schema (SchemaView). A caller without credentials (no Authorization header, no session
    cookie) gets the view's own 401, replayed from the first one this process made for the same
    Accept header, before any authentication or schema work: anonymous clients hammering it cost
    about what /livez does."""
    anonymous = request_anonymous(request) and request.method in ("GET", "HEAD") and not request.GET
    accept = request.headers.get("Accept", "")
    refusal = anonymous_refusals.get(accept) if anonymous else None
    if refusal is None:
        response = schema_api(request)
        if anonymous and response.status_code == 401:
            response.render()
            anonymous_refusals.set(
                accept,
                (
                    response.status_code,
                    response.content,
                    {name: response[name] for name in _REFUSAL_HEADERS if name in response},
                ),
            )
            replayable(response, SCHEMA_ANONYMOUS)
        return response
    status, body, headers = refusal
    response = HttpResponse(body, status=status)
    for name, value in headers.items():
        response[name] = value
    patch_vary_headers(response, ["Cookie"])  # as SessionAuthentication's look at the session made it
    return replayable(answer_expected(response), SCHEMA_ANONYMOUS)


SCHEMA_ANONYMOUS = "anonymous"


def schema_replay_variant(environ: dict) -> str | None:
    """soulverse.replay's variant of a request (a WSGI environ) to the schema: SCHEMA_ANONYMOUS for a
    GET/HEAD without credentials (refused), None for any other request."""
    if environ.get("REQUEST_METHOD") not in ("GET", "HEAD") or "HTTP_AUTHORIZATION" in environ:
        return None
    return SCHEMA_ANONYMOUS
