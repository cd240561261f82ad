"""Campaigns (announcements) through the API and the campaigns tick against the local FCM stub:
validation, preview, a local-time campaign across time zones sent exactly once per user and
device, send_at, cancel, the test send, opens, analytics labels and the campaign.sent event."""

import datetime
import json
import zoneinfo
from collections import Counter

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from users.models import Device, UserActivity
from users.tests.factories import DeviceFactory, UserFactory, token_key_for
from verses.campaigns.models import Campaign, CampaignDelivery
from verses.tests.campaigns import CAMPAIGNS, campaign_messages, campaign_tick
from webhooks.models import WebhookEndpoint, WebhookMessage

pytestmark = pytest.mark.django_db

UTC = datetime.UTC
STEP = datetime.timedelta(minutes=15)
DAY = datetime.date(2027, 1, 10)  # to come (a campaign's moment may not be long past)
# The delivery tests' zones (verses/tests/test_push_timezones.py): both sides of the date line,
# half- and quarter-hour offsets.
ZONES = [
    "Africa/Lome",
    "Africa/Kinshasa",
    "Europe/Paris",
    "America/Toronto",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Pacific/Kiritimati",
    "Pacific/Pago_Pago",
    "America/St_Johns",
    "Australia/Lord_Howe",
]
NINE = datetime.time(9, 0)


def create(client, **body):
    return client.post(CAMPAIGNS, {"title": "Semaine de prière", "body": "Rejoignez-nous.", **body}, format="json")


def local_nine(zone: str) -> datetime.datetime:
    return datetime.datetime.combine(DAY, NINE, tzinfo=zoneinfo.ZoneInfo(zone))


# --- Input ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"title": ""}, "title", "Ce champ ne peut être vide."),
        ({}, "send_at", "Requis : « send_at » ou « local_time » et « date »."),
        ({"local_time": "09:00"}, "date", "Requis avec « local_time »."),
        ({"date": "2027-01-10"}, "local_time", "Requis avec « date »."),
        (
            {"send_at": "2027-01-10T09:00:00Z", "local_time": "09:00", "date": "2027-01-10"},
            "send_at",
            "Donnez soit « send_at », soit « local_time » et « date », pas les deux.",
        ),
        ({"local_time": "09:00", "date": "2026-01-01"}, "date", "Cette date est passée partout."),
        ({"send_at": "2020-01-10T09:00:00Z"}, "send_at", "Cet instant est passé depuis plus d'une heure."),
        ({"local_time": "9h", "date": "2027-01-10"}, "local_time", None),
    ],
)
def test_bad_input_is_a_400_naming_the_field_in_french_and_stores_nothing(staff_client, body, field, message):
    response = create(staff_client, **body)
    assert response.status_code == 400
    assert list(response.json()) == [field]
    if message:
        assert response.json()[field] == [message]
    assert Campaign.objects.count() == 0


@pytest.mark.parametrize(
    ("segment", "key", "message"),
    [
        ({"languages": ["de"]}, "languages", ["«\xa0de\xa0» n'est pas un choix valide."]),
        ({"timezones": ["Mars/Olympus"]}, "timezones", ["Fuseau horaire inconnu : Mars/Olympus"]),
        ({"moods": ["bored"]}, "moods", ["«\xa0bored\xa0» n'est pas un choix valide."]),
        ({"active_within_days": 0}, "active_within_days", None),
        ({"language": ["fr"]}, "language", None),  # misspelt: refused, not "everyone"
    ],
)
def test_a_bad_segment_names_its_filter_and_stores_nothing(staff_client, segment, key, message):
    response = create(staff_client, segment=segment, send_at="2027-01-10T09:00:00Z")
    assert response.status_code == 400
    assert list(response.json()) == [f"segment.{key}"]
    if message:
        assert response.json()[f"segment.{key}"] == message
    assert Campaign.objects.count() == 0


