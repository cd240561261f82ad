import os

# Test runs need no configuration: a throwaway secret key, and no HTTPS redirect for the
# test client. Real values from the environment win.
os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-secret-key-not-for-production-use-0123456789")
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "false")


import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _isolated_cache():
    """Each test starts with an empty cache (only this project's keys on a shared Redis)."""
    from django.core.cache import cache

    if hasattr(cache, "delete_pattern"):
        cache.delete_pattern("*")
    else:
        cache.clear()
    yield


@pytest.fixture
def staff_user(db):
    from users.tests.factories import UserFactory

    return UserFactory(email="staff@example.org", is_staff=True, fcm_token="")


@pytest.fixture
def staff_client(staff_user):
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=staff_user).key}")
    return client


@pytest.fixture
def member_client(db):
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    from users.tests.factories import UserFactory

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=UserFactory()).key}")
    return client


@pytest.fixture
def schedules(db):
    from scheduler.services import schedules_setup

    schedules_setup()
