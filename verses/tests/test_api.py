import datetime

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from scheduler.tests.runs import daily_run
from users.tests.factories import UserFactory, token_key_for
from verses.models import DailyVerse

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_ai")]


def client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_key_for(user)}")
    return client


def test_anonymous_gets_401(client):
    assert client.get("/api/v1/verses/today").status_code == 401
    assert client.get("/api/v1/verses/history").status_code == 401


def test_today_returns_the_morning_verse(django_assert_max_num_queries):
    user = UserFactory(mood="grateful", language="en")
    daily_run()
    verse = DailyVerse.objects.select_related("verse").get(user=user).verse
    response = client_for(user).get("/api/v1/verses/today")
    assert response.status_code == 200
    body = response.json()
    assert body == {
        "day": timezone.localdate().isoformat(),
        "reference": verse.reference,
        "text": verse.text,
        "reflection": verse.reflection,
        "mood": "grateful",
        "language": "en",
        "source": "fallback",
        "created_at": body["created_at"],
    }


def test_today_makes_the_verse_on_demand_once():
    user = UserFactory(mood="sad", language="fr")
    api = client_for(user)
    first = api.get("/api/v1/verses/today").json()
    assert DailyVerse.objects.filter(user=user).count() == 1
    assert api.get("/api/v1/verses/today").json() == first
    assert DailyVerse.objects.filter(user=user).count() == 1
    assert first["language"] == "fr" and first["mood"] == "sad"


def test_today_uses_the_users_local_date():
    user = UserFactory(timezone="Pacific/Kiritimati")  # UTC+14
    body = client_for(user).get("/api/v1/verses/today").json()
    local = timezone.now().astimezone(__import__("zoneinfo").ZoneInfo("Pacific/Kiritimati")).date()
    assert body["day"] == local.isoformat()


def test_history_is_paginated_newest_first_and_only_the_users_own():
    user = UserFactory(mood="hopeful")
    other = UserFactory(mood="hopeful")
    start = datetime.date(2026, 1, 1)
    for offset in range(25):
        daily_run(day=start + datetime.timedelta(days=offset))
    api = client_for(user)
    page = api.get("/api/v1/verses/history").json()
    assert page["count"] == 25
    assert len(page["results"]) == 20
    assert [item["day"] for item in page["results"][:2]] == ["2026-01-25", "2026-01-24"]
    second = api.get(page["next"]).json()
    assert [item["day"] for item in second["results"]] == [f"2026-01-0{d}" for d in range(5, 0, -1)]
    assert DailyVerse.objects.filter(user=other).count() == 25
    assert api.get("/api/v1/verses/history?page=99").status_code == 404
