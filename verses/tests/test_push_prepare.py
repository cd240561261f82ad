"""Prepare ahead, fire on time: a tick prepares the users due by the next one (their verse of the
day, a pending delivery), the slot then only claims, sends and records; who is due is decided again
at the slot. And the verdicts' one statement per chunk, on the backend the tests run on."""

import datetime
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from users.models import Device, User
from users.tests.factories import UserFactory
from verses.models import DailyVerse, Delivery
from verses.push.delivery import _verdicts_statement, push_chunk_deliver, push_tick_prepare
from verses.selectors import pushes_sent_count, verse_push_counts

pytestmark = pytest.mark.django_db

UTC = datetime.UTC
SLOT = datetime.datetime(2026, 1, 10, 6, 0, tzinfo=UTC)  # 06:00 in Lomé (UTC+0)
BEFORE = SLOT - datetime.timedelta(minutes=15)
DAY = SLOT.date()


def states() -> dict[str, tuple[str, int]]:
    return {d.user.email: (d.state, d.attempts) for d in Delivery.objects.select_related("user")}


def test_the_tick_before_prepares_the_slot_and_the_slot_sends_each_user_once(push_tick, fcm_stub):
    at_six = [UserFactory(email=f"six{n}@example.org") for n in range(3)]
    later = UserFactory(email="later@example.org", notify_at=datetime.time(6, 10))
    early = UserFactory(email="early@example.org", notify_at=datetime.time(5, 30))

    counts = push_tick(BEFORE)
    # 05:45: `early` is due and sent; the 06:00 users are prepared, nobody else.
    assert (counts["push_due"], counts["push_sent"], counts["push_prepared"], counts["push_prepare_chunks"]) == (
        1,
        1,
        3,
        1,
    )
    assert [token for token, _ in fcm_stub.delivered] == [early.fcm_token]
    assert states() == {
        "early@example.org": ("sent", 1),
        **{user.email: ("pending", 0) for user in at_six},
    }
    assert DailyVerse.objects.filter(day=DAY, user__in=at_six).count() == 3
    # A prepared delivery is no push: the day's figures count the one sent.
    assert pushes_sent_count(day=DAY) == 1
    assert verse_push_counts(day=DAY) == {"sent": 1, "opened": 0}

    counts = push_tick(SLOT)
    assert (counts["push_due"], counts["push_sent"], counts["push_prepared"]) == (3, 3, 1)  # `later` for 06:15
    assert sorted(token for token, _ in fcm_stub.delivered) == sorted(u.fcm_token for u in [early, *at_six])
    assert states()["later@example.org"] == ("pending", 0)
    assert {states()[u.email] for u in at_six} == {("sent", 1)}

    # The slot again (a manual re-run), then the next one: each user once, `later` at 06:15.
    assert push_tick(SLOT)["push_due"] == 0
    assert push_tick(SLOT + datetime.timedelta(minutes=15))["push_sent"] == 1
    received = [token for token, _ in fcm_stub.delivered]
    assert sorted(received) == sorted(u.fcm_token for u in [early, *at_six, later])
    assert pushes_sent_count(day=DAY) == 5


def test_at_a_prepared_slot_the_chunk_only_claims_sends_and_records(push_tick, fcm_stub):
    users = [UserFactory() for _ in range(4)]
    push_tick(BEFORE)
    counts, chunks = push_tick_prepare(at=SLOT)
    sending = [chunk for chunk in chunks if not chunk.get("prepare")]
    assert len(sending) == 1 and counts["push_chunks"] == 1
    kwargs = {key: value for key, value in sending[0].items() if key != "dry_run"}
    kwargs.update(
        at=SLOT,
        day=DAY,
        local_time=datetime.time.fromisoformat(kwargs["local_time"]),
        after=None,
        upto=None,
    )
    with CaptureQueriesContext(connection) as queries:
        result = push_chunk_deliver(chunk_id=1, **kwargs)
    assert result["push_sent"] == 4
    writes = [q["sql"] for q in queries.captured_queries if "INSERT INTO" in q["sql"].upper()]
    assert [sql for sql in writes if "verses_" in sql] == []  # the verses and the deliveries were made ahead
    assert len(fcm_stub.delivered) == len(users)