def test_viewers_may_list_but_not_create_and_app_users_neither(viewer_client, staff_client):
    assert viewer_client.get(CAMPAIGNS).status_code == 200
    assert create(viewer_client, send_at="2027-01-10T09:00:00Z").status_code == 403
    app = APIClient()
    app.credentials(HTTP_AUTHORIZATION=f"Token {token_key_for(UserFactory())}")
    assert create(app, send_at="2027-01-10T09:00:00Z").status_code == 403
    assert Campaign.objects.count() == 0


def test_preview_counts_the_audience_and_stores_nothing(staff_client):
    recent = UserFactory(language="fr", mood="sad", timezone="Europe/Paris")
    today = timezone.localdate()
    UserActivity.objects.create(user=recent, day=today - datetime.timedelta(days=6))
    old = UserFactory(language="fr", mood="sad", timezone="Europe/Paris")
    UserActivity.objects.create(user=old, day=today - datetime.timedelta(days=7))
    UserFactory(language="fr", mood="", timezone="Europe/Paris")
    UserFactory(language="en", mood="sad", timezone="Europe/Paris")
    UserFactory(language="fr", mood="sad", timezone="Africa/Lome")
    UserFactory(language="fr", mood="sad", timezone="Europe/Paris", notifications_enabled=False)
    UserFactory(language="fr", mood="sad", timezone="Europe/Paris", fcm_token="")  # no device: not active

    def preview(**segment):
        response = create(staff_client, segment=segment, send_at="2027-01-10T09:00:00Z", dry_run=True)
        assert response.status_code == 200
        return response.json()["audience"]

    assert preview() == 5
    assert preview(languages=["fr"]) == 4
    assert preview(languages=["fr"], timezones=["Europe/Paris"]) == 3
    assert preview(languages=["fr"], timezones=["Europe/Paris"], moods=["sad"]) == 2
    assert preview(languages=["fr"], timezones=["Europe/Paris"], moods=[""]) == 1
    # The last 7 days, today included: 6 days ago is in, 7 days ago out.
    assert preview(moods=["sad"], timezones=["Europe/Paris"], active_within_days=7) == 1
    assert preview(active_within_days=8) == 2
    assert Campaign.objects.count() == 0 and CampaignDelivery.objects.count() == 0


# --- Sending ----------------------------------------------------------------------------------


def test_a_local_nine_o_clock_campaign_reaches_each_selected_user_once_on_each_device(
    staff_client, fcm_stub, push_tick
):
    selected = {
        zone: UserFactory(email=f"{zone.lower().replace('/', '-')}@example.org", timezone=zone) for zone in ZONES
    }
    fid = DeviceFactory(user=selected["Europe/Paris"], identifier="fPhoneOfParis0000000001")
    outside = [
        UserFactory(language="en", timezone="Africa/Lome"),
        UserFactory(timezone="Asia/Kolkata", notifications_enabled=False),
        UserFactory(timezone="America/Toronto", fcm_token=""),
    ]
    response = create(staff_client, segment={"languages": ["fr"]}, local_time="09:00", date=DAY.isoformat())
    assert response.status_code == 201, response.json()
    campaign = response.json()
    assert (campaign["state"], campaign["audience"], campaign["label"]) == (
        "scheduled",
        10,
        f"campaign-{campaign['id']}",
    )

    # Ticks every quarter hour from before 09:00 in the first zone (Kiritimati, UTC+14) to after
    # it in the last (Pago Pago, UTC-11).
    ticks = [datetime.datetime(2027, 1, 9, 18, 0, tzinfo=UTC) + STEP * i for i in range(27 * 4)]
    first_message: dict[str, int] = {}
    for index, at in enumerate(ticks):
        before = len(fcm_stub.delivered)
        campaign_tick(at)
        for target, _ in fcm_stub.delivered[before:]:
            first_message.setdefault(target, index)
    messages = campaign_messages(fcm_stub, campaign["id"])
    assert len(messages) == len(fcm_stub.delivered)  # nothing else was sent
    expected = Counter([user.fcm_token for user in selected.values()] + [fid.identifier])
    assert Counter(target for target, _ in messages) == expected  # each device once, no one outside
    for zone, user in selected.items():
        # At the first tick at or after 09:00 on the user's own clock.
        due = min(i for i, at in enumerate(ticks) if at >= local_nine(zone))
        assert first_message[user.fcm_token] == due, zone
    assert first_message[fid.identifier] == first_message[selected["Europe/Paris"].fcm_token]
    message = messages[0][1]
    assert message["notification"] == {"title": "Semaine de prière", "body": "Rejoignez-nous."}
    assert message["data"] == {"campaign_id": str(campaign["id"])}
    assert message["fcm_options"] == {"analytics_label": f"campaign-{campaign['id']}"}
    assert message["android"]["collapse_key"] == f"campaign-{campaign['id']}"
    assert not {u.fcm_token for u in outside} & set(fcm_stub.delivered_tokens())

    done = staff_client.get(f"{CAMPAIGNS}/{campaign['id']}").json()
    assert (done["state"], done["audience"], done["sent"], done["failed"], done["opened"]) == ("sent", 10, 10, 0, 0)
    assert set(CampaignDelivery.objects.values_list("state", "attempts")) == {("sent", 1)}
    # The daily verse carries its own label.
    push_tick(datetime.datetime(2027, 1, 11, 6, 0, tzinfo=UTC))
    daily = [m for _, m in fcm_stub.delivered if "verse_id" in m["data"]]
    assert daily and {m["fcm_options"]["analytics_label"] for m in daily} == {"daily-verse"}


