"""verses/today's kept answers through the project's WSGI application: once one went through
Django, the next requests with the same headers are answered before Django by soulverse.replay,
with the kept answer's headers and each token's own bytes from the one Redis script call (which
counts the user's throttle). Whatever ends a kept answer still ends it at the next request."""

import pytest
from django.core.cache import cache

from soulverse.tests.test_replay import SECURITY_HEADERS, call
from users.tests.factories import UserFactory, token_key_for
from verses.tests.test_today_fast_path import TODAY, three_days

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_ai")]


@pytest.fixture(autouse=True)
def _redis():
    if not hasattr(cache, "delete_pattern"):
        pytest.skip("needs REDIS_URL (the embedded default keeps no answer: test_today_fast_path)")


@pytest.fixture
def unthrottled(settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {}}


def through_drf(application, key: str) -> bytes:
    """The DRF view's answer (a query string sends the request there)."""
    status, _, body = call(application, TODAY, query="via=drf", HTTP_AUTHORIZATION=f"Token {key}")
    assert status == "200 OK"
    return body


def test_a_kept_answer_is_replayed_with_each_tokens_own_bytes_and_every_header(wsgi_app, unthrottled):
    application, entered = wsgi_app
    keys = [token_key_for(UserFactory(language="fr")), token_key_for(UserFactory(language="en"))]
    three_days()
    answers = {key: [call(application, TODAY, HTTP_AUTHORIZATION=f"Token {key}") for _ in range(5)] for key in keys}
    # The first key: its activity recorded, its answer kept, then a hit through Django (its headers
    # kept), then replayed. The second key, with the same headers: the hit is replayed at once.
    assert entered == [TODAY] * 3 + [TODAY] * 2
    for key in keys:
        first, *others = answers[key]
        assert all(other == first for other in others)
        assert first[0] == "200 OK" and first[2] == through_drf(application, key)
        assert first[1]["Content-Length"] == str(len(first[2]))
        assert SECURITY_HEADERS.items() <= first[1].items()
    assert answers[keys[0]][0][2] != answers[keys[1]][0][2]
    assert {name for name in answers[keys[0]][0][1]} == {name for name in answers[keys[1]][0][1]}


def test_replayed_answers_count_against_the_users_throttle(wsgi_app, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "user": "5/minute"},
    }
    application, entered = wsgi_app
    key = token_key_for(UserFactory())
    three_days()
    statuses = [call(application, TODAY, HTTP_AUTHORIZATION=f"Token {key}")[0] for _ in range(6)]
    assert statuses == ["200 OK"] * 5 + ["429 Too Many Requests"]
    assert entered == [TODAY] * 4  # the fourth and fifth replayed; the sixth refused by DRF's view


def test_a_signed_out_token_is_refused_at_the_next_request(wsgi_app, unthrottled):
    application, entered = wsgi_app
    key = token_key_for(UserFactory())
    three_days()
    for _ in range(4):
        assert call(application, TODAY, HTTP_AUTHORIZATION=f"Token {key}")[0] == "200 OK"
    assert entered == [TODAY] * 3
    signed_out = call(application, "/api/v1/auth/tokens/current", method="DELETE", HTTP_AUTHORIZATION=f"Token {key}")
    assert signed_out[0] == "204 No Content"
    refused = call(application, TODAY, HTTP_AUTHORIZATION=f"Token {key}")
    assert refused[0] == "401 Unauthorized" and refused[1]["WWW-Authenticate"] == "Token"
    assert entered[-1] == TODAY and len(entered) == 5  # the kept answer was gone: through Django


def test_a_deactivated_user_is_refused_at_the_next_request(wsgi_app, unthrottled):
    application, entered = wsgi_app
    user = UserFactory()
    key = token_key_for(user)
    three_days()
    for _ in range(4):
        assert call(application, TODAY, HTTP_AUTHORIZATION=f"Token {key}")[0] == "200 OK"
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert call(application, TODAY, HTTP_AUTHORIZATION=f"Token {key}")[0] == "401 Unauthorized"


def test_other_headers_make_another_request_that_goes_through_django_first(wsgi_app, unthrottled):
    application, entered = wsgi_app
    key = token_key_for(UserFactory())
    three_days()
    for _ in range(4):
        call(application, TODAY, HTTP_AUTHORIZATION=f"Token {key}")
    assert entered == [TODAY] * 3
    https = call(application, TODAY, scheme="https", HTTP_AUTHORIZATION=f"Token {key}")
    evil = call(application, TODAY, HTTP_HOST="evil.example", HTTP_AUTHORIZATION=f"Token {key}")
    assert https[0] == "200 OK" and evil[0] == "400 Bad Request"
    assert entered == [TODAY] * 5
