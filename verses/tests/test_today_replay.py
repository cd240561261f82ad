"""verses/today's kept answers through the project's WSGI application: once one went through
Django, the next requests with the same headers are answered before Django by soulverse.replay,
with the kept answer's headers and each token's own bytes from the one Redis script call (which
counts the user's throttle). Whatever ends a kept answer still ends it at the next request."""

import json
import zoneinfo

import pytest
from django.core.cache import cache
from django.core.wsgi import get_wsgi_application
from django.utils import timezone

from soulverse import throttles
from soulverse.tests.test_replay import SECURITY_HEADERS, call
from soulverse.wsgi import _answers_replayed
from users.tests.factories import UserFactory, token_key_for
from verses import today_cache
from verses.tests.test_today_fast_path import TODAY, three_days

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_ai")]


@pytest.fixture(autouse=True)
def _redis():
    if not hasattr(cache, "delete_pattern"):
        pytest.skip("needs REDIS_URL (the embedded default keeps no answer: test_today_fast_path)")


@pytest.fixture
def unthrottled(settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {}}


@pytest.fixture
def five_a_minute(settings):
    """Each user's throttle at 5 requests a minute."""
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "user": "5/minute"},
    }


def through_drf(application, key: str) -> bytes:
    """The DRF view's answer (a query string sends the request there)."""
    status, _, body = call(application, TODAY, query="via=drf", HTTP_AUTHORIZATION=f"Token {key}")
    assert status == "200 OK"
    return body


def replayed_token(application, user=None) -> str:
    """The key of a new token of `user` whose answer the replay now answers: its first three
    requests went through Django (activity recorded, answer kept, headers kept), the fourth not."""
    key = token_key_for(user or UserFactory())
    three_days()
    for _ in range(4):
        assert call(application, TODAY, HTTP_AUTHORIZATION=f"Token {key}")[0] == "200 OK"
    return key


def test_a_kept_answer_is_replayed_with_each_tokens_own_bytes_and_every_header(wsgi_app, unthrottled):
    application, entered = wsgi_app
    keys = [token_key_for(UserFactory(language="fr")), token_key_for(UserFactory(language="en"))]
    three_days()
    answers = {key: [call(application, TODAY, HTTP_AUTHORIZATION=f"Token {key}") for _ in range(5)] for key in keys}
    # The first key: its activity recorded, its answer kept, then a hit through Django (whose
    # headers the replay keeps), then two replayed. The second key, with the same request headers:
    # two requests through Django, then its hits are replayed at once.
    assert len(entered) == 3 + 2
    for key in keys:
        first, *others = answers[key]
        assert all(other == first for other in others)
        assert first[0] == "200 OK" and first[2] == through_drf(wsgi_app[0], key)
        assert first[1]["Content-Length"] == str(len(first[2]))
        assert SECURITY_HEADERS.items() <= first[1].items()
    replayed = [answers[key][-1] for key in keys]
    assert replayed[0][2] != replayed[1][2]
    assert {**replayed[0][1], "Content-Length": ""} == {**replayed[1][1], "Content-Length": ""}


def test_replayed_answers_count_against_the_users_throttle(wsgi_app, five_a_minute):
    application, entered = wsgi_app
    key = token_key_for(UserFactory())
    three_days()
    statuses = [call(application, TODAY, HTTP_AUTHORIZATION=f"Token {key}")[0] for _ in range(6)]
    assert statuses == ["200 OK"] * 5 + ["429 Too Many Requests"]
    assert entered == [TODAY] * 4  # the fourth and fifth replayed; the sixth refused by DRF's view


def test_a_signed_out_token_is_refused_at_the_next_request(wsgi_app, unthrottled):
    application, entered = wsgi_app
    key = replayed_token(application)
    assert entered == [TODAY] * 3
    signed_out = call(application, "/api/v1/auth/tokens/current", method="DELETE", HTTP_AUTHORIZATION=f"Token {key}")
    assert signed_out[0] == "204 No Content"
    refused = call(application, TODAY, HTTP_AUTHORIZATION=f"Token {key}")
    assert refused[0] == "401 Unauthorized" and refused[1]["WWW-Authenticate"] == "Token"
    assert entered[-1] == TODAY and len(entered) == 5  # the kept answer was gone: through Django