def test_a_send_at_campaign_goes_at_the_first_tick_after_its_instant_then_is_sent(staff_client, fcm_stub):
    WebhookEndpoint.objects.create(url="https://hooks.example.org/x", events=["campaign.sent"], secret="whsec_x")
    users = [UserFactory(timezone=zone) for zone in ("Africa/Lome", "Pacific/Kiritimati", "Pacific/Pago_Pago")]
    send_at = datetime.datetime(2027, 1, 10, 10, 5, tzinfo=UTC)
    campaign = create(staff_client, send_at=send_at.isoformat()).json()
    assert campaign_tick(send_at - datetime.timedelta(minutes=5))["push_due"] == 0
    assert Campaign.objects.get().state == "scheduled" and fcm_stub.delivered == []
    counts = campaign_tick(send_at + datetime.timedelta(minutes=10))
    assert (counts["campaigns_started"], counts["push_due"], counts["push_sent"], counts["campaigns_sent"]) == (
        1,
        3,
        3,
        0,
    )
    assert sorted(t for t, _ in fcm_stub.delivered) == sorted(u.fcm_token for u in users)
    assert Campaign.objects.get().state == "sent"  # closed after the run (its on_success)
    assert campaign_tick(send_at + datetime.timedelta(minutes=25))["push_due"] == 0
    assert len(fcm_stub.delivered) == 3
    events = [json.loads(m.body) for m in WebhookMessage.objects.filter(event="campaign.sent")]
    assert len(events) == 1
    assert {k: events[0]["data"]["campaign"][k] for k in ("id", "audience", "sent", "failed", "opened")} == {
        "id": campaign["id"],
        "audience": 3,
        "sent": 3,
        "failed": 0,
        "opened": 0,
    }


def test_dead_devices_are_removed_and_unreachable_ones_retried_then_counted_failed(staff_client, fcm_stub, settings):
    settings.FCM_RETRIES, settings.PUSH_MAX_TICKS = 0, 2
    marie = UserFactory(email="marie@example.org")
    dead = DeviceFactory(user=marie, kind="token", identifier="unregistered-tablet:APA91b")
    john = UserFactory(email="john@example.org", fcm_token="unavailable-phone:APA91b")
    at = datetime.datetime(2027, 1, 10, 10, 0, tzinfo=UTC)
    campaign = create(staff_client, send_at=at.isoformat()).json()
    first = campaign_tick(at)
    assert (first["push_sent"], first["push_invalid_tokens"], first["push_failed"]) == (1, 1, 1)
    assert not Device.objects.filter(pk=dead.pk).exists()
    assert Campaign.objects.get().state == "sending"  # john is left for the next tick
    second = campaign_tick(at + STEP)
    assert (second["push_due"], second["push_sent"], second["push_gave_up"]) == (1, 0, 1)
    shown = staff_client.get(f"{CAMPAIGNS}/{campaign['id']}").json()
    assert (shown["state"], shown["audience"], shown["sent"], shown["failed"]) == ("sent", 2, 1, 1)
    assert Device.objects.filter(user=john).count() == 1  # unreachable is not dead
    assert [t for t, _ in fcm_stub.delivered] == [marie.fcm_token]


