"""GET /api/v1/verses/today on Redis: the token's answer and the user's throttle in one script call
(verses/today_cache.py), PostgreSQL only on a miss; every way a token ends, and every change of
the answer, is seen at the next request."""

import datetime
import time
import zoneinfo

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from knox.crypto import hash_token
from rest_framework.test import APIClient

from soulverse import throttles
from users.models import UserActivity
from users.services import api_token_create
from users.tests.factories import UserFactory
from verses import today_cache
from verses.models import VerseOfTheDay
from verses.tests.test_today_fast_path import THROUGH_DRF, TODAY, answer, three_days, token_client

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_ai")]


@pytest.fixture(autouse=True)
def _redis():
    if not hasattr(cache, "delete_pattern"):
        pytest.skip("needs REDIS_URL (the embedded default answers from PostgreSQL: test_today_fast_path)")


def kept(client) -> bytes:
    """Bring the token's answer into the cache: the first request records the day's activity, the
    second keeps the answer (both from PostgreSQL); the third is answered without a query."""
    client.get(TODAY)
    client.get(TODAY)
    with CaptureQueriesContext(connection) as queries:
        hit = client.get(TODAY)
    assert hit.status_code == 200 and len(queries) == 0
    return hit.content


def queries_of(client) -> tuple:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(TODAY)
    return response, len(queries)


def test_a_kept_answer_has_the_drf_bytes_and_costs_no_query(settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {}}
    client, key = token_client(UserFactory(timezone="Pacific/Kiritimati", language="en"))
    three_days()
    first = client.get(TODAY)  # records the day's activity
    second, second_queries = queries_of(client)
    third, third_queries = queries_of(client)
    assert (second_queries, third_queries) == (1, 0)
    assert answer(first) == answer(second) == answer(third) == answer(client.get(THROUGH_DRF))
    pttl = cache.client.get_client().pttl(today_cache.entry_key(hash_token(key)))
    assert 0 < pttl <= 1000  # VERSES_TODAY_CACHE_SECONDS: the guard


def test_the_throttle_counts_kept_answers_on_the_same_counter_as_the_drf_path(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "user": "5/minute"},
    }
    client, _ = token_client(UserFactory())
    three_days()
    kept(client)  # three requests
    assert client.get("/api/v1/users/me").status_code == 200  # the fourth, on the DRF path
    hit, hit_queries = queries_of(client)
    assert (hit.status_code, hit_queries) == (200, 0)  # the fifth, kept
    refused = client.get(TODAY)
    assert refused.status_code == 429 and refused["Retry-After"] == "12"
    assert refused.json() == {"detail": "Requête ralentie. Disponible à nouveau dans 12 secondes."}
    assert client.get("/api/v1/users/me").status_code == 429


def test_a_signed_out_device_is_refused_at_the_next_request():
    user = UserFactory()
    client, _ = token_client(user)
    other, _ = token_client(user)
    three_days()
    kept(client)
    kept(other)
    assert client.delete("/api/v1/auth/tokens/current").status_code == 204
    refused = client.get(TODAY)
    assert refused.status_code == 401 and answer(refused) == answer(client.get(THROUGH_DRF))
    assert other.get(TODAY).status_code == 200  # the other device is still signed in


def test_signing_out_every_device_refuses_them_all_at_the_next_request():
    user = UserFactory()
    clients = [token_client(user)[0] for _ in range(2)]
    three_days()
    for client in clients:
        kept(client)
    assert clients[0].delete("/api/v1/auth/tokens").status_code == 204
    assert [client.get(TODAY).status_code for client in clients] == [401, 401]


def test_a_password_change_in_the_admin_refuses_the_users_tokens_at_the_next_request(admin_client):
    user = UserFactory()
    client, _ = token_client(user)
    three_days()
    kept(client)
    changed = admin_client.post(
        f"/admin/users/user/{user.pk}/password/",
        {"password1": "another long passphrase 42", "password2": "another long passphrase 42"},
    )
    assert changed.status_code == 302
    assert client.get(TODAY).status_code == 401


def test_a_user_deactivated_or_deleted_is_refused_at_the_next_request():
    deactivated, deleted = UserFactory(), UserFactory()
    client, _ = token_client(deactivated)
    gone, _ = token_client(deleted)
    three_days()
    kept(client)
    kept(gone)
    deactivated.is_active = False
    deactivated.save()  # as the admin's change form does
    refused = client.get(TODAY)
    assert refused.status_code == 401 and answer(refused) == answer(client.get(THROUGH_DRF))
    deleted.delete()
    assert gone.get(TODAY).status_code == 401


def test_a_change_no_signal_announces_is_seen_once_the_guard_ends():
    """A raw UPDATE of `is_active` (another writer of the table) ends no entry: the entry lives at
    most VERSES_TODAY_CACHE_SECONDS, after which PostgreSQL answers."""
    user = UserFactory()
    client, key = token_client(user)
    three_days()
    kept(client)
    type(user).objects.filter(pk=user.pk).update(is_active=False)
    entry = today_cache.entry_key(hash_token(key))
    assert 0 < cache.client.get_client().pttl(entry) <= 1000
    cache.client.get_client().delete(entry)  # what its time to live does
    assert client.get(TODAY).status_code == 401


