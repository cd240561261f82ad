"""Editorial control through a real `manage.py qcluster` (with the Gemini and FCM stand-ins): the
evening preparation of a planned day asks the AI for the unplanned pairs only, a held pair's push
waits for its approval, then goes once."""

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from scheduler.models import JobRun
from scheduler.services import job_run_enqueue
from scheduler.tests.clusters import cluster_start, cluster_stop, wait_until
from soulverse.testing.fcm_stub import FcmStub
from soulverse.testing.gemini_stub import GeminiStub, good_answer, request_language
from users.tests.factories import UserFactory, token_key_for
from verses.bible.editions import passage_text
from verses.bible.importer import bible_import
from verses.models import Delivery, VerseOfTheDay
from verses.tests.shared_data import LSG_PATH

pytestmark = [pytest.mark.cluster, pytest.mark.django_db(transaction=True)]


def client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_key_for(user)}")
    return client


def run_in_cluster(job_id: str, **params) -> JobRun:
    run, created = job_run_enqueue(job_id=job_id, trigger=JobRun.Trigger.MANUAL, params=params)
    assert created
    wait_until(lambda: JobRun.objects.get(pk=run.pk).status != JobRun.Status.RUNNING, 90, f"the {job_id} run")
    run.refresh_from_db()
    assert run.status == JobRun.Status.SUCCEEDED, run.error
    return run


def test_a_planned_day_in_a_real_cluster_held_pushes_go_once_approved(tmp_path, settings, staff_client):
    if not LSG_PATH.exists():
        pytest.skip(f"{LSG_PATH} is not available")
    bible_import(path=LSG_PATH)
    settings.VERSES_REQUIRE_APPROVAL = True  # this process's health check; the cluster's below
    french = [UserFactory(mood=mood, language="fr") for mood in ("sad", "", "grateful")]
    english = [UserFactory(mood=mood, language="en") for mood in ("sad", "joyful")]
    today = timezone.localdate()

    plan = {"day": today.isoformat(), "language": "fr", "reference": "Jean 3:16"}
    assert staff_client.post("/api/v1/scheduler/verse-plans", plan, format="json").status_code == 201

    log = open(tmp_path / "qcluster.log", "ab")
    with GeminiStub() as gemini, FcmStub() as fcm:
        gemini.respond(good_answer)
        cluster = cluster_start(
            log,
            TEST_GEMINI_BASE_URL=gemini.base_url,
            TEST_FCM_BASE_URL=fcm.base_url,
            TEST_FCM_CREDENTIALS_FILE=str(fcm.credentials_file(tmp_path)),
            VERSES_REQUIRE_APPROVAL="true",
            GEMINI_RETRIES="0",
            VERSES_BATCH_PAUSE_SECONDS="0",
        )
        try:
            # The day's 18 pairs, prepared by a worker: the AI asked for the English ones only.
            counts = run_in_cluster("daily_verses_review", day=today.isoformat()).counts
            assert (counts["pairs"], counts["ai_calls"]) == (18, 9)
            assert sorted(request_language(body) for body in gemini.requests) == ["en"] * 9
            assert {v.source for v in VerseOfTheDay.objects.filter(day=today, language="fr")} == {"plan"}

            # A tick: the planned (approved) French pairs go; the AI's English ones wait for review.
            tick = run_in_cluster("deliver_verses", at=timezone.now().isoformat()).counts
            assert (tick["push_due"], tick["push_sent"]) == (3, 3)
            assert {token: message["data"]["reference"] for token, message in fcm.delivered} == {
                user.fcm_token: "Jean 3:16" for user in french
            }
            health = staff_client.get("/api/v1/scheduler/health").json()
            assert health["checks"]["editorial"] == {"status": "held", "approval_required": True, "held": 2}
            text = passage_text(language="fr", book=43, chapter=3, verse_start=16, verse_end=16)
            for user in french:
                today_verse = client_for(user).get("/api/v1/verses/today").json()
                assert (today_verse["source"], today_verse["reference"], today_verse["text"]) == (
                    "plan",
                    "Jean 3:16",
                    text,
                )
            assert run_in_cluster("deliver_verses", at=timezone.now().isoformat()).counts["push_sent"] == 0

            # Approved through the API: the next tick sends them, once.
            for verse in VerseOfTheDay.objects.filter(day=today, language="en", mood__in=["sad", "joyful"]):
                response = staff_client.post(
                    f"/api/v1/scheduler/verse-review/{verse.pk}/actions", {"action": "approve"}, format="json"
                )
                assert response.status_code == 200
            assert staff_client.get("/api/v1/scheduler/health").json()["checks"]["editorial"]["held"] == 0
            assert run_in_cluster("deliver_verses", at=timezone.now().isoformat()).counts["push_sent"] == 2
            assert run_in_cluster("deliver_verses", at=timezone.now().isoformat()).counts["push_sent"] == 0
        finally:
            cluster_stop(cluster)
            log.close()
    assert fcm.delivered_tokens() == {user.fcm_token: 1 for user in [*french, *english]}
    assert set(Delivery.objects.filter(day=today).values_list("state", flat=True)) == {"sent"}
    assert len(gemini.requests) == 9  # nothing asked after the evening