def test_a_user_who_changed_after_the_preparation_is_not_pushed_at_the_slot(push_tick, fcm_stub):
    stays = UserFactory(email="stays@example.org")
    moved = UserFactory(email="moved@example.org")
    silent = UserFactory(email="silent@example.org")
    deviceless = UserFactory(email="deviceless@example.org")
    inactive = UserFactory(email="inactive@example.org")
    later = UserFactory(email="later@example.org")
    assert push_tick(BEFORE)["push_prepared"] == 6

    User.objects.filter(pk=moved.pk).update(timezone="America/New_York")  # 01:00 there at the slot
    User.objects.filter(pk=silent.pk).update(notifications_enabled=False)
    Device.objects.filter(user=deviceless).delete()
    User.objects.filter(pk=inactive.pk).update(is_active=False)
    User.objects.filter(pk=later.pk).update(notify_at=datetime.time(7, 0))

    counts = push_tick(SLOT)
    assert (counts["push_due"], counts["push_sent"], counts["push_failed"]) == (1, 1, 0)
    assert [token for token, _ in fcm_stub.delivered] == [stays.fcm_token]
    assert states() == {
        "stays@example.org": ("sent", 1),
        **{user.email: ("pending", 0) for user in (moved, silent, deviceless, inactive, later)},
    }
    assert pushes_sent_count(day=DAY) == 1

    # Their prepared deliveries go when (and if) they are due: `later` at 07:00, `moved` at 06:00
    # New York time (same local date), each once; the others never.
    for hour in (7, 11):
        push_tick(SLOT.replace(hour=hour))
    assert sorted(token for token, _ in fcm_stub.delivered) == sorted(u.fcm_token for u in (stays, later, moved))
    assert {email: state for email, (state, _) in states().items()} == {
        "stays@example.org": "sent",
        "later@example.org": "sent",
        "moved@example.org": "sent",
        "silent@example.org": "pending",
        "deviceless@example.org": "pending",
        "inactive@example.org": "pending",
    }
    assert pushes_sent_count(day=DAY) == 3


def test_preparation_is_off_at_zero_and_in_a_dry_run(push_tick, fcm_stub, settings):
    UserFactory()
    assert push_tick(BEFORE, dry_run=True)["push_prepared"] == 0
    settings.PUSH_PREPARE_AHEAD_MINUTES = 0
    counts = push_tick(BEFORE)
    assert (counts["push_prepared"], counts["push_prepare_chunks"]) == (0, 0)
    assert not Delivery.objects.exists() and not DailyVerse.objects.exists()
    assert push_tick(SLOT)["push_sent"] == 1  # unprepared: the slot does it all


def test_a_new_local_date_is_prepared_before_midnight(push_tick, fcm_stub):
    """At 23:45 in Lomé the next tick is tomorrow 00:00: a user due at midnight is prepared for
    tomorrow's date; today's users (sent already) are not prepared again."""
    midnight = UserFactory(email="midnight@example.org", notify_at=datetime.time(0, 0))
    morning = UserFactory(email="morning@example.org")
    verse = _any_verse()
    for user in (midnight, morning):
        Delivery.objects.create(user=user, day=DAY, verse=verse, state="sent", attempts=1, sent_at=timezone.now())
    counts = push_tick(datetime.datetime(2026, 1, 10, 23, 45, tzinfo=UTC))
    assert (counts["push_due"], counts["push_prepared"]) == (0, 1)
    tomorrow = DAY + datetime.timedelta(days=1)
    assert list(Delivery.objects.filter(day=tomorrow).values_list("user__email", "state")) == [
        ("midnight@example.org", "pending")
    ]
    assert push_tick(datetime.datetime(2026, 1, 11, 0, 0, tzinfo=UTC))["push_sent"] == 1
    assert [token for token, _ in fcm_stub.delivered] == [midnight.fcm_token]


