"""Push to each of a user's devices (FIDs and registration tokens) against the local FCM stub:
one delivery per user and local date, one message per device, per-device verdicts."""

import datetime

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from scheduler.models import JobRun
from scheduler.services import job_run_enqueue
from scheduler.tests.clusters import qcluster_running, wait_until
from users.models import Device
from users.tests.factories import DeviceFactory, UserFactory, token_key_for
from verses.models import Delivery

AT = datetime.datetime(2026, 1, 10, 6, 0, tzinfo=datetime.UTC)  # 06:00 in Lomé
FID = "fAbCdEfGhIjKlMnOpQrStU"
TOKEN = "dQw4w9WgXcQ:APA91bHun4MxP5egoKMwt2KZFBaFUH-1RYqx"


def registered_through_the_api(email: str) -> APIClient:
    """A user whose phone registered its FID and whose tablet (an older app) its token."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_key_for(UserFactory(email=email, fcm_token=''))}")
    assert (
        client.post(
            "/api/v1/users/me/devices", {"kind": "fid", "id": FID, "platform": "android"}, format="json"
        ).status_code
        == 201
    )
    assert client.patch("/api/v1/users/me", {"fcm_token": TOKEN}, format="json").status_code == 200
    return client


def targets(stub) -> list[tuple[str, str, str]]:
    """(kind, target, day) of each message FCM accepted."""
    return sorted(
        ("fid" if "fid" in message else "token", target, message["data"]["day"]) for target, message in stub.delivered
    )


@pytest.mark.django_db
def test_a_user_with_an_fid_and_a_token_gets_both_messages_once_a_day(push_tick, fcm_stub):
    registered_through_the_api("marie@example.org")
    counts = push_tick(AT)
    assert (counts["push_due"], counts["push_sent"], counts["push_devices_sent"]) == (1, 1, 2)
    push_tick(AT + datetime.timedelta(minutes=15))  # the same local day: nothing more
    assert targets(fcm_stub) == [("fid", FID, "2026-01-10"), ("token", TOKEN, "2026-01-10")]
    delivery = Delivery.objects.get()
    assert (delivery.state, delivery.attempts) == ("sent", 1)
    assert sorted(delivery.sent_devices) == sorted(Device.objects.values_list("id", flat=True))
    assert Device.objects.filter(confirmed_at__isnull=True).count() == 0
    push_tick(AT + datetime.timedelta(days=1))  # the next local day: both again
    assert [t[2] for t in targets(fcm_stub)].count("2026-01-11") == 2


@pytest.mark.django_db
@pytest.mark.parametrize("prefix", ["unregistered", "mismatch", "invalid"])
def test_one_dead_device_is_removed_and_the_other_keeps_the_user(push_tick, fcm_stub, prefix):
    user = UserFactory(email="marie@example.org")  # a token that works
    dead = DeviceFactory(user=user, kind="token", identifier=f"{prefix}-tablet:APA91b")
    counts = push_tick(AT)
    assert (counts["push_sent"], counts["push_devices_sent"], counts["push_invalid_tokens"]) == (1, 1, 1)
    assert counts["push_fid_not_registered"] == 0
    assert list(Device.objects.filter(user=user).values_list("identifier", flat=True)) == [user.fcm_token]
    assert not Device.objects.filter(pk=dead.pk).exists()
    assert Delivery.objects.get().state == "sent"


@pytest.mark.django_db
def test_a_user_whose_every_device_is_dead_is_no_longer_active(push_tick, fcm_stub):
    user = UserFactory(fcm_token="unregistered-1")
    DeviceFactory(user=user, identifier="unregistered-fid-0000", confirmed_at=timezone.now())  # FCM knew it
    counts = push_tick(AT)
    assert (counts["push_sent"], counts["push_invalid_tokens"], counts["push_failed"]) == (0, 2, 0)
    assert Delivery.objects.get().state == "invalid_token"
    assert not Device.objects.exists()
    assert push_tick(AT + datetime.timedelta(minutes=15))["push_due"] == 0


@pytest.mark.django_db
def test_an_fid_fcm_never_routed_is_its_own_failure_counted_and_shown(push_tick, fcm_stub, viewer_client, schedules):
    """The app registered an FID but has not opted in to FID registration: FCM answers UNREGISTERED
    for it (there is no error code of its own); never accepted before, it is reported apart."""
    user = UserFactory(email="marie@example.org")  # its token keeps working
    DeviceFactory(user=user, identifier=FID)
    fcm_stub.fids_unregistered = True
    counts = push_tick(AT)
    assert (counts["push_sent"], counts["push_fid_not_registered"], counts["push_invalid_tokens"]) == (1, 1, 0)
    assert list(Device.objects.values_list("kind", flat=True)) == ["token"]
    last_tick = viewer_client.get("/api/v1/scheduler/health").json()["checks"]["push"]["last_tick"]
    assert (last_tick["push_fid_not_registered"], last_tick["push_invalid_tokens"]) == (1, 0)


@pytest.mark.django_db
def test_an_fid_fcm_accepted_before_then_unregistered_is_a_dead_device(push_tick, fcm_stub):
    user = UserFactory(fcm_token="")
    DeviceFactory(user=user, identifier=FID)
    push_tick(AT)
    assert Device.objects.get().confirmed_at is not None
    fcm_stub.fids_unregistered = True  # the app was uninstalled
    counts = push_tick(AT + datetime.timedelta(days=1))
    assert (counts["push_invalid_tokens"], counts["push_fid_not_registered"]) == (1, 0)
    assert not Device.objects.exists()


@pytest.mark.django_db
def test_a_delivery_taken_up_again_skips_the_devices_fcm_accepted(push_tick, fcm_stub):
    user = UserFactory(email="marie@example.org")
    fid = DeviceFactory(user=user, identifier=FID)
    push_tick(AT)
    # As if the tick had recorded the FID only, and a later tick took the delivery up again.
    Delivery.objects.update(state="failed", sent_devices=[fid.pk])
    fcm_stub.reset()
    counts = push_tick(AT + datetime.timedelta(minutes=15))
    # The user was counted sent by the first tick already.
    assert (counts["push_due"], counts["push_devices_sent"], counts["push_sent"]) == (1, 1, 0)
    assert [target for target, _ in fcm_stub.delivered] == [user.fcm_token]
    assert sorted(Delivery.objects.get().sent_devices) == sorted(Device.objects.values_list("id", flat=True))


@pytest.mark.django_db
def test_dry_run_counts_devices_and_removes_none(push_tick, fcm_stub):
    user = UserFactory()
    DeviceFactory(user=user, kind="token", identifier="unregistered-tablet:APA91b")
    counts = push_tick(AT, dry_run=True)
    assert (counts["push_validated"], counts["push_invalid_tokens"], counts["push_sent"]) == (1, 1, 0)
    assert Device.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_real_cluster_sends_each_device_once_a_day(fcm_stub, tmp_path):
    """Through the API and a real qcluster: an FID and a token of one user, a dead tablet of another."""
    registered_through_the_api("marie@example.org")
    john = UserFactory(email="john@example.org")
    DeviceFactory(user=john, kind="token", identifier="unregistered-tablet:APA91b")
    env = {
        "TEST_FCM_BASE_URL": fcm_stub.base_url,
        "TEST_FCM_CREDENTIALS_FILE": str(fcm_stub.credentials_file(tmp_path)),
        "GEMINI_API_KEY": "",
    }
    with qcluster_running(tmp_path, env):
        for at in (AT, AT + datetime.timedelta(minutes=15)):
            run, created = job_run_enqueue(job_id="deliver_verses", trigger="manual", params={"at": at.isoformat()})
            assert created
            wait_until(
                lambda run=run: JobRun.objects.get(pk=run.pk).status != "running", 120, "the push tick", tmp_path
            )
    assert set(JobRun.objects.values_list("status", flat=True)) == {"succeeded"}
    assert targets(fcm_stub) == [
        ("fid", FID, "2026-01-10"),
        ("token", TOKEN, "2026-01-10"),
        ("token", john.fcm_token, "2026-01-10"),
    ]
    assert sorted(Delivery.objects.values_list("user__email", "state")) == [
        ("john@example.org", "sent"),
        ("marie@example.org", "sent"),
    ]
    assert sorted(Device.objects.values_list("identifier", flat=True)) == sorted([FID, TOKEN, john.fcm_token])


@pytest.mark.django_db
def test_a_device_fcm_could_not_reach_is_tried_again_alone_by_the_next_ticks(push_tick, fcm_stub, settings):
    """The FID accepted, the tablet's token answered 503 past the tick's retries: the user is
    sent (counted once), the later ticks send to the tablet only, until PUSH_MAX_TICKS."""
    settings.FCM_RETRIES, settings.PUSH_MAX_TICKS = 0, 2
    user = UserFactory(email="marie@example.org", fcm_token="unavailable-tablet:APA91b")
    DeviceFactory(user=user, identifier=FID)
    first = push_tick(AT)
    assert (first["push_sent"], first["push_devices_sent"], first["push_failed"]) == (1, 1, 0)
    delivery = Delivery.objects.get()
    assert (delivery.state, delivery.sent_at is not None, delivery.error) == ("failed", True, "UNAVAILABLE (HTTP 503)")
    fcm_stub.reset()
    second = push_tick(AT + datetime.timedelta(minutes=15))
    assert (second["push_due"], second["push_sent"], second["push_devices_sent"], second["push_gave_up"]) == (
        1,
        0,
        0,
        0,
    )
    assert (fcm_stub.delivered, fcm_stub.errors["UNAVAILABLE"] > 0) == ([], True)  # the tablet only, again
    assert push_tick(AT + datetime.timedelta(minutes=30))["push_due"] == 0  # PUSH_MAX_TICKS
    assert Device.objects.count() == 2  # unreachable is not dead
    assert Delivery.objects.filter(sent_at__isnull=False).count() == 1
