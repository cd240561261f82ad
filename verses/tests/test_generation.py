import datetime

import pytest
from django.core.cache import cache
from django.db import IntegrityError, transaction

from scheduler.tests.runs import daily_run
from users.tests.factories import UserFactory
from verses.bible.curated import curated_pool
from verses.generation.cache import verse_cache_get_many
from verses.generation.on_demand import daily_verse_for_user
from verses.generation.pairs import curated_verse_pick
from verses.models import DailyVerse, VerseOfTheDay

DAY = datetime.date(2026, 3, 1)
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_ai")]


def snapshot():
    return (
        sorted(DailyVerse.objects.values_list("user_id", "day", "verse_id", "created_at")),
        sorted(
            VerseOfTheDay.objects.values_list(
                "id", "day", "mood", "language", "reference", "text", "reflection", "source"
            )
        ),
    )


def test_every_active_user_gets_one_verse_of_their_mood_in_their_language():
    french = UserFactory(mood="sad", language="fr")
    english = UserFactory(mood="sad", language="en")
    no_mood = UserFactory(mood="", language="fr")
    UserFactory(fcm_token="")
    UserFactory(is_active=False)

    report = daily_run(day=DAY)

    assert {k: report[k] for k in ("users_processed", "verses_created", "pairs", "fallbacks", "ai_calls")} == {
        "users_processed": 3,
        "verses_created": 3,
        "pairs": 3,
        "fallbacks": 3,
        "ai_calls": 0,
    }
    given = {d.user_id: d.verse for d in DailyVerse.objects.select_related("verse")}
    assert set(given) == {french.pk, english.pk, no_mood.pk}
    for user in (french, english, no_mood):
        verse = given[user.pk]
        curated = next(c for c in curated_pool(user.mood) if c.reference(user.language) == verse.reference)
        assert verse.text == curated.text(user.language)
        assert (verse.day, verse.mood, verse.language, verse.source) == (DAY, user.mood, user.language, "fallback")
        assert verse.reflection


def test_users_of_one_mood_and_language_share_one_verse():
    UserFactory.create_batch(6, mood="anxious", language="fr")
    UserFactory.create_batch(4, mood="anxious", language="en")
    daily_run(day=DAY)
    assert VerseOfTheDay.objects.count() == 2
    assert DailyVerse.objects.values("verse").distinct().count() == 2


def test_generating_twice_for_a_day_changes_nothing():
    UserFactory.create_batch(7, mood="anxious")
    UserFactory.create_batch(5, mood="grateful", language="en")
    daily_run(day=DAY)
    first = snapshot()

    second = daily_run(day=DAY)  # the pairs' verses come from the cache
    assert (second["verses_created"], second["cache_hits"], second["users_processed"]) == (0, 2, 12)
    assert snapshot() == first

    cache.delete_many([f"verse:{DAY.isoformat()}:anxious:fr", f"verse:{DAY.isoformat()}:grateful:en"])
    third = daily_run(day=DAY)  # no cache: found in the database
    assert (third["verses_created"], third["cache_hits"], third["fallbacks"]) == (0, 0, 0)
    assert snapshot() == first


def test_the_pairs_verses_are_cached_for_the_day(settings):
    UserFactory(mood="hopeful", language="en")
    daily_run(day=DAY)
    verse = VerseOfTheDay.objects.get()
    assert verse_cache_get_many(DAY, [("hopeful", "en")]) == {("hopeful", "en"): verse.pk}


def test_a_user_never_gets_yesterdays_verse_again():
    users = UserFactory.create_batch(3, mood="lonely")
    for offset in range(12):
        daily_run(day=DAY + datetime.timedelta(days=offset))
    for user in users:
        refs = list(DailyVerse.objects.filter(user=user).order_by("day").values_list("verse__reference", flat=True))
        assert len(refs) == 12
        assert all(a != b for a, b in zip(refs, refs[1:])), refs


def test_pick_is_stable_and_avoids_the_given_key():
    first = curated_verse_pick(day=DAY, mood="sad", language="fr", avoid_key=None)
    assert curated_verse_pick(day=DAY, mood="sad", language="fr", avoid_key=None) == first
    chapter, start, end = first.numbering("fr")
    key = f"{first.book:02d}:{chapter:03d}:{start:03d}-{end:03d}"
    assert curated_verse_pick(day=DAY, mood="sad", language="fr", avoid_key=key) != first


