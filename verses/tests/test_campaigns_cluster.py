"""A campaign at local 09:00 through the API and a real qcluster against the FCM stand-in: ticks of
the deliver_campaigns job across a day of time zones, each selected user sent it once on each
device, no one outside its segment, the daily verse and the campaign told apart by their labels."""

import datetime
import zoneinfo
from collections import Counter

import pytest
from rest_framework.test import APIClient

from scheduler.models import JobRun
from scheduler.permissions import OPERATORS_GROUP, scheduler_groups_ensure
from scheduler.services import job_run_enqueue
from scheduler.tests.clusters import qcluster_running, wait_until
from users.tests.factories import DeviceFactory, UserFactory, token_key_for
from verses.campaigns.models import Campaign, CampaignDelivery
from verses.tests.campaigns import CAMPAIGNS, campaign_messages

pytestmark = pytest.mark.django_db(transaction=True)

UTC = datetime.UTC
DAY = datetime.date(2027, 1, 10)
ZONES = ["Pacific/Kiritimati", "Asia/Kathmandu", "Africa/Lome", "America/St_Johns", "Pacific/Pago_Pago"]


def operator_client() -> APIClient:
    staff = UserFactory(email="staff@example.org", is_staff=True, fcm_token="")
    staff.groups.add(scheduler_groups_ensure()[OPERATORS_GROUP])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_key_for(staff)}")
    return client


def run_in_cluster(job_id: str, at: datetime.datetime, tmp_path) -> JobRun:
    run, created = job_run_enqueue(job_id=job_id, trigger="manual", params={"at": at.isoformat()})
    assert created
    wait_until(lambda: JobRun.objects.get(pk=run.pk).status != "running", 120, f"the {job_id} run", tmp_path)
    return JobRun.objects.get(pk=run.pk)


def test_a_local_nine_o_clock_campaign_in_a_real_cluster(fcm_stub, tmp_path):
    client = operator_client()
    selected = {zone: UserFactory(timezone=zone, mood="sad") for zone in ZONES}
    DeviceFactory(user=selected["Africa/Lome"], identifier="fLomePhone000000000001")
    outside = [UserFactory(timezone="Africa/Lome", mood="joyful"), UserFactory(timezone="Asia/Kathmandu", mood="")]
    response = client.post(
        CAMPAIGNS,
        {
            "title": "Semaine de prière",
            "body": "Du 10 au 17 janvier, prions ensemble.",
            "segment": {"moods": ["sad"], "languages": ["fr"]},
            "local_time": "09:00",
            "date": DAY.isoformat(),
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    campaign_id = response.json()["id"]
    nine = {zone: datetime.datetime.combine(DAY, datetime.time(9), tzinfo=zoneinfo.ZoneInfo(zone)) for zone in ZONES}
    # A tick just after 09:00 in each zone, then each once more: every user due once, then nobody.
    ticks = sorted({moment.astimezone(UTC) + datetime.timedelta(minutes=5) for moment in nine.values()})
    env = {
        "TEST_FCM_BASE_URL": fcm_stub.base_url,
        "TEST_FCM_CREDENTIALS_FILE": str(fcm_stub.credentials_file(tmp_path)),
        "GEMINI_API_KEY": "",
    }
    reached: list[set[str]] = []
    with qcluster_running(tmp_path, env):
        for at in [*ticks, *ticks]:
            before = len(fcm_stub.delivered)
            run = run_in_cluster("deliver_campaigns", at, tmp_path)
            assert run.status == "succeeded", run.error
            reached.append({target for target, _ in fcm_stub.delivered[before:]})
        daily = run_in_cluster("deliver_verses", datetime.datetime(2027, 1, 11, 6, 0, tzinfo=UTC), tmp_path)
        assert daily.status == "succeeded", daily.error
    # Tick n reached exactly the n-th zone's user (Lomé's on both devices); the repeats nobody.
    expected = [{selected[zone].fcm_token} for zone in sorted(ZONES, key=lambda z: nine[z])]
    expected[[z for z in sorted(ZONES, key=lambda z: nine[z])].index("Africa/Lome")].add("fLomePhone000000000001")
    assert reached == expected + [set()] * len(ticks)
    messages = campaign_messages(fcm_stub, campaign_id)
    assert Counter(t for t, _ in messages) == Counter(set().union(*expected))
    assert not {u.fcm_token for u in outside} & {t for t, _ in messages}
    labels = Counter(m["fcm_options"]["analytics_label"] for _, m in fcm_stub.delivered)
    # The daily verse went with its own label to the devices of the users whose 06:00 had come
    # (St John's read 02:30): 7 of the 8.
    assert labels == {f"campaign-{campaign_id}": 6, "daily-verse": 7}
    assert Campaign.objects.get().state == "sent"
    assert set(CampaignDelivery.objects.values_list("state", flat=True)) == {"sent"}
    shown = client.get(f"{CAMPAIGNS}/{campaign_id}").json()
    assert (shown["audience"], shown["sent"], shown["failed"]) == (5, 5, 0)
