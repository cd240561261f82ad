"""The user's devices through the API: register (idempotent), list, remove, the old PATCH."""

import logging

import pytest
from rest_framework.test import APIClient

from users.models import Device, User
from users.selectors import users_active
from users.tests.factories import DeviceFactory, UserFactory, token_key_for

pytestmark = pytest.mark.django_db
URL = "/api/v1/users/me/devices"
FID = "fAbCdEfGhIjKlMnOpQrStU"
FID2 = "cZyXwVuTsRqPoNmLkJiHgF"
TOKEN = "dQw4w9WgXcQ:APA91bHun4MxP5egoKMwt2KZFBaFUH-1RYqx"


@pytest.fixture
def user():
    return UserFactory(email="marie@example.org", fcm_token="")


@pytest.fixture
def api(user):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_key_for(user)}")
    return client


def devices(user) -> list[tuple]:
    return sorted(Device.objects.filter(user=user).values_list("kind", "identifier", "platform", "app_version"))


def test_a_user_registers_an_fid_and_a_token_and_becomes_active(api, user):
    assert list(users_active()) == []
    response = api.post(URL, {"kind": "fid", "id": FID, "platform": "android", "app_version": "2.4.0"}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert {k: body[k] for k in ("kind", "id", "platform", "app_version")} == {
        "kind": "fid",
        "id": FID,
        "platform": "android",
        "app_version": "2.4.0",
    }
    assert body["created_at"].endswith("+00:00") and body["last_seen_at"].endswith("+00:00")
    assert api.post(URL, {"kind": "token", "id": TOKEN, "platform": "ios"}, format="json").status_code == 201
    assert devices(user) == [("fid", FID, "android", "2.4.0"), ("token", TOKEN, "ios", "")]
    assert list(users_active()) == [user]
    listed = api.get(URL).json()
    assert sorted((d["kind"], d["id"]) for d in listed) == [("fid", FID), ("token", TOKEN)]


def test_registering_again_is_idempotent_and_refreshes_the_device(api, user):
    first = api.post(URL, {"kind": "fid", "id": FID, "platform": "android", "app_version": "2.4.0"}, format="json")
    again = api.post(URL, {"kind": "fid", "id": FID, "platform": "android", "app_version": "2.5.0"}, format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert devices(user) == [("fid", FID, "android", "2.5.0")]
    assert again.json()["created_at"] == first.json()["created_at"]
    assert again.json()["last_seen_at"] >= first.json()["last_seen_at"]


def test_an_fid_that_replaces_a_token_leaves_one_device(api, user):
    api.post(URL, {"kind": "token", "id": TOKEN, "platform": "android"}, format="json")
    response = api.post(URL, {"kind": "fid", "id": FID, "platform": "android", "replaces": TOKEN}, format="json")
    assert response.status_code == 201
    assert devices(user) == [("fid", FID, "android", "")]


def test_replaces_never_removes_another_users_device(api, user):
    other = DeviceFactory(kind="token", identifier=TOKEN)
    api.post(URL, {"kind": "fid", "id": FID, "platform": "android", "replaces": TOKEN}, format="json")
    assert Device.objects.filter(identifier=TOKEN, user=other.user).exists()


def test_a_phone_that_signs_in_to_another_account_moves_to_it(api, user):
    other = DeviceFactory(identifier=FID)
    assert api.post(URL, {"kind": "fid", "id": FID, "platform": "android"}, format="json").status_code == 200
    assert devices(user) == [("fid", FID, "android", "2.4.0")]
    assert devices(other.user) == []


def test_at_most_devices_per_user_the_least_recently_seen_dropped(api, user, settings):
    settings.DEVICES_PER_USER = 2
    for n in range(3):
        api.post(URL, {"kind": "token", "id": f"tok-{n}:APA91b", "platform": "web"}, format="json")
    assert [identifier for _, identifier, _, _ in devices(user)] == ["tok-1:APA91b", "tok-2:APA91b"]


def test_delete_removes_that_device_only(api, user):
    api.post(URL, {"kind": "fid", "id": FID, "platform": "android"}, format="json")
    api.post(URL, {"kind": "token", "id": TOKEN, "platform": "ios"}, format="json")
    assert api.delete(f"{URL}/{TOKEN}").status_code == 204
    assert devices(user) == [("fid", FID, "android", "")]
    response = api.delete(f"{URL}/{TOKEN}")
    assert (response.status_code, response.json()) == (404, {"detail": "Appareil introuvable."})


def test_delete_never_reaches_another_users_device(api, user):
    other = DeviceFactory(identifier=FID2)
    assert api.delete(f"{URL}/{FID2}").status_code == 404
    assert Device.objects.filter(pk=other.pk).exists()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"kind": "apns", "id": FID, "platform": "android"}, "kind"),
        ({"kind": "fid", "id": "not-an-fid", "platform": "android"}, "id"),
        ({"kind": "fid", "id": TOKEN, "platform": "android"}, "id"),  # a token sent as an FID
        ({"kind": "token", "id": "a b", "platform": "android"}, "id"),
        ({"kind": "token", "id": "", "platform": "android"}, "id"),
        ({"kind": "token", "id": "x" * 513, "platform": "android"}, "id"),
        ({"kind": "token", "id": 12345, "platform": "android"}, "id"),
        ({"kind": "fid", "id": FID, "platform": "windows"}, "platform"),
        ({"kind": "fid", "id": FID}, "platform"),
        ({"kind": "fid", "id": FID, "platform": "android", "app_version": "x" * 33}, "app_version"),
        ({"kind": "fid", "id": FID, "platform": "android", "replaces": 1}, "replaces"),
        ({"kind": "fid", "id": FID, "platform": "android", "user": "someone"}, "user"),
    ],
)
def test_bad_input_is_refused_naming_the_field_and_changes_nothing(api, user, payload, field):
    response = api.post(URL, payload, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert Device.objects.count() == 0


def test_anonymous_gets_401(client):
    assert client.get(URL).status_code == 401
    assert client.post(URL, {}, content_type="application/json").status_code == 401
    assert client.delete(f"{URL}/{FID}").status_code == 401


def test_patch_me_fcm_token_still_registers_a_token_device_and_empty_clears_tokens_only(api, user):
    assert api.patch("/api/v1/users/me", {"fcm_token": TOKEN}, format="json").status_code == 200
    assert devices(user) == [("token", TOKEN, "", "")]
    api.post(URL, {"kind": "fid", "id": FID, "platform": "android"}, format="json")
    body = api.patch("/api/v1/users/me", {"fcm_token": ""}, format="json").json()
    assert "fcm_token" not in body  # write-only, as before: GET shows no token
    assert devices(user) == [("fid", FID, "android", "")]


def test_identifiers_are_never_logged_whole(api, user, caplog):
    with caplog.at_level(logging.DEBUG):
        api.post(URL, {"kind": "token", "id": TOKEN, "platform": "android"}, format="json")
        api.post(URL, {"kind": "fid", "id": FID, "platform": "android", "replaces": TOKEN}, format="json")
        api.delete(f"{URL}/{FID}")
    assert "event=device_registered" in caplog.text and "event=device_removed" in caplog.text
    assert TOKEN not in caplog.text and FID not in caplog.text


def test_users_count_counts_users_with_a_device_as_active(staff_client):
    UserFactory(mood="sad")  # a token device
    DeviceFactory(user=UserFactory(mood="sad", fcm_token=""))  # an FID
    DeviceFactory(user=UserFactory(mood="joyful", is_active=False, fcm_token=""))  # inactive
    UserFactory(mood="joyful", fcm_token="")  # no device
    body = staff_client.get("/api/v1/scheduler/users-count").json()
    assert (body["active_users"], body["total_users"]) == (2, User.objects.count())
    assert (body["by_mood"]["sad"], body["by_mood"]["joyful"]) == (2, 0)


def test_the_admin_shows_a_users_devices_shortened(admin_client):
    device = DeviceFactory(identifier=FID)
    page = admin_client.get(f"/admin/users/user/{device.user.pk}/change/").content.decode()
    assert "fAbCdEfG…" in page and FID not in page
