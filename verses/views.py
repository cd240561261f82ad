"""GET /api/v1/verses/today without DRF's machinery for the request every app makes each morning."""

from django.conf import settings
from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.csrf import csrf_exempt
from knox.crypto import hash_token
from rest_framework.authentication import get_authorization_header
from rest_framework.renderers import JSONRenderer

from soulverse.api import JSON_ACCEPTS
from soulverse.hotpath import answer_expected, replayable
from soulverse.memos import Memo
from soulverse.throttles import STORE_UNAVAILABLE, user_throttle_wait
from users.services import user_activity_record
from verses.apis import VerseViewSet
from verses.selectors import daily_verse_today_by_token
from verses.today_cache import HIT, THROTTLED, kept_tokens, verse_today_cache_store, verse_today_cached

verse_today_api = VerseViewSet.as_view({"get": "today"}, detail=False, **VerseViewSet.today.kwargs)

# Digests of keys that no live token had, for API_TOKEN_INVALID_MEMO_SECONDS: the same wrong key
# again is refused without a query. Keys are random (a new token cannot have a key tried before,
# short of an operator choosing one); a revoked or expired token never becomes valid again.
invalid_keys = Memo("verses.invalid_keys")


@csrf_exempt  # as the DRF view it hands over to (which enforces CSRF for session users itself)
def verse_today(request):
    """A plain GET with an API token is answered here: the verse of the day with the bytes the DRF
    view would send, or DRF's 401 for a key no live token has (unknown, revoked, expired) or a
    deactivated user; the token is checked at every request. On Redis, a token whose answer this
    process kept a moment ago is answered by one script call that also counts the request against
    the user's throttle (verses.today_cache says what keeps an answer and what ends it); once one
    such answer went through Django, soulverse.replay makes that call for the next ones with the
    same request headers and sends the answer with this one's headers, before Django. Otherwise
    (a miss, the embedded default's cache, Redis down) one prepared PostgreSQL query answers, and
    the request is counted as on the DRF path (same rate, same counter; on Redis by the script call
    that keeps the answer). Anything else (session users, no token, a verse to make on demand, a
    throttled user, other methods, content negotiation) goes to the DRF view, VerseViewSet.today,
    which is also what the API schema documents. The query also says whether the user's activity
    of the day is recorded: the first request of the day writes it (an answer is kept for one day
    of activity only: the next day's first request is a miss)."""
    key = _token_key(request) if _plain_json_get(request) else None
    if key is None:
        return verse_today_api(request)
    digest = hash_token(key)
    if digest in invalid_keys:
        return _invalid_key_refused()
    activity_day = timezone.localdate()
    cached = request.META.get(REPLAY_ASKED)  # soulverse.replay asked Redis for this request: not a hit
    if cached is None:
        cached = verse_today_cached(digest=digest, activity_day=activity_day.isoformat())
    if cached is not STORE_UNAVAILABLE:
        if cached.state == HIT:  # the same headers for every hit: soulverse.replay keeps them
            return replayable(_json_body(cached.value, status=200), KEPT_ANSWER, body_per_request=True)
        if cached.state == THROTTLED:
            return verse_today_api(request)  # DRF's 429 (the throttle refuses it again)
    found = daily_verse_today_by_token(key=key, activity_day=activity_day)
    if found.user_id is None:
        invalid_keys.set(digest, True, ttl=settings.API_TOKEN_INVALID_MEMO_SECONDS)
        return _invalid_key_refused()
    if not found.active:
        return _refused(gettext("User inactive or deleted."))
    if found.data is None:
        return verse_today_api(request)  # made on demand
    body = JSONRenderer().render(found.data)
    wait = STORE_UNAVAILABLE
    if cached is not STORE_UNAVAILABLE:
        wait = verse_today_cache_store(
            digest=digest,
            user_id=found.user_id,
            body=body,
            valid_until=found.valid_until,
            activity_day=activity_day.isoformat() if found.activity_recorded else "",
            epoch=cached.value,
        )
    if wait is STORE_UNAVAILABLE:
        wait = user_throttle_wait(user_id=found.user_id)
    if wait is not None:
        return verse_today_api(request)  # DRF's 429 (the throttle refuses it again)
    if not found.activity_recorded:
        user_activity_record(user_id=found.user_id, day=activity_day, known_missing=True)
    return _json_body(body, status=200)


