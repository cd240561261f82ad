import datetime

import pytest
from rest_framework.test import APIClient

from users.models import User
from users.tests.factories import UserFactory, token_key_for

pytestmark = pytest.mark.django_db
URL = "/api/v1/users/me"
JOINED = datetime.datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=datetime.UTC)


@pytest.fixture
def user():
    return UserFactory(
        email="marie@example.org",
        mood="sad",
        language="fr",
        timezone="Africa/Lome",
        fcm_token="old-token",
        date_joined=JOINED,
    )


@pytest.fixture
def api(user):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_key_for(user)}")
    return client


def profile(user):
    user.refresh_from_db()
    return (
        user.mood,
        user.language,
        user.timezone,
        tuple(user.devices.order_by("identifier").values_list("kind", "identifier")),
        user.email,
        user.notify_at,
        user.notifications_enabled,
    )


def test_anonymous_gets_401(client):
    assert client.get(URL).status_code == 401
    assert client.patch(URL, {}, content_type="application/json").status_code == 401


def test_get_me(api, user):
    body = api.get(URL).json()
    assert body == {
        "id": str(user.pk),
        "email": "marie@example.org",
        "mood": "sad",
        "language": "fr",
        "timezone": "Africa/Lome",
        "notify_at": "06:00",
        "notifications_enabled": True,
        "date_joined": "2026-01-02T03:04:05.678901Z",
    }
    assert "fcm_token" not in body


def test_patch_me_changes_the_given_fields(api, user):
    response = api.patch(
        URL, {"mood": "joyful", "language": "en", "timezone": "Europe/Paris", "fcm_token": "new-token"}, format="json"
    )
    assert response.status_code == 200
    assert (response.json()["mood"], response.json()["language"]) == ("joyful", "en")
    assert profile(user) == (
        "joyful",
        "en",
        "Europe/Paris",
        # The old way of registering a phone adds a token device (the old one stays until FCM
        # calls it dead, or the app removes it).
        (("token", "new-token"), ("token", "old-token")),
        "marie@example.org",
        datetime.time(6, 0),
        True,
    )
    assert api.patch(URL, {"mood": ""}, format="json").status_code == 200  # no mood: default verses
    assert profile(user)[0] == ""


def test_patch_me_sets_the_push_time_and_switch(api, user):
    response = api.patch(URL, {"notify_at": "21:45", "notifications_enabled": False}, format="json")
    assert response.status_code == 200
    assert (response.json()["notify_at"], response.json()["notifications_enabled"]) == ("21:45", False)
    assert profile(user)[5:] == (datetime.time(21, 45), False)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"mood": "ecstatic"}, "mood"),
        ({"language": "de"}, "language"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"timezone": "africa/lome"}, "timezone"),
        ({"timezone": ""}, "timezone"),
        ({"timezone": None}, "timezone"),
        ({"timezone": 0}, "timezone"),
        ({"timezone": "Africa/" + "L" * 64}, "timezone"),
        ({"fcm_token": "x" * 513}, "fcm_token"),
        ({"mood": "joyful", "language": "xx"}, "language"),
        ({"email": "evil@example.org"}, "email"),
        ({"is_staff": True}, "is_staff"),
        ({"notify_at": "06:10"}, "notify_at"),
        ({"notify_at": "6h"}, "notify_at"),
        ({"notify_at": "06:00:30"}, "notify_at"),
        ({"notify_at": 600}, "notify_at"),
        ({"notify_at": None}, "notify_at"),
        ({"notify_at": "6:00"}, "notify_at"),
        ({"notify_at": "24:00"}, "notify_at"),
        ({"notifications_enabled": "yes"}, "notifications_enabled"),
        ({"notifications_enabled": 0}, "notifications_enabled"),
    ],
)
def test_patch_me_rejects_bad_values_naming_the_field_and_changes_nothing(api, user, payload, field):
    before = profile(user)
    response = api.patch(URL, payload, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert profile(user) == before
    assert not User.objects.get(pk=user.pk).is_staff


def test_patch_me_takes_any_iana_time_zone_and_refuses_an_unknown_one_in_french(api, user):
    """The schema documents a plain string (not an enum): the server is what keeps names real."""
    for name in ("GMT0", "Etc/GMT-0", "America/Argentina/Buenos_Aires", "Africa/Lome"):
        response = api.patch(URL, {"timezone": name}, format="json")
        assert (response.status_code, response.json()["timezone"]) == (200, name)
        assert User.objects.get(pk=user.pk).timezone == name
    response = api.patch(URL, {"timezone": "Mars/Olympus"}, format="json")
    assert (response.status_code, response.json()) == (400, {"timezone": ["Fuseau horaire inconnu : Mars/Olympus"]})
    assert User.objects.get(pk=user.pk).timezone == "Africa/Lome"


def test_patch_me_rejects_malformed_json(api, user):
    before = profile(user)
    response = api.patch(URL, "{mood:", content_type="application/json")
    assert response.status_code == 400
    assert profile(user) == before


def test_a_user_reaches_only_their_own_profile(api, user):
    other = UserFactory(mood="angry")
    assert api.get(URL).json()["id"] == str(user.pk)
    api.patch(URL, {"mood": "grateful"}, format="json")
    other.refresh_from_db()
    assert other.mood == "angry"