def test_a_dry_run_tick_validates_and_records_nothing(staff_client, fcm_stub):
    UserFactory()
    at = datetime.datetime(2027, 1, 10, 10, 0, tzinfo=UTC)
    create(staff_client, send_at=at.isoformat())
    counts = campaign_tick(at, dry_run=True)
    assert counts["campaigns_started"] == 0 and counts["push_due"] == 0
    assert Campaign.objects.get().state == "scheduled" and CampaignDelivery.objects.count() == 0


# --- Cancel, test send, opened ------------------------------------------------------------------


def test_cancel_until_sent(staff_client, fcm_stub):
    UserFactory(timezone="Pacific/Kiritimati")
    UserFactory(timezone="Pacific/Pago_Pago")
    scheduled = create(staff_client, send_at="2027-01-10T10:00:00Z").json()
    cancelled = staff_client.post(f"{CAMPAIGNS}/{scheduled['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    again = staff_client.post(f"{CAMPAIGNS}/{scheduled['id']}/cancel")
    assert again.status_code == 409
    assert again.json() == {"detail": "La campagne est déjà annulée : elle ne peut plus être annulée."}
    campaign_tick(datetime.datetime(2027, 1, 10, 10, 0, tzinfo=UTC))
    assert fcm_stub.delivered == [] and CampaignDelivery.objects.count() == 0

    # A local-time campaign being sent (Kiritimati reached 09:00, Pago Pago not yet): cancelled,
    # the rest is not sent.
    local = create(staff_client, local_time="09:00", date=DAY.isoformat()).json()
    campaign_tick(datetime.datetime(2027, 1, 9, 19, 0, tzinfo=UTC))
    assert len(fcm_stub.delivered) == 1 and Campaign.objects.get(pk=local["id"]).state == "sending"
    assert staff_client.post(f"{CAMPAIGNS}/{local['id']}/cancel").json()["state"] == "cancelled"
    campaign_tick(datetime.datetime(2027, 1, 10, 20, 0, tzinfo=UTC))
    assert len(fcm_stub.delivered) == 1

    sent = create(staff_client, send_at="2027-01-10T10:00:00Z").json()
    campaign_tick(datetime.datetime(2027, 1, 10, 10, 15, tzinfo=UTC))
    refused = staff_client.post(f"{CAMPAIGNS}/{sent['id']}/cancel")
    assert refused.status_code == 409
    assert refused.json()["detail"] == "La campagne est déjà envoyée : elle ne peut plus être annulée."
    assert Campaign.objects.get(pk=sent["id"]).state == "sent"
    assert staff_client.post(f"{CAMPAIGNS}/999999/cancel").status_code == 404


def test_a_test_send_reaches_one_account_s_devices_and_is_not_counted(staff_client, fcm_stub):
    marie = UserFactory(email="marie@example.org", is_staff=True)
    DeviceFactory(user=marie, identifier="fMariePhone00000000001")
    UserFactory(email="other@example.org")
    campaign = create(staff_client, send_at="2027-01-10T10:00:00Z").json()
    for who in ("marie@example.org", str(marie.pk)):
        response = staff_client.post(f"{CAMPAIGNS}/{campaign['id']}/test", {"user": who}, format="json")
        assert response.status_code == 200, response.json()
        assert response.json()["sent"] == 2
        assert sorted(d["kind"] for d in response.json()["devices"]) == ["fid", "token"]
    assert sorted(t for t, _ in campaign_messages(fcm_stub, campaign["id"])) == sorted(
        [marie.fcm_token, "fMariePhone00000000001"] * 2
    )
    assert CampaignDelivery.objects.count() == 0
    shown = staff_client.get(f"{CAMPAIGNS}/{campaign['id']}").json()
    assert (shown["state"], shown["sent"], shown["audience"]) == ("scheduled", 0, 2)

    unknown = staff_client.post(f"{CAMPAIGNS}/{campaign['id']}/test", {"user": "nobody@example.org"}, format="json")
    assert (unknown.status_code, unknown.json()) == (400, {"user": ["Aucun compte « nobody@example.org »."]})
    no_device = UserFactory(email="nodevice@example.org", fcm_token="")
    response = staff_client.post(f"{CAMPAIGNS}/{campaign['id']}/test", {"user": no_device.email}, format="json")
    assert (response.status_code, response.json()) == (400, {"user": ["Ce compte n'a aucun appareil enregistré."]})
    assert len(fcm_stub.delivered) == 4


def test_opened_is_idempotent_and_only_for_the_campaign_s_users(staff_client, fcm_stub):
    marie, john = UserFactory(), UserFactory(language="en")
    at = datetime.datetime(2027, 1, 10, 10, 0, tzinfo=UTC)
    campaign = create(staff_client, segment={"languages": ["fr"]}, send_at=at.isoformat()).json()
    app = APIClient()
    app.credentials(HTTP_AUTHORIZATION=f"Token {token_key_for(marie)}")
    url = f"/api/v1/campaigns/{campaign['id']}/opened"
    assert app.post(url).status_code == 404  # not begun: not one of its users yet
    campaign_tick(at)
    first = app.post(url)
    assert first.status_code == 200 and first.json()["campaign"] == campaign["id"]
    assert app.post(url).json() == first.json()  # the first open is kept
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Token {token_key_for(john)}")
    assert other.post(url).status_code == 404
    assert other.post("/api/v1/campaigns/abc/opened").status_code == 404
    assert APIClient().post(url).status_code == 401
    shown = staff_client.get(f"{CAMPAIGNS}/{campaign['id']}").json()
    assert (shown["audience"], shown["sent"], shown["opened"]) == (1, 1, 1)
    listed = staff_client.get(CAMPAIGNS).json()
    assert [(c["id"], c["opened"]) for c in listed["results"]] == [(campaign["id"], 1)]


# --- Edges: an empty audience, a local date gone by, a cancel during a tick, opens, dry run ------


def test_a_campaign_without_audience_ends_sent_once_due_everywhere_and_sends_nobody_later(staff_client, fcm_stub):
    campaign = create(staff_client, segment={"languages": ["en"]}, local_time="09:00", date=DAY.isoformat()).json()
    last_nine = datetime.datetime.combine(DAY, NINE, tzinfo=zoneinfo.ZoneInfo("Etc/GMT+12"))
    campaign_tick(last_nine - STEP)
    assert Campaign.objects.get().state == "scheduled"
    campaign_tick(last_nine)
    assert Campaign.objects.get().state == "sent"
    UserFactory(language="en")  # a user who matches only later is not sent a stale announcement
    campaign_tick(last_nine + datetime.timedelta(days=30))
    assert fcm_stub.delivered == [] and CampaignDelivery.objects.count() == 0
    shown = staff_client.get(f"{CAMPAIGNS}/{campaign['id']}").json()
    assert (shown["state"], shown["audience"], shown["sent"], shown["failed"]) == ("sent", 0, 0, 0)


def test_a_local_time_campaign_never_arrives_after_its_date_and_then_ends(staff_client, fcm_stub):
    """09:00 on DAY, the ticks resumed only at 01:00 on the next day in Lomé: Lomé's user is not
    woken at night (counted failed, expired); Pago Pago's, still on DAY at 14:00, gets it."""
    lome, pago = UserFactory(timezone="Africa/Lome"), UserFactory(timezone="Pacific/Pago_Pago")
    campaign = create(staff_client, local_time="09:00", date=DAY.isoformat()).json()
    counts = campaign_tick(datetime.datetime(2027, 1, 11, 1, 0, tzinfo=UTC))
    assert (counts["campaigns_started"], counts["push_sent"]) == (1, 1)
    assert [t for t, _ in fcm_stub.delivered] == [pago.fcm_token]
    expired = CampaignDelivery.objects.get(user=lome)
    assert (expired.state, expired.sent_at, expired.error) == ("failed", None, "expired: the local date has passed")
    shown = staff_client.get(f"{CAMPAIGNS}/{campaign['id']}").json()
    assert (shown["state"], shown["audience"], shown["sent"], shown["failed"]) == ("sent", 2, 1, 1)


def test_a_chunk_planned_before_a_cancel_claims_and_sends_nothing(staff_client, fcm_stub):
    from verses.campaigns.delivery import campaign_chunk_deliver, campaign_tick_prepare

    UserFactory.create_batch(3)
    at = datetime.datetime(2027, 1, 10, 10, 0, tzinfo=UTC)
    campaign = create(staff_client, send_at=at.isoformat()).json()
    _, chunks = campaign_tick_prepare(at=at)  # the audience fixed, the chunks planned
    assert staff_client.post(f"{CAMPAIGNS}/{campaign['id']}/cancel").status_code == 200
    counts = campaign_chunk_deliver(chunk_id=1, at=at, **{k: v for k, v in chunks[0].items() if k != "at"})
    assert counts["push_due"] == 0 and fcm_stub.delivered == []
    assert set(CampaignDelivery.objects.values_list("state", flat=True)) == {"pending"}


def test_opened_needs_the_campaign_sent_to_that_user(staff_client, fcm_stub, settings):
    settings.FCM_RETRIES = 0
    john = UserFactory(fcm_token="unavailable-phone:APA91b")  # FCM answers 503: not sent
    at = datetime.datetime(2027, 1, 10, 10, 0, tzinfo=UTC)
    campaign = create(staff_client, send_at=at.isoformat()).json()
    campaign_tick(at)
    assert CampaignDelivery.objects.get(user=john).sent_at is None
    app = APIClient()
    app.credentials(HTTP_AUTHORIZATION=f"Token {token_key_for(john)}")
    assert app.post(f"/api/v1/campaigns/{campaign['id']}/opened").status_code == 404
    assert CampaignDelivery.objects.get(user=john).opened_at is None


def test_a_test_send_under_fcm_dry_run_validates_only_and_removes_nothing(staff_client, fcm_stub, settings):
    settings.FCM_DRY_RUN = True
    marie = UserFactory(email="marie@example.org")
    dead = DeviceFactory(user=marie, kind="token", identifier="unregistered-tablet:APA91b")
    campaign = create(staff_client, send_at="2027-01-10T10:00:00Z").json()
    response = staff_client.post(f"{CAMPAIGNS}/{campaign['id']}/test", {"user": marie.email}, format="json")
    assert response.status_code == 200, response.json()
    assert fcm_stub.delivered == []  # validate_only: FCM delivers nothing
    assert Device.objects.filter(pk=dead.pk).exists()


@pytest.mark.parametrize("campaign_id", ["9223372036854775808", "0", "-1"])
def test_an_id_no_campaign_can_have_is_a_404_not_a_500(staff_client, campaign_id):
    app = APIClient()
    app.credentials(HTTP_AUTHORIZATION=f"Token {token_key_for(UserFactory())}")
    assert app.post(f"/api/v1/campaigns/{campaign_id}/opened").status_code == 404
    assert staff_client.get(f"{CAMPAIGNS}/{campaign_id}").status_code == 404
    assert staff_client.post(f"{CAMPAIGNS}/{campaign_id}/cancel").status_code == 404
