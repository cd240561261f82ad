"""Push faults on purpose (`make faults`; about 6 minutes): a qcluster killed with SIGKILL
mid-send then restarted, FCM answering 503 for a minute, PostgreSQL stopped for 20 s mid-send.
Each ends with every due user sent their verse exactly once on each of their devices (a token
each, an FID too for a third of them), except messages in flight at the instant of a kill
(counted and printed)."""

import datetime
import random
import time
from collections import Counter

import pytest
from django.db.models import Count

from scheduler.models import JobRun
from scheduler.services import job_run_enqueue
from scheduler.tests.clusters import cluster_kill, cluster_start, cluster_stop, wait_until
from scheduler.tests.outages import outage
from soulverse.testing.fcm_stub import FcmStub
from users.models import Device, User
from verses.models import Delivery

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

AT = datetime.datetime(2026, 1, 10, 6, 0, tzinfo=datetime.UTC)  # 06:00 in Lomé


@pytest.fixture
def stub(tmp_path):
    with FcmStub(latency=0.05) as stub:
        stub.credentials = str(stub.credentials_file(tmp_path))
        yield stub


def users_create(count: int) -> set[str]:
    """`count` users with a token device each, and an FID too for every third: their identifiers."""
    users = User.objects.bulk_create([User(email=f"u{n}@example.org", mood=["sad", ""][n % 2]) for n in range(count)])
    devices = [Device(user=user, kind="token", identifier=f"tok{n}:APA91b") for n, user in enumerate(users)]
    devices += [Device(user=user, kind="fid", identifier=f"f{n:021d}") for n, user in enumerate(users) if n % 3 == 0]
    Device.objects.bulk_create(devices, batch_size=5000)
    return {device.identifier for device in devices}


def push_cluster(stub, log, **overrides):
    return cluster_start(log, TEST_FCM_BASE_URL=stub.base_url, TEST_FCM_CREDENTIALS_FILE=stub.credentials, **overrides)


def tick(at: datetime.datetime) -> JobRun:
    run, created = job_run_enqueue(job_id="deliver_verses", trigger="manual", params={"at": at.isoformat()})
    assert created
    return run


def runs_done() -> bool:
    return not JobRun.objects.filter(status="running").exists()


def assert_each_user_recorded_sent_once(users: int, model=Delivery) -> None:
    """One delivery (`model`: Delivery, or CampaignDelivery) per user, sent to each of their devices."""
    per_user = model.objects.values("user").annotate(n=Count("pk"))
    assert len(per_user) == users and {row["n"] for row in per_user} == {1}
    assert set(model.objects.values_list("state", flat=True)) == {"sent"}
    # Each delivery records every device of its user as accepted.
    devices = {user: set() for user in User.objects.values_list("pk", flat=True)}
    for user, device in Device.objects.values_list("user", "pk"):
        devices[user].add(device)
    assert {user: set(sent) for user, sent in model.objects.values_list("user", "sent_devices")} == devices


def pushes_in_flight(stub: FcmStub, model=Delivery) -> tuple[set[str], set[str], set[str]]:
    """Right after a kill: the targets FCM had accepted, those of the deliveries (`model`) the
    killed chunks had claimed, and their intersection: in flight (per device), handed to FCM by a
    chunk killed before it recorded FCM's answer."""
    accepted = set(stub.delivered_tokens())
    sending = model.objects.filter(state="sending").values("user")
    claimed = set(Device.objects.filter(user__in=sending).values_list("identifier", flat=True))
    return accepted, claimed, accepted & claimed


def assert_only_in_flight_sent_twice(stub: FcmStub, targets: set[str], at_kill: tuple, *, trial: str) -> None:
    """After the recovery: every target received, each once, but the pushes in flight at the kill
    (`at_kill`: pushes_in_flight's), which may have gone twice."""
    accepted, claimed, in_flight = at_kill
    received = stub.delivered_tokens()
    duplicates = sum(n - 1 for n in received.values())
    print(
        f"{trial}killed after {len(accepted)} of {len(targets)} pushes; {len(claimed)} claimed by the killed "
        f"chunks, {len(in_flight)} of them accepted by FCM (in flight); {duplicates} sent twice"
    )
    assert claimed, "the kill met no chunk between its claim and its record: nothing was tested"
    assert set(received) == targets, "a user was not sent their push"
    assert set(received.values()) <= {1, 2}
    assert {target for target, n in received.items() if n > 1} <= in_flight, "a push not in flight was sent again"


