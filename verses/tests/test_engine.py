"""The daily generation with the AI on: the real google-genai client against a local stub."""

import datetime
import json
import re

import pytest
from django.core.cache import cache

from scheduler.tests.runs import daily_run
from soulverse.testing.gemini_stub import GOOD_ANSWERS, StubReply, good_answer, request_language
from users.models import Mood, User
from users.tests.factories import UserFactory, devices_bulk_create
from verses.ai.gemini import provider_get
from verses.ai.run import FAILURE_KINDS, AIRun
from verses.bible.curated import curated_pool
from verses.bible.editions import passage_text
from verses.bible.importer import bible_import
from verses.generation.daily import daily_verses_prepare
from verses.generation.validation import REJECTION_KINDS
from verses.models import DailyVerse, VerseOfTheDay
from verses.tests.shared_data import LSG_PATH

DAY = datetime.date(2026, 5, 10)
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
    settings.GEMINI_TIMEOUT_SECONDS = 1.5  # the timeout case waits it; a loaded machine needs more than 0.5
    settings.GEMINI_RETRIES = 0
    settings.VERSES_BATCH_PAUSE_SECONDS = 0
    provider_get.cache_clear()
    gemini_stub.respond(good_answer)
    yield gemini_stub
    provider_get.cache_clear()


@pytest.fixture
def lsg():
    if not LSG_PATH.exists():
        pytest.skip(f"{LSG_PATH} is not available")
    bible_import(path=LSG_PATH)


