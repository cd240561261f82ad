"""A campaign's send survives a worker killed on purpose (`make faults`): a qcluster killed with
SIGKILL mid-send, then restarted, ends with each user of the campaign sent it once on each of
their devices, except messages in flight at the instant of the kill (counted and printed), as the
daily push does (verses/tests/test_push_faults.py)."""

import datetime
import time

import pytest

from scheduler.models import JobRun
from scheduler.services import job_run_enqueue
from scheduler.tests.clusters import cluster_kill, cluster_start, cluster_stop, wait_until
from soulverse.testing.fcm_stub import FcmStub
from verses.campaigns.models import Campaign, CampaignDelivery
from verses.campaigns.services import campaign_create
from verses.tests.test_push_faults import (
    assert_each_user_recorded_sent_once,
    assert_only_in_flight_sent_twice,
    pushes_in_flight,
    users_create,
)

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

SEND_AT = datetime.datetime(2027, 1, 10, 10, 0, tzinfo=datetime.UTC)


@pytest.fixture
def stub(tmp_path):
    with FcmStub(latency=0.05) as stub:
        stub.credentials = str(stub.credentials_file(tmp_path))
        yield stub


def test_sigkill_mid_campaign_send_then_restart_sends_each_user_once_but_what_was_in_flight(stub, tmp_path):
    targets = users_create(2000)
    campaign = campaign_create(title="Annonce", body="Une annonce pour tous.", segment={}, send_at=SEND_AT)
    log = open(tmp_path / "qcluster.log", "ab")
    overrides = {"PUSH_CHUNK_SIZE": "250", "Q_TIMEOUT": "60", "Q_RETRY": "70"}
    env = {"TEST_FCM_BASE_URL": stub.base_url, "TEST_FCM_CREDENTIALS_FILE": stub.credentials, **overrides}
    stub.latency = 0.3  # a chunk spends a while between its claim and its record: the kill meets one there
    cluster = cluster_start(log, **env)
    try:
        run, created = job_run_enqueue(
            job_id="deliver_campaigns",
            trigger="manual",
            params={"at": (SEND_AT + datetime.timedelta(minutes=5)).isoformat()},
        )
        assert created
        wait_until(
            lambda: len(stub.delivered) >= 700 and CampaignDelivery.objects.filter(state="sending").exists(),
            120,
            "700 pushes and a chunk mid-send",
        )
    finally:
        cluster_kill(cluster)
    time.sleep(1)  # requests already on the wire still reach FCM
    at_kill = pushes_in_flight(stub, model=CampaignDelivery)

    cluster = cluster_start(log, **env)
    try:
        wait_until(
            lambda: (
                not JobRun.objects.filter(status="running").exists()
                and CampaignDelivery.objects.filter(state="sent").count() == 2000
            ),
            180,
            "the campaign to recover",
        )
    finally:
        cluster_stop(cluster)
        log.close()
    assert_only_in_flight_sent_twice(stub, targets, at_kill, trial="")
    assert_each_user_recorded_sent_once(2000, model=CampaignDelivery)
    assert {m["fcm_options"]["analytics_label"] for _, m in stub.delivered} == {campaign.label}
    assert JobRun.objects.get().status == "succeeded"
    assert Campaign.objects.get().state == "sent"