@pytest.mark.parametrize("trial", range(2))
def test_sigkill_mid_send_then_restart_sends_each_user_once_but_what_was_in_flight(stub, tmp_path, trial):
    tokens = users_create(2000)
    log = open(tmp_path / "qcluster.log", "ab")
    # A task timeout that a loaded machine's chunk never reaches: the watchdog (heartbeats) recovers.
    overrides = {"PUSH_CHUNK_SIZE": "250", "Q_TIMEOUT": "60", "Q_RETRY": "70"}
    stub.latency = 0.3  # a chunk spends a while between its claim and its record: the kill meets one there
    cluster = push_cluster(stub, log, **overrides)
    try:
        tick(AT)
        target = random.Random(trial).randrange(300, 1300)
        wait_until(
            lambda: len(stub.delivered) >= target and Delivery.objects.filter(state="sending").exists(),
            120,
            f"{target} pushes and a chunk mid-send",
        )
    finally:
        cluster_kill(cluster)
    time.sleep(1)  # requests already on the wire still reach FCM
    at_kill = pushes_in_flight(stub)

    cluster = push_cluster(stub, log, **overrides)
    try:
        wait_until(
            lambda: runs_done() and Delivery.objects.filter(state="sent").count() == 2000,
            180,
            "the tick to recover",
        )
    finally:
        cluster_stop(cluster)
        log.close()
    assert_only_in_flight_sent_twice(stub, tokens, at_kill, trial=f"trial {trial}: ")
    assert_each_user_recorded_sent_once(2000)
    assert JobRun.objects.get().status == "succeeded"


def test_fcm_503_for_a_minute_late_pushes_go_with_the_next_tick_once(stub, tmp_path):
    tokens = users_create(1000)
    log = open(tmp_path / "qcluster.log", "ab")
    # Chunks that wait out firebase-admin's own retries and ours: a longer task timeout.
    cluster = push_cluster(
        stub, log, PUSH_CHUNK_SIZE="250", FCM_RETRIES="1", FCM_RETRY_BUDGET_SECONDS="5", Q_TIMEOUT="120", Q_RETRY="130"
    )
    started = time.monotonic()
    stub.outage(status=503, seconds=60, retry_after=1)
    try:
        first = tick(AT)
        wait_until(runs_done, 240, "the first tick")
        wait_until(lambda: time.monotonic() - started > 60, 70, "the end of the outage")
        second = tick(AT + datetime.timedelta(minutes=15))
        wait_until(runs_done, 120, "the next tick")
    finally:
        cluster_stop(cluster)
        log.close()
    first.refresh_from_db()
    second.refresh_from_db()
    print(
        f"first tick: {first.counts['push_sent']} sent, {first.counts['push_failed']} failed, "
        f"{first.counts['push_retried']} retried, FCM errors {dict(stub.errors)}; "
        f"next tick: {second.counts['push_sent']} sent"
    )
    assert stub.errors["UNAVAILABLE"] > 0
    assert first.counts["push_failed"] > 0, "the outage ended before any chunk gave up: nothing was tested"
    assert first.counts["push_sent"] + second.counts["push_sent"] == 1000
    assert second.counts["push_sent"] == first.counts["push_failed"]  # what failed went with the next tick
    assert stub.delivered_tokens() == Counter(dict.fromkeys(tokens, 1))
    assert_each_user_recorded_sent_once(1000)


def test_postgres_down_mid_send_the_chunks_record_what_they_sent_and_send_nothing_twice(local_postgres, stub, tmp_path):  # noqa: F811
    tokens = users_create(6000)
    stub.latency = 0.5  # every chunk spends half a second in its send: the outage meets chunks mid-send
    log = open(tmp_path / "qcluster.log", "ab")
    cluster = push_cluster(stub, log, PUSH_CHUNK_SIZE="500", Q_TIMEOUT="200", Q_RETRY="210")
    try:
        tick(AT)
        wait_until(lambda: len(stub.delivered) > 0, 60, "the first pushes")
        at_outage = len(stub.delivered)
        outage()
        wait_until(lambda: runs_done(), 240, "the tick to complete")
    finally:
        cluster_stop(cluster)
        log.close()
    logged = (tmp_path / "qcluster.log").read_text(errors="replace")
    print(
        f"{at_outage} of {len(tokens)} pushes accepted when PostgreSQL stopped; "
        f"{logged.count('event=chunk_db_retry')} chunk retries, {logged.count('event=push_record_retry')} "
        f"verdict-recording retries logged"
    )
    assert at_outage < len(tokens), "the tick had finished before the outage: nothing was tested"
    # Chunks met the outage at their claim (retried whole: nothing sent yet) or at their record
    # (only the record retried: what they had sent is not sent again).
    assert "event=chunk_db_retry" in logged or "event=push_record_retry" in logged
    assert stub.delivered_tokens() == Counter(dict.fromkeys(tokens, 1))
    assert_each_user_recorded_sent_once(6000)
    assert JobRun.objects.get().status == "succeeded"
