"""Prepare ahead, fire on time, through a real `manage.py qcluster`: the 05:45 tick prepares the
06:00 slot in chunk tasks (several workers), users change in between, the 06:00 tick sends each
user still due exactly once on each device, and nobody who changed."""

import datetime

import pytest

from scheduler.models import JobRun
from scheduler.services import job_run_enqueue
from scheduler.tests.clusters import cluster_start, cluster_stop, wait_until
from soulverse.testing.fcm_stub import FcmStub
from users.models import Device, User
from verses.models import DailyVerse, Delivery

pytestmark = [pytest.mark.cluster, pytest.mark.django_db(transaction=True)]

SLOT = datetime.datetime(2026, 1, 10, 6, 0, tzinfo=datetime.UTC)  # 06:00 in Lomé
USERS = 300


def tick_in_cluster(at: datetime.datetime) -> dict:
    run, created = job_run_enqueue(job_id="deliver_verses", trigger="manual", params={"at": at.isoformat()})
    assert created
    wait_until(lambda: JobRun.objects.get(pk=run.pk).status != JobRun.Status.RUNNING, 120, f"the tick at {at}")
    run.refresh_from_db()
    assert run.status == JobRun.Status.SUCCEEDED, run.error
    return run.counts


def test_a_prepared_slot_in_a_real_cluster_sends_each_user_still_due_once(tmp_path):
    users = User.objects.bulk_create(
        [User(email=f"u{n}@example.org", mood=["sad", "", "joyful"][n % 3]) for n in range(USERS)]
    )
    devices = [Device(user=user, kind="token", identifier=f"tok{n}:APA91b") for n, user in enumerate(users)]
    devices += [Device(user=user, kind="fid", identifier=f"f{n:021d}") for n, user in enumerate(users) if n % 4 == 0]
    Device.objects.bulk_create(devices)
    log = open(tmp_path / "qcluster.log", "ab")
    with FcmStub(latency=0.01) as stub:
        cluster = cluster_start(
            log,
            TEST_FCM_BASE_URL=stub.base_url,
            TEST_FCM_CREDENTIALS_FILE=str(stub.credentials_file(tmp_path)),
            PUSH_CHUNK_SIZE="40",
            VERSES_ASSIGN_CHUNK_SIZE="70",
        )
        try:
            prepared = tick_in_cluster(SLOT - datetime.timedelta(minutes=15))
            assert (prepared["push_due"], prepared["push_prepared"], prepared["push_prepare_chunks"]) == (0, USERS, 5)
            assert stub.delivered == []
            assert Delivery.objects.filter(state="pending", attempts=0).count() == USERS
            assert DailyVerse.objects.filter(day=SLOT.date()).count() == USERS

            # Between the preparation and the slot: one moves west, one turns notifications off,
            # one loses their devices.
            moved, silent, deviceless = users[1], users[2], users[3]
            User.objects.filter(pk=moved.pk).update(timezone="America/New_York")
            User.objects.filter(pk=silent.pk).update(notifications_enabled=False)
            Device.objects.filter(user=deviceless).delete()

            counts = tick_in_cluster(SLOT)
            assert (counts["push_due"], counts["push_sent"], counts["push_failed"]) == (USERS - 3, USERS - 3, 0)
            again = tick_in_cluster(SLOT)
            assert (again["push_due"], again["push_sent"]) == (0, 0)
        finally:
            cluster_stop(cluster)
            log.close()
        received = stub.delivered_tokens()
    changed = {moved.pk, silent.pk, deviceless.pk}
    expected = {device.identifier for device in devices if device.user_id not in changed}
    assert received == {identifier: 1 for identifier in expected}
    assert set(Delivery.objects.exclude(user__in=changed).values_list("state", flat=True)) == {"sent"}
    assert set(Delivery.objects.filter(user__in=changed).values_list("state", "attempts")) == {("pending", 0)}