def _refused(detail: str) -> HttpResponse:
    """DRF's 401 for these credentials (knox's messages), as VerseViewSet.today would send it."""
    response = _json({"detail": detail}, status=401)
    response["WWW-Authenticate"] = "Token"
    return answer_expected(response)  # as the DRF path (soulverse.api.exception_handler)


INVALID_KEY = "invalid key"
KEPT_ANSWER = "kept answer"
# WSGI environ keys (a header's never starts so) of a request soulverse.replay handed to Django:
# the token's digest, and what verse_today_replay_body's script call said (not a hit: nothing
# counted), which the view takes instead of asking Redis again.
REPLAY_DIGEST = "soulverse.verses_today.digest"
REPLAY_ASKED = "soulverse.verses_today.cached"


def _invalid_key_refused() -> HttpResponse:
    return replayable(_refused(gettext("Invalid token.")), INVALID_KEY)


def verse_today_replay_variant(environ: dict) -> str | None:
    """soulverse.replay's variant of a request (a WSGI environ) to verses/today: INVALID_KEY for a
    plain GET with a token key that this process knows no live token has (the memo of `verse_today`,
    which expires); KEPT_ANSWER for one whose answer this process kept on Redis a moment ago
    (verses.today_cache.kept_tokens: the body function asks Redis); None for any other request (its
    key is checked in the database by the view)."""
    digest = _replay_token_digest(environ)
    if digest is None:
        return None
    if digest in invalid_keys:
        return INVALID_KEY
    return KEPT_ANSWER if digest in kept_tokens else None


def verse_today_replay_body(environ: dict) -> bytes | None:
    """soulverse.replay's body function for verses/today: the bytes of the token's kept answer, the
    request counted against the user's throttle, in the one Redis script call the view makes (a HIT);
    None otherwise (a miss, a throttled user, Redis not answering: nothing counted), and the
    request goes through Django, where the view takes that call's word (REPLAY_ASKED) instead of
    asking Redis again, and answers as it would have."""
    digest = _replay_token_digest(environ)
    if digest is None:
        return None
    cached = verse_today_cached(digest=digest, activity_day=timezone.localdate().isoformat())
    if cached is not STORE_UNAVAILABLE and cached.state == HIT:
        return cached.value
    environ[REPLAY_ASKED] = cached
    return None


def _replay_token_digest(environ: dict) -> str | None:
    """The digest of the token key of a plain JSON GET (a WSGI environ), as `verse_today` reads it
    (computed once per request: the variant function's, then the body function's)."""
    if REPLAY_DIGEST not in environ:
        environ[REPLAY_DIGEST] = _token_digest_of(environ)
    return environ[REPLAY_DIGEST]


def _token_digest_of(environ: dict) -> str | None:
    if environ.get("REQUEST_METHOD") != "GET" or environ.get("HTTP_ACCEPT", "") not in JSON_ACCEPTS:
        return None
    try:  # as _token_key (DRF's parsing)
        auth = environ.get("HTTP_AUTHORIZATION", "").encode("iso-8859-1").split()
        key = auth[1].decode() if len(auth) == 2 and auth[0].lower() == b"token" else None
    except UnicodeError:
        return None
    return None if key is None else hash_token(key)


def _json(data: dict, *, status: int) -> HttpResponse:
    return _json_body(JSONRenderer().render(data), status=status)


def _json_body(body: bytes, *, status: int) -> HttpResponse:
    response = HttpResponse(body, content_type="application/json", status=status)
    response["Allow"] = "GET, HEAD, OPTIONS"
    if len(VerseViewSet.renderer_classes) > 1:  # DRF's own rule (the browsable API when debugging)
        response["Vary"] = "Accept"
    return response


def _plain_json_get(request) -> bool:
    return request.method == "GET" and not request.GET and request.headers.get("Accept", "") in JSON_ACCEPTS


def _token_key(request) -> str | None:
    """The key of an `Authorization: Token <key>` header, parsed as DRF's TokenAuthentication does."""
    auth = get_authorization_header(request).split()
    if len(auth) != 2 or auth[0].lower() != b"token":
        return None
    try:
        return auth[1].decode()
    except UnicodeError:
        return None
