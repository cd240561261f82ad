"""A whole day (two, around each DST change) of delivery ticks in 15-minute steps, with users in
many time zones: exactly one push per user and local date, at the first tick at or after
their `notify_at`, with the verse `verses/today` shows for that date."""

import datetime
import zoneinfo
from collections import Counter

import pytest

from users.tests.factories import UserFactory
from verses.generation.on_demand import daily_verse_for_user
from verses.models import DailyVerse, Delivery

pytestmark = pytest.mark.django_db

UTC = datetime.UTC
STEP = datetime.timedelta(minutes=15)
# (zone, notify_at): half- and quarter-hour zones, both sides of the date line, and times that a
# DST change skips (02:30 in spring) or repeats (01:30 / 02:15 in autumn).
USERS = [
    ("Africa/Lome", "06:00"),
    ("Africa/Kinshasa", "06:00"),
    ("Europe/Paris", "06:00"),
    ("Europe/Paris", "02:30"),
    ("Europe/Paris", "02:15"),
    ("America/Toronto", "06:00"),
    ("America/Toronto", "02:30"),
    ("America/Toronto", "01:30"),
    ("America/Montreal", "06:00"),
    ("Asia/Kolkata", "06:00"),
    ("Asia/Kathmandu", "06:00"),
    ("Asia/Kathmandu", "00:00"),
    ("Pacific/Kiritimati", "06:00"),
    ("Pacific/Kiritimati", "23:45"),
    ("Pacific/Pago_Pago", "06:00"),
    ("Pacific/Pago_Pago", "00:00"),
    ("America/St_Johns", "06:00"),
    ("Australia/Lord_Howe", "21:30"),
]


def first_tick(ticks: list[datetime.datetime], zone: str, notify_at: datetime.time) -> dict[datetime.date, int]:
    """For each local date the ticks reach, the index of its first tick at or after notify_at."""
    tz = zoneinfo.ZoneInfo(zone)
    firsts: dict[datetime.date, int] = {}
    for index, tick in enumerate(ticks):
        local = tick.astimezone(tz)
        if local.time() >= notify_at:
            firsts.setdefault(local.date(), index)
    return firsts


@pytest.mark.parametrize(
    "start",
    [
        datetime.datetime(2026, 3, 7, 12, 0, tzinfo=UTC),  # America/Toronto springs forward on 03-08
        datetime.datetime(2026, 3, 28, 12, 0, tzinfo=UTC),  # Europe/Paris springs forward on 03-29
        datetime.datetime(2026, 10, 24, 12, 0, tzinfo=UTC),  # Europe/Paris falls back on 10-25
        datetime.datetime(2026, 10, 31, 12, 0, tzinfo=UTC),  # America/Toronto falls back on 11-01
    ],
    ids=["toronto-spring", "paris-spring", "paris-autumn", "toronto-autumn"],
)
def test_every_user_is_sent_once_per_local_date_at_the_first_tick_after_notify_at(push_tick, fcm_stub, start):
    users = {
        UserFactory(timezone=zone, notify_at=datetime.time.fromisoformat(at), mood="", language="fr"): (zone, at)
        for zone, at in USERS
    }
    UserFactory(timezone="Europe/Paris", notifications_enabled=False)  # never sent
    UserFactory(timezone="Africa/Lome", fcm_token="")  # not active: never sent
    ticks = [start + STEP * i for i in range(48 * 4)]
    sent_at: dict[tuple[str, str], list[int]] = {}
    for index, tick in enumerate(ticks):
        before = len(fcm_stub.delivered)
        push_tick(tick)
        for token, message in fcm_stub.delivered[before:]:
            sent_at.setdefault((token, message["data"]["day"]), []).append(index)

    expected = {}
    for user, (zone, at) in users.items():
        for day, index in first_tick(ticks, zone, datetime.time.fromisoformat(at)).items():
            expected[(user.fcm_token, day.isoformat())] = [index]
    assert sent_at == expected
    assert len(fcm_stub.delivered) == len(expected) == Delivery.objects.filter(state="sent").count()
    assert all(len(firsts) >= 2 for firsts in (first_tick(ticks, z, datetime.time.fromisoformat(a)) for z, a in USERS))
    # The verse pushed is the one verses/today shows for that local date.
    for user in users:
        for delivery in Delivery.objects.filter(user=user):
            shown = daily_verse_for_user(user=user, day=delivery.day)
            token_messages = [
                m for t, m in fcm_stub.delivered if t == user.fcm_token and m["data"]["day"] == delivery.day.isoformat()
            ]
            assert token_messages[0]["data"] == {
                "day": delivery.day.isoformat(),
                "reference": shown.verse.reference,
                "verse_id": str(shown.verse_id),
            }
            assert delivery.verse_id == shown.verse_id
    assert DailyVerse.objects.count() == Delivery.objects.count()
    assert Counter(d.attempts for d in Delivery.objects.all()) == Counter({1: len(expected)})


def test_a_missed_tick_is_caught_up_late_never_lost_never_doubled(push_tick, fcm_stub):
    user = UserFactory(timezone="Europe/Paris")  # 06:00 Paris = 05:00 UTC in winter
    push_tick(datetime.datetime(2026, 1, 10, 4, 45, tzinfo=UTC))
    assert fcm_stub.delivered == []
    # The 05:00, 05:15 and 05:30 ticks were missed (cluster down): the 05:45 one sends.
    counts = push_tick(datetime.datetime(2026, 1, 10, 5, 45, tzinfo=UTC))
    assert (counts["push_sent"], counts["push_due"]) == (1, 1)
    push_tick(datetime.datetime(2026, 1, 10, 6, 0, tzinfo=UTC))
    assert [(t, m["data"]["day"]) for t, m in fcm_stub.delivered] == [(user.fcm_token, "2026-01-10")]


def test_the_lome_default_user_is_sent_at_the_0600_tick(push_tick, fcm_stub):
    user = UserFactory()  # Africa/Lome (UTC+0), 06:00
    assert push_tick(datetime.datetime(2026, 1, 10, 5, 45, tzinfo=UTC))["push_chunks"] == 0
    counts = push_tick(datetime.datetime(2026, 1, 10, 6, 0, 20, tzinfo=UTC))
    assert counts["push_sent"] == 1
    delivery = Delivery.objects.get(user=user)
    assert (delivery.day, delivery.state, delivery.attempts) == (datetime.date(2026, 1, 10), "sent", 1)
    assert delivery.message_id.startswith("projects/soulverse-test/messages/0:")
