"""GET /api/v1/verses/today: the one-query path (verses/views.py) answers exactly as the DRF view,
and hands everything else over to it."""

import datetime
import zoneinfo

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from scheduler.tests.runs import daily_run
from users.tests.factories import UserFactory, token_key_for
from verses.models import DailyVerse

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_ai")]

TODAY = "/api/v1/verses/today"
THROUGH_DRF = TODAY + "?via=drf"  # a query string sends the request to the DRF view


def token_client(user) -> tuple[APIClient, str]:
    key = token_key_for(user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client, key


def three_days() -> None:
    """Every active user's verses of the three dates that are "today" somewhere on Earth now."""
    utc_today = timezone.now().date()
    for offset in (-1, 0, 1):
        daily_run(day=utc_today + datetime.timedelta(days=offset))


def answer(response) -> tuple:
    return (
        response.status_code,
        response.content,
        response["Content-Type"],
        response.get("Vary"),
        response.get("Allow"),
    )


@pytest.mark.parametrize(
    ("zone", "language"), [("Africa/Lome", "fr"), ("Pacific/Kiritimati", "en"), ("Pacific/Pago_Pago", "fr")]
)
def test_same_bytes_as_the_drf_view_for_the_users_local_date(zone, language, django_assert_num_queries, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {}}  # no throttle queries here
    user = UserFactory(timezone=zone, language=language, mood="anxious")
    client, _ = token_client(user)
    three_days()
    client.get(TODAY)  # PostgreSQL: the connection's first request also PREPAREs the statement
    with django_assert_num_queries(1):
        fast = client.get(TODAY)
    with django_assert_num_queries(3):  # knox: token+user, the user's tokens (expiry clean-up); the verse
        drf = client.get(THROUGH_DRF)
    assert answer(fast) == answer(drf)
    assert fast.status_code == 200 and fast["Content-Type"] == "application/json"
    local = timezone.now().astimezone(zoneinfo.ZoneInfo(zone)).date()
    assert fast.json()["day"] == local.isoformat()
    assert fast.json()["language"] == language
    assert DailyVerse.objects.filter(user=user).count() == 3  # read only


def test_a_revoked_token_is_refused_at_the_next_request():
    user = UserFactory()
    client, key = token_client(user)
    three_days()
    assert client.get(TODAY).status_code == 200
    call_command("api_token", "revoke", user.email, stdout=open("/dev/null", "w"))
    assert not AuthToken.objects.filter(user=user).exists()
    refused = client.get(TODAY)
    assert refused.status_code == 401
    assert answer(refused) == answer(client.get(THROUGH_DRF))


def test_a_deactivated_user_is_refused_at_the_next_request():
    user = UserFactory()
    client, _ = token_client(user)
    assert client.get(TODAY).status_code == 200
    type(user).objects.filter(pk=user.pk).update(is_active=False)  # as another writer of the table would
    refused = client.get(TODAY)
    assert refused.status_code == 401
    assert answer(refused) == answer(client.get(THROUGH_DRF))


@pytest.mark.parametrize("header", ["", "Token", "Token a b", "Bearer abc", "Token nope"])
def test_missing_or_bad_tokens_get_the_drf_401(header):
    UserFactory()
    three_days()
    client = APIClient()
    if header:
        client.credentials(HTTP_AUTHORIZATION=header)
    refused = client.get(TODAY)
    assert refused.status_code == 401
    assert answer(refused) == answer(client.get(THROUGH_DRF))


def test_a_verse_not_made_yet_is_made_on_demand_through_the_drf_view():
    user = UserFactory(mood="sad")
    client, _ = token_client(user)
    assert not DailyVerse.objects.filter(user=user).exists()
    first = client.get(TODAY)
    assert first.status_code == 200 and DailyVerse.objects.filter(user=user).count() == 1
    assert answer(client.get(TODAY)) == answer(first)  # the next one comes from the one-query path


def test_session_users_other_methods_and_other_formats_go_to_the_drf_view():
    user = UserFactory()
    three_days()
    session = APIClient()
    session.force_login(user)
    assert session.get(TODAY).status_code == 200
    client, _ = token_client(user)
    assert client.post(TODAY).status_code == 405  # DRF's answer, not a CSRF 403
    assert client.head(TODAY).status_code == 200
    assert client.get(TODAY, HTTP_ACCEPT="text/html").status_code == 406


@pytest.mark.django_db(transaction=True)  # to close the connection in the middle
@pytest.mark.parametrize("prepared", [True, False])
def test_works_with_and_without_prepared_statements_and_after_a_reconnection(prepared, settings):
    settings.DATABASE_PREPARED_STATEMENTS = prepared
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {}}  # no cache queries here
    client, _ = token_client(UserFactory())
    three_days()
    first = client.get(TODAY)
    connection.close()
    with CaptureQueriesContext(connection) as queries:
        again = client.get(TODAY)
    assert first.status_code == 200 and answer(again) == answer(first)
    statements = [query["sql"].split()[0] for query in queries.captured_queries]
    if connection.vendor == "postgresql" and prepared:
        assert statements == ["PREPARE", "EXECUTE"]  # prepared again on the new connection
    else:
        assert statements == ["SELECT"]


def test_valid_tokens_are_throttled_on_the_one_query_path_too(settings):
    """The one-query path skipped DRF's throttles: a valid token was never refused. Same rate and
    same counter as the DRF path (here users/me spends the budget too)."""
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "user": "2/minute"},
    }
    client, _ = token_client(UserFactory())
    other, _ = token_client(UserFactory())
    three_days()
    answers = [client.get(TODAY) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[2]["Retry-After"] == "30"  # 2 a minute: one more every 30 s
    assert answers[2].json() == {"detail": "Requête ralentie. Disponible à nouveau dans 30 secondes."}
    assert other.get("/api/v1/users/me").status_code == 200  # per user; both paths count against one budget
    assert [other.get(TODAY).status_code for _ in range(2)] == [200, 429]


def test_a_wrong_token_costs_one_query_then_none_and_gets_the_drf_401(django_assert_num_queries):
    UserFactory()
    three_days()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 64)
    with django_assert_num_queries(1):
        first = client.get(TODAY)
    with django_assert_num_queries(0):  # remembered by this process for API_TOKEN_INVALID_MEMO_SECONDS
        second = client.get(TODAY)
    assert answer(first) == answer(second) == answer(client.get(THROUGH_DRF))
    assert first.status_code == 401 and first["WWW-Authenticate"] == "Token"
