import datetime

import pytest
from django.core.cache import cache
from django.db import IntegrityError, transaction

from users.models import User
from users.tests.factories import UserFactory
from verses.cache import verse_cache_get_many
from verses.curated import curated_pool
from verses.models import DailyVerse
from verses.services import curated_verse_pick, daily_verses_generate

DAY = datetime.date(2026, 3, 1)


def snapshot():
    return sorted(DailyVerse.objects.values_list(
        "id", "user_id", "day", "mood", "language", "reference", "verse_key", "text", "reflection", "source"))


@pytest.mark.django_db
def test_every_active_user_gets_one_verse_in_their_language():
    french = UserFactory(mood="sad", language="fr")
    english = UserFactory(mood="sad", language="en")
    no_mood = UserFactory(mood="", language="fr")
    UserFactory(fcm_token="")
    UserFactory(is_active=False)

    report = daily_verses_generate(day=DAY)

    assert {k: report[k] for k in ("users_processed", "verses_created", "fallbacks", "cache_hits")} == {
        "users_processed": 3, "verses_created": 3, "fallbacks": 3, "cache_hits": 0}
    verses = {v.user_id: v for v in DailyVerse.objects.all()}
    assert set(verses) == {french.pk, english.pk, no_mood.pk}
    for user in (french, english, no_mood):
        verse = verses[user.pk]
        curated = next(c for c in curated_pool(user.mood) if c.key == verse.verse_key)
        assert verse.text == curated.text(user.language)
        assert verse.reference == curated.reference(user.language)
        assert (verse.day, verse.language, verse.source) == (DAY, user.language, "fallback")
        assert verse.reflection
    assert verses[no_mood.pk].verse_key in {c.key for c in curated_pool("default")}


@pytest.mark.django_db
def test_generating_twice_for_a_day_changes_nothing():
    UserFactory.create_batch(7, mood="anxious")
    UserFactory.create_batch(5, mood="grateful", language="en")
    daily_verses_generate(day=DAY)
    first = snapshot()

    second = daily_verses_generate(day=DAY)  # cache hits
    assert (second["verses_created"], second["cache_hits"]) == (0, 12)
    assert snapshot() == first

    cache.delete_many([f"verse:{DAY.isoformat()}:{pk.hex}" for pk in User.objects.values_list("pk", flat=True)])
    third = daily_verses_generate(day=DAY)  # no cache: rows found in the database
    assert (third["verses_created"], third["already_present"]) == (0, 12)
    assert snapshot() == first


@pytest.mark.django_db
def test_results_are_cached_for_the_day():
    user = UserFactory(mood="hopeful", language="en")
    daily_verses_generate(day=DAY)
    cached = verse_cache_get_many(DAY, [user.pk])[user.pk]
    verse = DailyVerse.objects.get()
    assert cached == {"day": "2026-03-01", "reference": verse.reference, "text": verse.text,
                      "reflection": verse.reflection, "mood": "hopeful", "language": "en", "source": "fallback"}


@pytest.mark.django_db
def test_a_user_never_gets_yesterdays_verse_again():
    users = UserFactory.create_batch(40, mood="lonely")
    for offset in range(10):
        daily_verses_generate(day=DAY + datetime.timedelta(days=offset))
    for user in users:
        keys = list(DailyVerse.objects.filter(user=user).order_by("day").values_list("verse_key", flat=True))
        assert len(keys) == 10
        assert all(a != b for a, b in zip(keys, keys[1:])), keys


def test_pick_is_stable_and_avoids_the_given_key():
    import uuid
    user_id = uuid.UUID(int=42)
    first = curated_verse_pick(user_id=user_id, mood="sad", day=DAY, avoid_key=None)
    assert curated_verse_pick(user_id=user_id, mood="sad", day=DAY, avoid_key=None) == first
    assert curated_verse_pick(user_id=user_id, mood="sad", day=DAY, avoid_key=first.key) != first


@pytest.mark.django_db
def test_the_database_refuses_a_second_verse_for_a_user_and_day():
    user = UserFactory()
    daily_verses_generate(day=DAY)
    verse = DailyVerse.objects.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        DailyVerse.objects.create(user=user, day=DAY, language="fr", reference="x", verse_key="x",
                                  text="x", source="fallback")
    assert DailyVerse.objects.get() == verse


@pytest.mark.django_db
def test_batches_cover_every_user(settings):
    settings.VERSES_BATCH_SIZE = 3
    UserFactory.create_batch(10)
    progress = []
    report = daily_verses_generate(day=DAY, progress=lambda done, total: progress.append((done, total)))
    assert report["verses_created"] == 10
    assert progress == [(3, 10), (6, 10), (9, 10), (10, 10)]
