"""Bodies Schemathesis showed DRF taking too loosely (or answering with a 500), refused with a 400."""

import pytest
from django_q.models import Schedule
from rest_framework.test import APIClient

from scheduler.models import JobRun
from users.models import Device, User
from users.tests.factories import UserFactory, token_key_for

pytestmark = pytest.mark.django_db

ME = "/api/v1/users/me"
TRIGGER = "/api/v1/scheduler/trigger-daily-verses"


@pytest.fixture
def user():
    return UserFactory(email="marie@example.org", mood="sad", timezone="Africa/Lome", fcm_token="token-1")


@pytest.fixture
def api(user):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_key_for(user)}")
    return client


def profile(user) -> tuple:
    devices = tuple(Device.objects.filter(user=user).values_list("identifier", flat=True))
    return (*User.objects.filter(pk=user.pk).values_list("mood", "language", "timezone").get(), devices)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ('{"mood": "\\ud800"}', "detail"),  # a lone surrogate: DRF echoed it in an unencodable message (500)
        ('{"timezone": "\\udfff"}', "detail"),
        ('{"\\ud800": 1}', "detail"),
        ('{"fcm_token": 12345}', "fcm_token"),  # a number is not a string
        ('{"fcm_token": "a\\u0000b"}', "fcm_token"),
        ('{"timezone": 1}', "timezone"),
    ],
)
def test_patch_me_refuses_what_the_schema_refuses_and_changes_nothing(api, user, body, field):
    before = profile(user)
    response = api.patch(ME, body, content_type="application/json")
    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert profile(user) == before


def test_an_unknown_time_zone_is_named_in_french(api, user):
    """`timezone` is a choice (the schema lists the zones); the model validator's message stays."""
    response = api.patch(ME, {"timezone": "Mars/Olympus"}, format="json")
    assert (response.status_code, response.json()) == (400, {"timezone": ["Fuseau horaire inconnu : Mars/Olympus"]})


def test_patch_me_takes_json_only(api, user):
    before = profile(user)
    response = api.patch(ME, {"mood": "joyful"}, format="multipart")
    assert response.status_code == 415
    assert profile(user) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ('{"wait": true}', "wait"),  # was taken as 1 second
        ('{"wait": "5"}', "wait"),
        ('{"wait": "\\ud800"}', "detail"),
    ],
)
def test_trigger_refuses_what_the_schema_refuses_and_starts_nothing(staff_client, schedules, body, field):
    response = staff_client.post(TRIGGER, body, content_type="application/json")
    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert JobRun.objects.count() == 0


def test_trigger_takes_json_only(staff_client, schedules):
    response = staff_client.post(TRIGGER, {"wait": 0}, format="multipart")
    assert response.status_code == 415
    assert JobRun.objects.count() == 0


def test_start_and_stop_take_an_empty_body(staff_client, schedules):
    assert staff_client.post("/api/v1/scheduler/stop").status_code == 200
    assert set(Schedule.objects.values_list("repeats", flat=True)) == {0}
    assert staff_client.post("/api/v1/scheduler/start").status_code == 200