def test_an_expired_token_is_refused_once_it_expires():
    user = UserFactory()
    token, key = api_token_create(user=user, ttl=datetime.timedelta(minutes=10))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    three_days()
    kept(client)
    day = timezone.localdate().isoformat()
    before = today_cache.verse_today_cached(digest=token.digest, activity_day=day)
    after = today_cache.verse_today_cached(digest=token.digest, activity_day=day, now=token.expiry.timestamp() + 0.001)
    assert (before.state, after.state) == (today_cache.HIT, today_cache.MISS)
    with time_machine.travel(token.expiry + datetime.timedelta(milliseconds=1), tick=False):
        refused, drf = client.get(TODAY), client.get(THROUGH_DRF)
    assert refused.status_code == 401 and answer(refused) == answer(drf)


def test_a_pair_verse_edited_is_served_at_the_next_request():
    user = UserFactory()
    client, _ = token_client(user)
    three_days()
    before = kept(client)
    verse = VerseOfTheDay.objects.get(day=timezone.localdate(), mood=user.mood, language=user.language)
    verse.reflection = "Une réflexion revue par l'équipe."
    verse.save()  # the admin's change form, the editorial room
    edited = client.get(TODAY)
    assert edited.content != before and edited.json()["reflection"] == "Une réflexion revue par l'équipe."
    assert answer(edited) == answer(client.get(THROUGH_DRF))


def test_a_writer_without_signals_ends_every_kept_answer_with_invalidate():
    user = UserFactory()
    client, _ = token_client(user)
    three_days()
    kept(client)
    VerseOfTheDay.objects.filter(day=timezone.localdate()).update(reflection="Mise à jour en masse.")
    today_cache.verses_today_cache_invalidate()
    response, queries = queries_of(client)
    assert queries == 1 and response.json()["reflection"] == "Mise à jour en masse."


def test_a_new_time_zone_gives_the_verse_of_the_new_local_date_at_the_next_request():
    user = UserFactory(timezone="Pacific/Pago_Pago")  # UTC-11
    client, _ = token_client(user)
    three_days()
    kept(client)
    assert client.patch("/api/v1/users/me", {"timezone": "Pacific/Kiritimati"}, format="json").status_code == 200
    moved = client.get(TODAY)
    assert moved.json()["day"] == timezone.localdate(timezone=zoneinfo.ZoneInfo("Pacific/Kiritimati")).isoformat()
    assert answer(moved) == answer(client.get(THROUGH_DRF))


def test_the_first_request_of_a_new_day_records_the_activity():
    user = UserFactory()  # Africa/Lome: the service's time zone
    client, _ = token_client(user)
    today = timezone.localdate()
    three_days()
    kept(client)
    tomorrow = today + datetime.timedelta(days=1)
    with time_machine.travel(datetime.datetime.combine(tomorrow, datetime.time(0, 0, 1), tzinfo=datetime.UTC)):
        response = client.get(TODAY)
    assert response.status_code == 200 and response.json()["day"] == tomorrow.isoformat()
    assert set(UserActivity.objects.filter(user=user).values_list("day", flat=True)) == {today, tomorrow}


def test_redis_not_answering_the_answer_comes_from_postgresql_with_the_local_throttle(settings):
    throttles.redis_store.set("retry_later", True)  # as after a failed call to Redis
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "user": "2/minute"},
    }
    client, _ = token_client(UserFactory())
    three_days()
    codes = [queries_of(client) for _ in range(3)]
    assert [(r.status_code, min(n, 1)) for r, n in codes] == [(200, 1), (200, 1), (429, 1)]
    assert cache.keys("verses_today:*") == [] and len(throttles.local_counts) == 1


def test_with_the_cache_off_every_answer_comes_from_postgresql(settings):
    settings.VERSES_TODAY_CACHE_SECONDS = 0
    client, _ = token_client(UserFactory())
    three_days()
    client.get(TODAY)
    answers = [queries_of(client) for _ in range(3)]
    assert [(r.status_code, n) for r, n in answers] == [(200, 1)] * 3
    assert cache.keys("verses_today*") == [] and len(cache.keys("throttle_user_*")) == 1


def test_an_answer_read_before_the_verses_changed_is_not_kept():
    """The epoch is read before PostgreSQL is: an answer read, then a verse edited, is not kept."""
    user = UserFactory()
    client, key = token_client(user)
    three_days()
    kept(client)
    read_before = today_cache.epoch_seen.get("epoch")
    today_cache.verses_today_cache_invalidate()  # a verse edited while the request read PostgreSQL
    cache.client.get_client().delete(today_cache.entry_key(hash_token(key)))
    wait = today_cache.verse_today_cache_store(
        digest=hash_token(key),
        user_id=user.pk,
        body=b"{}",
        valid_until=time.time() + 60,
        activity_day=timezone.localdate().isoformat(),
        epoch=read_before,
    )
    assert wait is None  # counted and allowed, not kept
    assert not cache.client.get_client().exists(today_cache.entry_key(hash_token(key)))
    assert today_cache.epoch_seen.get("epoch") != read_before  # the next answer is kept in the new one