def _any_verse():
    from verses.models import VerseOfTheDay

    return VerseOfTheDay.objects.create(
        day=DAY,
        mood="joyful",
        language="fr",
        book=43,
        chapter=3,
        verse_start=16,
        verse_end=16,
        reference="Jean 3:16",
        text="Car Dieu a tant aimé le monde",
        reflection="",
        source="fallback",
    )


def test_the_verdicts_statement_records_a_chunk_on_its_claim_only():
    verse = _any_verse()
    users = [UserFactory() for _ in range(4)]
    rows = [
        Delivery.objects.create(user=user, day=DAY, verse=verse, state="sending", claim=claim, attempts=1)
        for user, claim in zip(users, ["chunk:1", "chunk:1", "chunk:1", "chunk:2"], strict=True)
    ]
    values = [
        (rows[0].pk, "sent", "projects/p/messages/1", "", json.dumps([11, 12])),
        (rows[1].pk, "failed", "", "UNAVAILABLE (HTTP 503)", "[]"),
        (rows[2].pk, "invalid_token", "", 'UNREGISTERED "quoted" é', "[]"),
        (rows[3].pk, "sent", "projects/p/messages/4", "", "[13]"),  # another chunk's: untouched
    ]
    now = timezone.now()
    sql, params = _verdicts_statement(values, now=now, claim="chunk:1")
    if connection.vendor == "postgresql":
        assert len(params) == 9 and "unnest(" in sql  # five bound arrays, whatever the chunk's size
    else:
        assert len(params) == 4 + 5 * len(values)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
    recorded = {
        d.pk: (d.state, d.message_id, d.error, d.sent_devices, d.claim, d.sent_at is not None)
        for d in Delivery.objects.all()
    }
    assert recorded == {
        rows[0].pk: ("sent", "projects/p/messages/1", "", [11, 12], "", True),
        rows[1].pk: ("failed", "", "UNAVAILABLE (HTTP 503)", [], "", False),
        rows[2].pk: ("invalid_token", "", 'UNREGISTERED "quoted" é', [], "", False),
        rows[3].pk: ("sending", "", "", [], "chunk:2", False),
    }


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's plan")
def test_the_verdicts_statement_looks_its_rows_up_even_when_the_statistics_saw_them_pending():
    """The tick's ANALYZE sees the day's rows all `pending` and unclaimed; at the verdicts, a
    chunk's rows are `sending` under its claim. With those values in sight PostgreSQL expected one
    row and compared every row with every verdict (a Join Filter): 1.2 s a chunk of 2,000 at
    100,000 users (bench/push.py)."""
    verse = _any_verse()
    users = User.objects.bulk_create(User(email=f"u{n}@example.org", password="!") for n in range(3000))
    Delivery.objects.bulk_create(Delivery(user=user, day=DAY, verse=verse) for user in users)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE verses_delivery")
    claimed = list(Delivery.objects.order_by("id").values_list("id", flat=True)[:2000])
    Delivery.objects.filter(id__in=claimed).update(state="sending", claim="chunk:1", attempts=1)
    values = [(pk, "sent", f"projects/p/messages/{pk}", "", "[1]") for pk in claimed]
    sql, params = _verdicts_statement(values, now=timezone.now(), claim="chunk:1")
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        assert "Join Filter" not in plan, plan
        cursor.execute(sql, params)
    assert Delivery.objects.filter(state="sent", claim="").count() == 2000


def test_a_held_pair_is_not_prepared_and_goes_once_approved(push_tick, fcm_stub, settings):
    """VERSES_REQUIRE_APPROVAL: preparation gives no verse before an operator approves it."""
    from verses.models import VerseOfTheDay

    settings.VERSES_REQUIRE_APPROVAL = True
    user = UserFactory()
    counts = push_tick(BEFORE)
    assert counts["push_prepared"] == 0
    assert not DailyVerse.objects.filter(user=user).exists() and not Delivery.objects.exists()
    assert push_tick(SLOT)["push_sent"] == 0  # still held at the slot
    VerseOfTheDay.objects.filter(day=DAY).update(approved_at=timezone.now())
    assert push_tick(SLOT + datetime.timedelta(minutes=15))["push_sent"] == 1
    assert [token for token, _ in fcm_stub.delivered] == [user.fcm_token]
