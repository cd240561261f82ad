"""The daily generation with the AI on: the real google-genai client against a local stub."""

import datetime
import os
import re
from pathlib import Path

import pytest
from django.core.cache import cache

from scheduler.tests.runs import daily_run
from users.models import Mood, User
from users.tests.factories import UserFactory
from verses.ai import provider_get
from verses.bible import passage_text
from verses.bible_import import bible_import
from verses.curated import curated_pool
from verses.models import DailyVerse, VerseOfTheDay

from verses.tests.gemini_stub import GOOD_ANSWERS, StubReply, good_answer, request_language

DAY = datetime.date(2026, 5, 10)
LSG = Path(os.environ.get("SOULVERSE_SHARED_DIR", Path(__file__).resolve().parents[2].parent / "shared")) \
    / "data/bible/lsg1910.tsv.gz"
MOODS = list(Mood.values)
pytestmark = pytest.mark.django_db

GOOD = GOOD_ANSWERS
language_of = request_language


def mood_of(body: dict) -> str:
    prompt = " ".join(p.get("text", "") for c in body["contents"] for p in c["parts"])
    found = re.search(r"mood today is: (\w+)", prompt)
    return found[1] if found else "default"


@pytest.fixture
def ai(settings, gemini_stub):
    """The AI on, aimed at the stub; fast failure settings."""
    settings.GEMINI_API_KEY = "test-key-123"
    settings.GEMINI_BASE_URL = gemini_stub.base_url
    settings.GEMINI_TIMEOUT_SECONDS = 0.5
    settings.GEMINI_RETRIES = 0
    settings.VERSES_BATCH_PAUSE_SECONDS = 0
    provider_get.cache_clear()
    gemini_stub.respond(good_answer)
    yield gemini_stub
    provider_get.cache_clear()


@pytest.fixture
def lsg():
    if not LSG.exists():
        pytest.skip(f"{LSG} is absent")
    bible_import(path=LSG)


def test_a_good_answer_gives_an_ai_verse_with_the_editions_text(ai):
    french, english = UserFactory(mood="anxious", language="fr"), UserFactory(mood="anxious", language="en")

    report = daily_run(day=DAY)

    assert (report["ai_calls"], report["ai_failures"], report["fallbacks"], report["verses_created"]) == (2, {}, 0, 2)
    for user, reference in ((french, "Philippiens 4:6-7"), (english, "Philippians 4:6-7")):
        verse = DailyVerse.objects.select_related("verse").get(user=user).verse
        assert (verse.source, verse.reference, verse.ai_failure) == ("ai", reference, "")
        assert verse.text == passage_text(language=user.language, book=50, chapter=4, verse_start=6, verse_end=7)
        assert verse.reflection == GOOD[user.language]["reflection"]
    assert ai.request_count == 2


FAILURES = [
    (StubReply.error(429, "Resource has been exhausted"), "rate_limit"),
    (StubReply.error(500, "Internal error"), "server_error"),
    (StubReply.error(503, "The model is overloaded"), "server_error"),
    (StubReply.json_text(GOOD["fr"], delay=2.0), "timeout"),
    (StubReply.text("Voici un verset : Jean 3:16"), "invalid_output"),
    (StubReply.json_text({**GOOD["fr"], "book": "JUD", "chapter": 2, "verse_start": 1, "verse_end": 1}),
     "unknown_reference"),
    (StubReply.json_text({**GOOD["fr"], "reflection": GOOD["en"]["reflection"]}), "invalid_output"),
]


@pytest.mark.parametrize(("reply", "kind"), FAILURES, ids=[
    "429", "500", "503", "timeout", "non-json", "jude-2-1", "english-reflection-for-french"])
