"""Issue 21, finding 4: a password change, by any path, ends the account's API tokens (before, every
token kept working for up to 90 days). Other accounts' tokens, and a profile change, are untouched."""

import io

import pytest
from django.core.management import call_command
from knox.models import AuthToken
from rest_framework.test import APIClient

from users.models import User
from users.tests.factories import UserFactory, token_key_for

pytestmark = pytest.mark.django_db
NEW_PASSWORD = "Un-nouveau-mot-de-passe-99"


def api(key: str) -> int:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client.get("/api/v1/users/me").status_code


@pytest.fixture
def marie_keys():
    marie = UserFactory(email="marie@example.org")
    return marie, [token_key_for(marie) for _ in range(3)]


@pytest.fixture
def other_key():
    return token_key_for(UserFactory(email="other@example.org"))


def test_the_admin_password_form_ends_every_token(admin_client, marie_keys, other_key):
    marie, keys = marie_keys
    assert [api(key) for key in keys] == [200, 200, 200]
    response = admin_client.post(
        f"/admin/users/user/{marie.pk}/password/",
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
    )
    assert response.status_code == 302, response.content.decode()[:500]
    marie.refresh_from_db()
    assert marie.check_password(NEW_PASSWORD)
    assert [api(key) for key in keys] == [401, 401, 401]
    assert AuthToken.objects.filter(user=marie).count() == 0
    assert api(other_key) == 200


def test_changepassword_command_ends_every_token(marie_keys, other_key, monkeypatch):
    marie, keys = marie_keys
    monkeypatch.setattr("getpass.getpass", lambda prompt="": NEW_PASSWORD)
    call_command("changepassword", "marie@example.org", stdout=io.StringIO())
    assert [api(key) for key in keys] == [401, 401, 401]
    assert api(other_key) == 200


def test_set_password_in_code_ends_every_token(marie_keys, other_key):
    marie, keys = marie_keys
    user = User.objects.get(pk=marie.pk)
    user.set_password(NEW_PASSWORD)
    user.save()
    assert [api(key) for key in keys] == [401, 401, 401]
    assert api(other_key) == 200


def test_a_profile_change_keeps_the_tokens(admin_client, marie_keys):
    marie, keys = marie_keys
    user = User.objects.get(pk=marie.pk)
    user.mood = "joyeux"
    user.save()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {keys[0]}")
    assert client.patch("/api/v1/users/me", {"notify_at": "07:00"}, format="json").status_code == 200
    assert [api(key) for key in keys] == [200, 200, 200]