def test_a_deactivated_user_is_refused_at_the_next_request(wsgi_app, unthrottled):
    application, entered = wsgi_app
    user = UserFactory()
    key = replayed_token(application, user)
    user.is_active = False
    user.save(update_fields=["is_active"])
    status, _, body = call(application, TODAY, HTTP_AUTHORIZATION=f"Token {key}")
    assert (status, json.loads(body)) == ("401 Unauthorized", {"detail": "Utilisateur inactif ou supprimé."})
    assert len(entered) == 4


def test_a_miss_in_the_replay_asks_redis_once_then_postgresql(wsgi_app, unthrottled, monkeypatch):
    """After a change of time zone the kept answer is gone: the replay's script call finds nothing,
    and the view takes its word instead of asking Redis again (then one call keeps the new answer)."""
    application, entered = wsgi_app
    user = UserFactory(timezone="Pacific/Pago_Pago")
    key = replayed_token(application, user)
    user.timezone = "Pacific/Kiritimati"
    user.save(update_fields=["timezone"])
    scripts = []
    store_script_run = today_cache.store_script_run

    def counted(source, **kwargs):
        scripts.append("hit" if source == today_cache.TODAY_HIT_LUA else "store")
        return store_script_run(source, **kwargs)

    monkeypatch.setattr(today_cache, "store_script_run", counted)
    status, _, body = call(application, TODAY, HTTP_AUTHORIZATION=f"Token {key}")
    assert (
        status == "200 OK"
        and json.loads(body)["day"] == timezone.localdate(timezone=zoneinfo.ZoneInfo("Pacific/Kiritimati")).isoformat()
    )
    assert scripts == ["hit", "store"] and len(entered) == 4


def test_redis_not_answering_a_replayed_token_is_answered_from_postgresql(wsgi_app, five_a_minute):
    application, entered = wsgi_app
    key = replayed_token(application)
    throttles.redis_store.set("retry_later", True)  # as after a failed call to Redis
    statuses = [call(application, TODAY, HTTP_AUTHORIZATION=f"Token {key}")[0] for _ in range(6)]
    assert statuses == ["200 OK"] * 5 + ["429 Too Many Requests"]  # the local throttle's own count
    assert len(entered) == 3 + 6 and len(throttles.local_counts) == 1


@pytest.mark.parametrize(
    "headers",
    [
        {"method": "HEAD"},
        {"HTTP_COOKIE": "sessionid=x"},
        {"HTTP_ACCEPT": "text/html"},
        {"query": "format=json"},
    ],
)
def test_other_requests_of_a_kept_token_go_through_django(wsgi_app, unthrottled, headers):
    application, entered = wsgi_app
    key = replayed_token(application)
    for _ in range(2):
        call(application, TODAY, HTTP_AUTHORIZATION=f"Token {key}", **headers)
    assert len(entered) == 3 + 2


def user_header(get_response):
    """A middleware that adds a header of the user's own to every answer."""

    def middleware(request):
        response = get_response(request)
        response["X-User-Key"] = request.headers.get("Authorization", "")[-8:]
        return response

    return middleware


def test_an_answer_with_a_header_not_shared_by_every_user_is_never_replayed(
    settings, unthrottled, wsgi_connections_kept
):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "verses.tests.test_today_replay.user_header"]
    application = _answers_replayed(get_wsgi_application())
    keys = [token_key_for(UserFactory()) for _ in range(2)]
    three_days()
    answers = {key: [call(application, TODAY, HTTP_AUTHORIZATION=f"Token {key}") for _ in range(4)] for key in keys}
    for key in keys:
        assert {(answer[0], answer[1]["X-User-Key"]) for answer in answers[key]} == {("200 OK", key[-8:])}
    assert len(application.answers) == 0


def test_other_headers_make_another_request_that_goes_through_django_first(wsgi_app, unthrottled):
    application, entered = wsgi_app
    key = replayed_token(application)
    assert entered == [TODAY] * 3
    https = call(application, TODAY, scheme="https", HTTP_AUTHORIZATION=f"Token {key}")
    evil = call(application, TODAY, HTTP_HOST="evil.example", HTTP_AUTHORIZATION=f"Token {key}")
    assert https[0] == "200 OK" and evil[0] == "400 Bad Request"
    assert entered == [TODAY] * 5
