"""Finding 1: `verses/today` asked the AI inside the request. Now a request never waits on the AI:
the pair's curated fallback is served at once (a provisional verse, kept by those users for the
day) and one worker task per (day, mood, language) asks the AI."""

import pytest
from django_q.models import OrmQ
from django_q.signing import SignedPackage
from rest_framework.test import APIClient

from soulverse.testing.gemini_stub import good_answer
from users.tests.factories import UserFactory, token_key_for
from verses import jobs
from verses.ai.gemini import provider_get
from verses.models import DailyVerse, VerseOfTheDay

pytestmark = pytest.mark.django_db
TODAY = "/api/v1/verses/today"


@pytest.fixture
def slow_ai(settings, gemini_stub):
    """The AI on, aimed at a stub that takes 3 s to answer (a request waiting on it would show)."""
    settings.GEMINI_API_KEY = "test-key-123"
    settings.GEMINI_BASE_URL = gemini_stub.base_url
    settings.GEMINI_TIMEOUT_SECONDS = 10
    settings.GEMINI_RETRIES = 0
    settings.VERSES_BATCH_PAUSE_SECONDS = 0
    provider_get.cache_clear()
    gemini_stub.respond(good_answer)
    gemini_stub.latency = 3
    yield gemini_stub
    provider_get.cache_clear()


def client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_key_for(user)}")
    return client


def queued_tasks() -> list[dict]:
    """The tasks waiting for a worker in the ORM broker's queue, unpacked as a worker would."""
    return [SignedPackage.loads(row.payload) for row in OrmQ.objects.order_by("id")]


def test_no_request_waits_on_the_ai_and_one_task_per_pair_asks_it(slow_ai, django_capture_on_commit_callbacks):
    early = [UserFactory(mood="anxious", language="fr") for _ in range(6)]
    with django_capture_on_commit_callbacks(execute=True):
        answers = [client_for(user).get(TODAY) for user in early]

    assert [a.status_code for a in answers] == [200] * 6
    assert slow_ai.request_count == 0  # nobody waited on the AI
    assert {a.json()["source"] for a in answers} == {"fallback"}
    assert len({a.content.split(b'"created_at"')[0] for a in answers}) == 1  # the same verse for the pair
    tasks = queued_tasks()
    assert [(t["func"], t["kwargs"]) for t in tasks] == [
        ("verses.jobs.verse_of_the_day_make", {"day": answers[0].json()["day"], "mood": "anxious", "language": "fr"})
    ]
    assert VerseOfTheDay.objects.count() == 0  # the pair's verse is still to be made (by the AI)
    provisional = VerseOfTheDay.all_objects.get()
    assert (provisional.provisional, provisional.source) == (True, "fallback")
    assert set(DailyVerse.objects.values_list("verse_id", flat=True)) == {provisional.pk}

    # A worker takes the task (as the cluster would call it): one AI call for the pair.
    report = getattr(jobs, tasks[0]["func"].rsplit(".", 1)[1])(**tasks[0]["kwargs"])
    assert slow_ai.request_count == 1
    assert (report["source"], report["ai_failure"]) == ("ai", "")
    pair = VerseOfTheDay.objects.get(mood="anxious", language="fr")
    assert pair.source == "ai"

    # Those who were shown the fallback keep it; a user asking now gets the AI's verse; no new task.
    later = UserFactory(mood="anxious", language="fr")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        again = [client_for(user).get(TODAY) for user in early]
        fresh = client_for(later).get(TODAY)
    assert [a.content for a in again] == [a.content for a in answers]
    assert (fresh.status_code, fresh.json()["source"], fresh.json()["reference"]) == (200, "ai", pair.reference)
    assert callbacks == [] and len(queued_tasks()) == 1
    assert slow_ai.request_count == 1


def test_a_rerun_of_the_task_or_the_morning_run_changes_no_users_verse(slow_ai, django_capture_on_commit_callbacks):
    from scheduler.tests.runs import daily_run

    user = UserFactory(mood="sad", language="en")
    with django_capture_on_commit_callbacks(execute=True):
        seen = client_for(user).get(TODAY)
    (task,) = queued_tasks()
    slow_ai.latency = 0
    jobs.verse_of_the_day_make(**task["kwargs"])
    jobs.verse_of_the_day_make(**task["kwargs"])  # redelivered: nothing more
    daily_run()
    assert slow_ai.request_count == 1
    assert client_for(user).get(TODAY).content == seen.content
    assert DailyVerse.objects.filter(user=user).count() == 1


def test_with_the_ai_off_the_fallback_is_the_pairs_verse_and_nothing_is_queued(
    no_ai, django_capture_on_commit_callbacks
):
    users = [UserFactory(mood="lonely", language="fr") for _ in range(2)]
    with django_capture_on_commit_callbacks(execute=True):
        bodies = [client_for(user).get(TODAY).json() for user in users]
    assert {b["source"] for b in bodies} == {"fallback"}
    verse = VerseOfTheDay.objects.get()
    assert (verse.provisional, verse.mood, verse.language) == (False, "lonely", "fr")
    assert VerseOfTheDay.all_objects.count() == 1
    assert OrmQ.objects.count() == 0