def test_the_database_refuses_a_second_verse_for_a_user_and_day():
    user = UserFactory()
    daily_run(day=DAY)
    daily = DailyVerse.objects.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        DailyVerse.objects.create(user=user, day=DAY, verse=daily.verse)
    assert list(DailyVerse.objects.all()) == [daily]


def test_chunks_cover_every_user(settings):
    settings.VERSES_ASSIGN_CHUNK_SIZE = 3
    UserFactory.create_batch(10, mood="sad")
    UserFactory.create_batch(3, mood="angry", fcm_token="")
    report = daily_run(day=DAY)
    assert report["verses_created"] == 10
    assert DailyVerse.objects.values("user").distinct().count() == 10
    assert report["chunks"] == 4


@pytest.mark.parametrize("chunk_size", [1, 3, 4, 12, 100])
def test_one_pass_gives_the_groups_and_chunks_of_two_queries(chunk_size):
    from django.db.models import Count

    from users.models import Device
    from users.selectors import users_active
    from verses.generation.daily import keyset_chunk_bounds, users_groups_and_chunk_bounds

    for index, user in enumerate(
        [
            *UserFactory.create_batch(5, mood="sad"),
            *UserFactory.create_batch(4, mood="angry", language="en"),
            *UserFactory.create_batch(3, mood="grateful"),
        ]
    ):
        if index % 2:  # several devices per user count once
            Device.objects.create(user=user, kind=Device.Kind.FID, identifier=f"fid-{index}-{'f' * 20}")
    UserFactory.create_batch(2, mood="sad", fcm_token="")  # no device: not active
    UserFactory(mood="sad", is_active=False)

    groups, bounds = users_groups_and_chunk_bounds(users_active(), chunk_size=chunk_size)

    expected = sorted(users_active().order_by().values_list("mood", "language").annotate(users=Count("id")))
    assert groups == expected
    assert sum(count for _, _, count in groups) == 12
    assert bounds == keyset_chunk_bounds(users_active(), chunk_size=chunk_size)
    ranges = [users_active(after=after, upto=upto).count() for after, upto in bounds]
    assert sum(ranges) == 12 and all(count <= chunk_size for count in ranges)


def test_one_pass_over_no_user_gives_one_empty_chunk():
    from users.selectors import users_active
    from verses.generation.daily import users_groups_and_chunk_bounds

    assert users_groups_and_chunk_bounds(users_active(), chunk_size=5) == ([], [(None, None)])


def test_a_user_the_run_has_not_reached_gets_a_verse_on_demand():
    user = UserFactory(mood="stressed", language="en", timezone="Africa/Lome")
    daily_run(day=DAY)
    late = UserFactory(mood="stressed", language="en")
    daily = daily_verse_for_user(user=late, day=DAY)
    assert daily.verse == DailyVerse.objects.get(user=user).verse  # the pair's verse
    assert daily_verse_for_user(user=late, day=DAY) == daily
    assert DailyVerse.objects.filter(user=late).count() == 1


def test_a_cache_entry_that_outlived_its_row_is_not_trusted():
    UserFactory.create_batch(3, mood="sad", language="fr")
    daily_run(day=DAY)
    DailyVerse.objects.all().delete()
    VerseOfTheDay.objects.all().delete()  # the cache still names the deleted row

    report = daily_run(day=DAY)

    assert (report["cache_hits"], report["fallbacks"], report["verses_created"]) == (0, 1, 3)
    assert verse_cache_get_many(DAY, [("sad", "fr")]) == {("sad", "fr"): VerseOfTheDay.objects.get().pk}


def test_only_the_daily_run_s_chunk_commits_asynchronously_never_a_push_chunk_s_records():
    from django.db import connection

    from users.selectors import users_active
    from verses.generation.daily import daily_verses_assign, daily_verses_assign_chunk

    if connection.vendor != "postgresql":
        pytest.skip("synchronous_commit is PostgreSQL's")

    def setting_after(call) -> str:
        with transaction.atomic():
            call()
            with connection.cursor() as cursor:
                cursor.execute("SHOW synchronous_commit")
                return cursor.fetchone()[0]

    # In this order: SET LOCAL lasts until the test's own transaction ends.
    assert setting_after(lambda: daily_verses_assign(day=DAY, users=users_active())) == "on"
    assert setting_after(lambda: daily_verses_assign_chunk(day=DAY, after=None, upto=None)) == "off"