def test_a_good_answer_gives_an_ai_verse_with_the_editions_text(ai):
    french, english = UserFactory(mood="anxious", language="fr"), UserFactory(mood="anxious", language="en")

    report = daily_run(day=DAY)

    assert (report["ai_calls"], report["ai_failures"], report["fallbacks"], report["verses_created"]) == (2, {}, 0, 2)
    usage = [call_usage for call_usage in ai.calls]  # one request per pair
    assert len(usage) == 2
    # The stub's usageMetadata: 50 prompt tokens and a token per 4 characters of the answer.
    expected_output = sum(len(json.dumps(GOOD[lang], ensure_ascii=False)) // 4 for lang in ("fr", "en"))
    assert (report["ai_prompt_tokens"], report["ai_output_tokens"], report["ai_thinking_tokens"]) == (
        100,
        expected_output,
        0,
    )
    for user, reference in ((french, "Philippiens 4:6-7"), (english, "Philippians 4:6-7")):
        verse = DailyVerse.objects.select_related("verse").get(user=user).verse
        assert (verse.source, verse.reference, verse.ai_failure) == ("ai", reference, "")
        assert verse.text == passage_text(language=user.language, book=50, chapter=4, verse_start=6, verse_end=7)
        assert verse.reflection == GOOD[user.language]["reflection"]
    assert ai.request_count == 2


FAILURES = [
    (StubReply.rate_limited("1s"), "rate_limit", 1),  # GEMINI_RETRIES=0 here
    (StubReply.error(500, "Internal error"), "server_error", 1),
    (StubReply.error(503, "The model is overloaded"), "server_error", 1),
    (StubReply.html(502), "server_error", 1),
    (StubReply.json_text(GOOD["fr"], delay=4.0), "timeout", 1),
    (StubReply.broken(), "connection", 1),
    (StubReply.text("Voici un verset : Jean 3:16"), "bad_json", 2),
    (StubReply.finished("RECITATION"), "recitation", 2),
    (StubReply.finished("MAX_TOKENS"), "max_tokens", 2),
    (StubReply.finished("STOP"), "empty", 2),
    (StubReply.finished("SAFETY"), "safety", 1),
    (StubReply.no_candidates(block_reason="SAFETY"), "blocked_prompt", 1),
    (
        StubReply.json_text({**GOOD["fr"], "book": "JUD", "chapter": 2, "verse_start": 1, "verse_end": 1}),
        "unknown_reference",
        1,
    ),
    (StubReply.json_text({**GOOD["fr"], "verse_start": 1, "verse_end": 7}), "too_long", 1),
    (StubReply.json_text({**GOOD["fr"], "opening_words": "Au commencement Dieu créa les cieux"}), "text_mismatch", 1),
    (StubReply.json_text({**GOOD["fr"], "reflection": "Courage."}), "reflection_length", 1),
    (StubReply.json_text({**GOOD["fr"], "reflection": GOOD["en"]["reflection"]}), "wrong_language", 1),
]


@pytest.mark.parametrize(
    ("reply", "kind", "fr_calls"),
    FAILURES,
    ids=[
        "429",
        "500",
        "503",
        "html-502",
        "timeout",
        "broken-body",
        "non-json",
        "recitation",
        "max-tokens",
        "stop-without-parts",
        "safety",
        "blocked-prompt",
        "jude-2-1",
        "seven-verses",
        "other-verse-words",
        "short-reflection",
        "english-reflection-for-french",
    ],
)
def test_a_failure_falls_back_for_that_pair_only_and_is_counted_by_kind(ai, reply, kind, fr_calls):
    french = UserFactory(mood="sad", language="fr")
    english = UserFactory(mood="sad", language="en")
    ai.respond(lambda body: reply if language_of(body) == "fr" else StubReply.json_text(GOOD["en"]))

    report = daily_run(day=DAY)

    assert kind in FAILURE_KINDS or kind in REJECTION_KINDS  # docs/architecture.md's table lists them all
    assert report["ai_failures"] == {kind: 1}
    assert (report["ai_calls"], report["fallbacks"], report["verses_created"]) == (1 + fr_calls, 1, 2)
    fallback = DailyVerse.objects.select_related("verse").get(user=french).verse
    assert (fallback.source, fallback.ai_failure) == ("fallback", kind)
    assert fallback.text in {verse.text_fr for verse in curated_pool("sad")}
    assert DailyVerse.objects.select_related("verse").get(user=english).verse.source == "ai"


def test_5000_users_over_8_moods_and_2_languages_cost_16_ai_calls_and_a_rerun_none(ai):
    users = User.objects.bulk_create(
        [User(email=f"u{n}@example.org", mood=MOODS[n % 8], language="fr" if n % 3 else "en") for n in range(5000)]
    )
    devices_bulk_create(users)

    report = daily_run(day=DAY)

    assert ai.request_count == 16
    assert {mood_of(call.body) for call in ai.calls} == set(MOODS)
    assert (report["pairs"], report["ai_calls"], report["users_processed"], report["verses_created"]) == (
        16,
        16,
        5000,
        5000,
    )
    assert DailyVerse.objects.filter(day=DAY).count() == 5000

    rerun = daily_run(day=DAY)
    cache.delete_many([f"verse:{DAY.isoformat()}:{m}:{lang}" for m in MOODS for lang in ("fr", "en")])
    without_cache = daily_run(day=DAY)
    assert ai.request_count == 16
    assert (rerun["ai_calls"], rerun["cache_hits"], rerun["verses_created"]) == (0, 16, 0)
    assert (without_cache["ai_calls"], without_cache["verses_created"]) == (0, 0)


def test_opening_words_of_the_neighbouring_verse_are_rejected(ai, lsg):
    # WEB Psalm 34:19 is Louis Segond's Psaumes 34:20: quoting it at 34:19 is a versification slip.
    slip = {
        "book": "PSA",
        "chapter": 34,
        "verse_start": 19,
        "verse_end": 19,
        "opening_words": "Le malheur atteint souvent le juste",
        "reflection": "Même dans l'épreuve, Dieu te garde et te délivre : confie-lui ta journée.",
    }
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
    ai.respond(
        lambda body: (
            StubReply.json_text(GOOD[language_of(body)]) if mood_of(body) in MOODS[:4] else StubReply.error(503)
        )
    )
    for mood in MOODS:
        for language in ("fr", "en"):
            UserFactory(mood=mood, language=language)

    daily_run(day=DAY)

    verses = list(VerseOfTheDay.objects.all())
    assert {v.source for v in verses} == {"ai", "fallback"} and len(verses) == 16
    for verse in verses:
        edition_text = passage_text(
            language=verse.language,
            book=verse.book,
            chapter=verse.chapter,
            verse_start=verse.verse_start,
            verse_end=verse.verse_end,
        )
        assert verse.text == edition_text, verse.reference
    for daily in DailyVerse.objects.select_related("user", "verse"):
        assert daily.verse.language == daily.user.language and daily.verse.mood == daily.user.mood


def _two_moods_two_languages() -> None:
    for mood in ("sad", "joyful"):
        for language in ("fr", "en"):
            UserFactory(mood=mood, language=language)


def test_a_30s_retry_delay_is_honoured_for_every_pair_of_the_run(ai, settings, fake_clock):
    settings.GEMINI_RETRIES = 2
    seen_at: list[float] = []

    def responder(body):
        seen_at.append(fake_clock())
        return StubReply.rate_limited("30s") if len(seen_at) <= 3 else good_answer(body)

    ai.respond(responder)
    _two_moods_two_languages()

    # The service itself (the job's AI phase), to hand it a clock: no test waits 30 s for real.
    report, _chunks = daily_verses_prepare(
        day=DAY, ai_run=AIRun(budget_seconds=120, clock=fake_clock, sleep=fake_clock.sleep)
    )

    assert (report["ai_failures"], report["fallbacks"], report["ai_calls"]) == ({}, 0, 7)
    # The run's first call goes alone and meets the 429; the 3 others wait for its 30 s, too.
    assert seen_at[0] == 1000.0
    assert all(at >= 1030.0 for at in seen_at[1:])
    assert sum(fake_clock.sleeps) >= 30.0
    assert VerseOfTheDay.objects.filter(source="ai").count() == 4


def test_a_retry_delay_beyond_the_budget_falls_back_at_once(ai, settings, fake_clock):
    settings.GEMINI_RETRIES = 2
    ai.respond(lambda body: StubReply.rate_limited("600s"))
    _two_moods_two_languages()

    # The service itself (the job's AI phase), to hand it a clock: no test waits 30 s for real.
    report, _chunks = daily_verses_prepare(
        day=DAY, ai_run=AIRun(budget_seconds=120, clock=fake_clock, sleep=fake_clock.sleep)
    )

    assert (report["ai_calls"], report["ai_failures"], report["fallbacks"]) == (1, {"rate_limit": 4}, 4)
    assert ai.request_count == 1 and fake_clock.sleeps == []


def test_a_daily_quota_429_costs_one_call_then_every_pair_falls_back(ai, settings):
    settings.GEMINI_RETRIES = 2
    ai.respond(lambda body: StubReply.rate_limited("3600s", daily=True))
    _two_moods_two_languages()

    report = daily_run(day=DAY)

    assert ai.request_count == 1
    assert (report["ai_calls"], report["ai_failures"], report["fallbacks"], report["verses_created"]) == (
        1,
        {"quota_exhausted": 4},
        4,
        4,
    )
    assert set(VerseOfTheDay.objects.values_list("source", "ai_failure")) == {("fallback", "quota_exhausted")}


@pytest.mark.parametrize(
    ("stub_key", "model", "kind"),
    [
        ("another-key", None, "auth"),
        (None, "gemini-2.5-flash", "model_not_found"),
    ],
    ids=["wrong-key", "retired-model"],
)
def test_a_misconfigured_ai_is_skipped_without_a_single_generate_call(ai, settings, stub_key, model, kind):
    ai.api_key = stub_key
    if model:
        settings.GEMINI_MODEL = model
    _two_moods_two_languages()

    report = daily_run(day=DAY)

    assert ai.request_count == 0 and len(ai.probes) == 1
    assert (report["ai_calls"], report["ai_failures"], report["fallbacks"]) == (0, {kind: 4}, 4)
    assert set(VerseOfTheDay.objects.values_list("ai_failure", flat=True)) == {kind}


def test_an_empty_answer_is_asked_again_and_the_second_answer_used(ai):
    ai.enqueue(StubReply.finished("STOP"))
    UserFactory(mood="sad", language="fr")

    report = daily_run(day=DAY)

    assert (report["ai_calls"], report["ai_failures"], report["fallbacks"]) == (2, {}, 0)
    assert VerseOfTheDay.objects.get().source == "ai"


def test_over_real_http_a_2s_retry_delay_spaces_the_runs_calls(ai, settings):
    settings.GEMINI_RETRIES = 2
    answers = iter([StubReply.rate_limited("2s")])
    ai.respond(lambda body: next(answers, None) or good_answer(body))
    _two_moods_two_languages()

    report = daily_run(day=DAY)

    first, *others = ai.call_times
    assert len(others) == 4  # the 429'd pair again, then the 3 others
    assert all(at - first >= 2.0 for at in others)  # none went out during the delay
    assert (report["ai_calls"], report["ai_failures"], report["fallbacks"], report["verses_created"]) == (5, {}, 0, 4)


def test_a_job_that_meets_another_asking_the_ai_for_the_day_waits_and_asks_nothing_twice(ai, monkeypatch):
    """At 06:00 in Lomé the daily run and the push tick both need Lomé's pairs: one asks the AI."""
    from collections import Counter

    from verses.generation import lease as ai_phase_lease
    from verses.generation.pairs import pair_verses_ensure

    UserFactory(mood="anxious", language="fr")
    UserFactory(mood="anxious", language="en")
    lease = f"verses:ai-phase:{DAY.isoformat()}"
    assert cache.add(lease, "the push tick's worker", timeout=60)  # the tick is asking the AI
    other = Counter(ai_calls=0, fallbacks=0, cache_hits=0)
    other["ai_failures"] = Counter()
    waits = []

    def the_tick_finishes_meanwhile():
        waits.append(1)
        if len(waits) == 1:
            cache.delete(lease)
            pair_verses_ensure(day=DAY, pairs=[("anxious", "fr"), ("anxious", "en")], report=other)

    monkeypatch.setattr(ai_phase_lease, "_ai_phase_wait", the_tick_finishes_meanwhile)
    counts, _ = daily_verses_prepare(day=DAY)

    assert waits == [1]
    assert (other["ai_calls"], counts["ai_calls"], ai.request_count) == (2, 0, 2)
    assert VerseOfTheDay.objects.filter(day=DAY, source="ai").count() == 2
    assert cache.get(lease) is None  # released
