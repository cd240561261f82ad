"""GET /api/v1/verses/today without DRF's machinery for the request every app makes each morning."""

from django.http import HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from rest_framework.authentication import get_authorization_header
from rest_framework.renderers import JSONRenderer

from users.services import user_activity_record
from verses.apis import VerseViewSet
from verses.selectors import daily_verse_today_by_token

verse_today_api = VerseViewSet.as_view({"get": "today"})
_JSON_ACCEPTS = {"", "*/*", "application/json"}


@csrf_exempt  # as the DRF view it hands over to (which enforces CSRF for session users itself)
def verse_today(request):
    """A plain GET with a valid API token whose verse of the day exists is answered here, from one
    prepared query, with the bytes the DRF view would send (the token is checked at every request:
    a revoked token or a deactivated user is refused at once). Anything else (session users, bad or
    missing tokens, a verse to make on demand, other methods, content negotiation) goes to the DRF
    view, VerseViewSet.today, which is also what the API schema documents. The same query says
    whether the user's activity of the day is recorded: the first request of the day writes it."""
    key = _token_key(request) if _plain_json_get(request) else None
    activity_day = timezone.localdate()
    found = daily_verse_today_by_token(key=key, activity_day=activity_day) if key else None
    if found is None:
        return verse_today_api(request)
    if not found.activity_recorded:
        user_activity_record(user_id=found.user_id, day=activity_day, known_missing=True)
    response = HttpResponse(JSONRenderer().render(found.data), content_type="application/json")
    response["Allow"] = "GET, HEAD, OPTIONS"
    if len(VerseViewSet.renderer_classes) > 1:  # DRF's own rule (the browsable API when debugging)
        response["Vary"] = "Accept"
    return response


def _plain_json_get(request) -> bool:
    return request.method == "GET" and not request.GET and request.headers.get("Accept", "") in _JSON_ACCEPTS


def _token_key(request) -> str | None:
    """The key of an `Authorization: Token <key>` header, parsed as DRF's TokenAuthentication does."""
    auth = get_authorization_header(request).split()
    if len(auth) != 2 or auth[0].lower() != b"token":
        return None
    try:
        return auth[1].decode()
    except UnicodeError:
        return None