def test_a_failure_falls_back_for_that_pair_only_and_is_counted_by_kind(ai, reply, kind):
    french = UserFactory(mood="sad", language="fr")
    english = UserFactory(mood="sad", language="en")
    ai.respond(lambda body: reply if language_of(body) == "fr" else StubReply.json_text(GOOD["en"]))

    report = daily_run(day=DAY)

    assert report["ai_failures"] == {kind: 1}
    assert (report["ai_calls"], report["fallbacks"], report["verses_created"]) == (2, 1, 2)
    fallback = DailyVerse.objects.select_related("verse").get(user=french).verse
    assert (fallback.source, fallback.ai_failure) == ("fallback", kind)
    assert fallback.text in {verse.text_fr for verse in curated_pool("sad")}
    assert DailyVerse.objects.select_related("verse").get(user=english).verse.source == "ai"


def test_5000_users_over_8_moods_and_2_languages_cost_16_ai_calls_and_a_rerun_none(ai):
    User.objects.bulk_create([
        User(email=f"u{n}@example.org", fcm_token=f"t{n}", mood=MOODS[n % 8], language="fr" if n % 3 else "en")
        for n in range(5000)
    ])

    report = daily_run(day=DAY)

    assert ai.request_count == 16
    assert {mood_of(call.body) for call in ai.calls} == set(MOODS)
    assert (report["pairs"], report["ai_calls"], report["users_processed"], report["verses_created"]) == (
        16, 16, 5000, 5000)
    assert DailyVerse.objects.filter(day=DAY).count() == 5000

    rerun = daily_run(day=DAY)
    cache.delete_many([f"verse:{DAY.isoformat()}:{m}:{lang}" for m in MOODS for lang in ("fr", "en")])
    without_cache = daily_run(day=DAY)
    assert ai.request_count == 16
    assert (rerun["ai_calls"], rerun["cache_hits"], rerun["verses_created"]) == (0, 16, 0)
    assert (without_cache["ai_calls"], without_cache["verses_created"]) == (0, 0)


def test_opening_words_of_the_neighbouring_verse_are_rejected(ai, lsg):
    # WEB Psalm 34:19 is Louis Segond's Psaumes 34:20: quoting it at 34:19 is a versification slip.
    slip = {"book": "PSA", "chapter": 34, "verse_start": 19, "verse_end": 19,
            "opening_words": "Le malheur atteint souvent le juste",
            "reflection": "Même dans l'épreuve, Dieu te garde et te délivre : confie-lui ta journée."}
    ai.enqueue(StubReply.json_text(slip))
    UserFactory(mood="sad", language="fr")
    report = daily_run(day=DAY)
    assert report["ai_failures"] == {"text_mismatch": 1}
    assert VerseOfTheDay.objects.get().source == "fallback"

    ai.enqueue(StubReply.json_text({**slip, "verse_start": 20, "verse_end": 20}))
    daily_run(day=DAY + datetime.timedelta(days=1))
    verse = VerseOfTheDay.objects.get(day=DAY + datetime.timedelta(days=1))
    assert (verse.source, verse.reference) == ("ai", "Psaume 34:20")
    assert verse.text.startswith("Le malheur atteint souvent le juste")


def test_every_verse_shown_is_the_editions_text_for_ai_and_fallback_alike(ai, lsg):
    ai.respond(lambda body: StubReply.json_text(GOOD[language_of(body)]) if mood_of(body) in MOODS[:4]
               else StubReply.error(503))
    for mood in MOODS:
        for language in ("fr", "en"):
            UserFactory(mood=mood, language=language)

    daily_run(day=DAY)

    verses = list(VerseOfTheDay.objects.all())
    assert {v.source for v in verses} == {"ai", "fallback"} and len(verses) == 16
    for verse in verses:
        edition_text = passage_text(language=verse.language, book=verse.book, chapter=verse.chapter,
                                    verse_start=verse.verse_start, verse_end=verse.verse_end)
        assert verse.text == edition_text, verse.reference
    for daily in DailyVerse.objects.select_related("user", "verse"):
        assert daily.verse.language == daily.user.language and daily.verse.mood == daily.user.mood
