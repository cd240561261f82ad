import contextlib
import datetime
import threading
from unittest import mock

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone
from django.utils.module_loading import import_string
from django_q.conf import Conf
from django_q.models import Schedule

from scheduler.models import JobRun
from users.tests.factories import UserFactory
from verses.models import DailyVerse

BASE = "/api/v1/scheduler/"
STAFF_ENDPOINTS = [
    ("get", "status"),
    ("post", "start"),
    ("post", "stop"),
    ("post", "trigger-daily-verses"),
    ("get", "users-count"),
    ("get", "stats"),
    ("get", "runs"),
    ("get", "runs/00000000-0000-0000-0000-000000000000"),
]


def iso(value: str) -> datetime.datetime:
    parsed = datetime.datetime.fromisoformat(value)
    assert parsed.utcoffset() is not None, f"{value} has no offset"
    return parsed


@pytest.mark.parametrize(("method", "path"), STAFF_ENDPOINTS)
def test_anonymous_callers_get_401(client, db, method, path):
    response = getattr(client, method)(BASE + path)
    assert response.status_code == 401
    assert "detail" in response.json()


@pytest.mark.parametrize(("method", "path"), STAFF_ENDPOINTS)
def test_non_staff_callers_get_403_and_change_nothing(member_client, schedules, method, path):
    before = list(Schedule.objects.order_by("name").values_list("name", "repeats", "next_run"))
    response = getattr(member_client, method)(BASE + path)
    assert response.status_code == 403
    assert list(Schedule.objects.order_by("name").values_list("name", "repeats", "next_run")) == before
    assert JobRun.objects.count() == 0


def test_session_authentication_works_for_staff(client, staff_user, schedules):
    client.force_login(staff_user)
    assert client.get(BASE + "status").status_code == 200


def test_status_lists_the_six_jobs(staff_client, schedules):
    response = staff_client.get(BASE + "status")
    assert response.status_code == 200
    body = response.json()
    assert body["running"] is False  # no cluster in this test
    assert body["enabled"] is True
    assert body["jobs_count"] == 6
    assert body["timezone"] == "Africa/Lome"
    assert body["cluster"] == {"alive": False, "count": 0, "last_heartbeat": None}
    assert body["ai"] == {
        "enabled": False,
        "model": settings.GEMINI_MODEL,
        "base_url_overridden": False,
        "status": "disabled",
        "reason": None,
    }
    assert body["editions"]["fr"] == {
        "edition": "lsg1910",
        "name": "Louis Segond 1910",
        "verses": 0,
        "status": "missing",
    }
    assert body["push"] == {"enabled": False, "status": "disabled", "dry_run": False}
    iso(body["status_checked_at"])
    jobs = {job["id"]: job for job in body["jobs"]}
    assert [job["id"] for job in body["jobs"]] == [
        "daily_verses_generation",
        "cache_cleanup",
        "user_stats_update",
        "deliver_verses",
        "daily_verses_review",
        "deliver_campaigns",
    ]
    expected = {
        "daily_verses_generation": ("Génération versets quotidiens", "cron[hour=6, minute=0]", "0 6 * * *", 6),
        "cache_cleanup": ("Nettoyage cache", "cron[hour=2, minute=0]", "0 2 * * *", 2),
        "user_stats_update": ("Statistiques utilisateurs", "cron[hour=0, minute=0]", "0 0 * * *", 0),
    }
    now = timezone.now()
    for job_id, (name, trigger, cron, hour) in expected.items():
        job = jobs[job_id]
        assert (job["name"], job["trigger"], job["cron"], job["enabled"], job["last_run"]) == (
            name,
            trigger,
            cron,
            True,
            None,
        )
        next_run = iso(job["next_run"])
        # Africa/Lome is UTC+0 all year: the next run is at hour:00 UTC within a day.
        assert next_run.astimezone(datetime.UTC).hour == hour and next_run.minute == 0
        assert now < next_run <= now + datetime.timedelta(days=1)
    push = jobs["deliver_verses"]
    assert (push["name"], push["trigger"], push["cron"], push["enabled"], push["last_run"]) == (
        "Envoi des versets (push)",
        "cron[minute=*/15]",
        "*/15 * * * *",
        True,
        None,
    )
    next_run = iso(push["next_run"])
    assert next_run.minute % 15 == 0 and next_run.second == 0
    assert now < next_run <= now + datetime.timedelta(minutes=15)


def test_stop_then_start_pause_and_resume_without_touching_next_run(staff_client, schedules):
    before = dict(Schedule.objects.values_list("name", "next_run"))
    for _ in range(2):  # idempotent
        response = staff_client.post(BASE + "stop")
        assert response.status_code == 200
        body = response.json()
        assert (body["success"], body["message"], body["enabled"], body["running"]) == (
            True,
            "Planificateur arrêté",
            False,
            False,
        )
        assert [job["enabled"] for job in body["jobs"]] == [False] * 6
        assert Schedule.objects.filter(repeats=0).count() == 6
    assert dict(Schedule.objects.values_list("name", "next_run")) == before
    for _ in range(2):
        body = staff_client.post(BASE + "start").json()
        assert (body["success"], body["message"], body["enabled"]) == (True, "Planificateur démarré", True)
        assert Schedule.objects.filter(repeats=-1).count() == 6
    assert dict(Schedule.objects.values_list("name", "next_run")) == before


def test_health_is_public_but_tells_anonymous_callers_the_status_only(client, viewer_client, schedules):
    """Finding 11: the public answer disclosed the model, the cluster count and the database error."""
    response = client.get(BASE + "health")
    # No cluster runs in this test: down.
    assert (response.status_code, response.json()) == (503, {"status": "down"})
    response = viewer_client.get(BASE + "health")
    body = response.json()
    assert response.status_code == 503
    assert body["status"] == "down"
    assert body["checks"]["database"] == {"status": "ok"}
    assert body["checks"]["cache"]["status"] == "ok"
    assert body["checks"]["cluster"]["status"] == "down"
    assert body["checks"]["scheduler"] == {"status": "enabled"}
    assert body["checks"]["ai"] == {"status": "disabled", "model": settings.GEMINI_MODEL, "reason": None}
    assert body["checks"]["editions"]["status"] == "ok"  # the AI is off: the curated French serves
    assert body["checks"]["daily_verses"] == {"status": "never", "last_success_at": None, "age_seconds": None}
    assert body["checks"]["push"] == {"status": "disabled", "dry_run": False, "last_tick": None}
    assert "SECRET" not in response.content.decode().upper()


@contextlib.contextmanager
def cache_down():
    """The cache's server unreachable, for the health check's probe (a PING on Redis, a read otherwise)."""
    from django.core.cache import caches

    cache = caches["default"]
    if hasattr(cache, "client") and hasattr(cache.client, "get_client"):
        broken = mock.Mock(**{"ping.side_effect": ConnectionError("refused")})
        with mock.patch.object(cache.client, "get_client", return_value=broken):
            yield
    else:
        with mock.patch.object(cache, "get", side_effect=ConnectionError("refused")):
            yield


def test_health_is_200_with_a_live_cluster_and_degraded_without_cache(client, viewer_client, schedules):
    heartbeat = mock.Mock(status="Idle", timestamp=timezone.now())
    with mock.patch("scheduler.selectors.Stat.get_all", return_value=[heartbeat]):
        response = client.get(BASE + "health")
        assert (response.status_code, response.json()) == (200, {"status": "ok"})
        with cache_down():
            response = client.get(BASE + "health")
            assert (response.status_code, response.json()) == (200, {"status": "degraded"})
            response = viewer_client.get(BASE + "health")
        assert (response.status_code, response.json()["status"]) == (200, "degraded")
        assert response.json()["checks"]["cache"]["status"] == "degraded"
        # A stale daily run makes the service down.
        run = JobRun.objects.create(job_id="daily_verses_generation", trigger="schedule", status="succeeded")
        JobRun.objects.filter(pk=run.pk).update(finished_at=timezone.now() - datetime.timedelta(hours=30))
        response = viewer_client.get(BASE + "health")
        assert response.status_code == 503
        assert response.json()["checks"]["daily_verses"]["status"] == "stale"


def test_trigger_daily_verses_runs_the_job_and_reports_counts(
    staff_client, schedules, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(Conf, "SYNC", True)
    UserFactory.create_batch(4)
    UserFactory(fcm_token="")  # not active
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(BASE + "trigger-daily-verses", {"wait": 0}, format="json")
    # The task ran when the request's transaction committed: poll the run.
    run = JobRun.objects.get()
    body = response.json()
    assert response.status_code == 202
    assert body["run_id"] == str(run.pk)
    assert body["status_url"].endswith(f"{BASE}runs/{run.pk}")
    detail = staff_client.get(body["status_url"]).json()
    assert (detail["status"], detail["trigger"], detail["job_id"]) == ("succeeded", "manual", "daily_verses_generation")
    assert detail["counts"]["users_processed"] == 4
    assert detail["counts"]["verses_created"] == 4
    assert DailyVerse.objects.count() == 4


def test_trigger_answers_200_with_counts_when_the_run_finishes_in_time(staff_client, schedules, sync_tasks):
    UserFactory.create_batch(3)
    response = staff_client.post(BASE + "trigger-daily-verses")
    body = response.json()
    assert response.status_code == 200
    assert body["success"] is True
    assert body["message"] == "Génération manuelle terminée avec succès"
    iso(body["triggered_at"])
    assert body["already_running"] is False
    assert (body["users_processed"], body["verses_created"], body["pairs"], body["fallbacks"]) == (3, 3, 1, 1)
    assert body["run"]["status"] == "succeeded"


def test_trigger_during_a_run_returns_that_run_and_starts_nothing(staff_client, schedules, monkeypatch):
    running = JobRun.objects.create(job_id="daily_verses_generation", trigger="schedule")
    enqueued = []
    monkeypatch.setattr("scheduler.services.async_task", lambda *a, **k: enqueued.append(a))
    response = staff_client.post(BASE + "trigger-daily-verses", {"wait": 0}, format="json")
    body = response.json()
    assert response.status_code == 202
    assert (body["already_running"], body["run_id"], body["message"]) == (
        True,
        str(running.pk),
        "Une génération est déjà en cours",
    )
    assert JobRun.objects.count() == 1 and enqueued == []


@pytest.mark.parametrize("payload", [{"wait": "abc"}, {"wait": -1}, {"wait": 100000}])
def test_trigger_rejects_bad_input_naming_the_field(staff_client, schedules, payload):
    response = staff_client.post(BASE + "trigger-daily-verses", payload, format="json")
    assert response.status_code == 400
    assert "wait" in response.json()
    assert JobRun.objects.count() == 0


def test_trigger_rejects_malformed_json(staff_client, schedules):
    response = staff_client.post(BASE + "trigger-daily-verses", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert JobRun.objects.count() == 0


@pytest.mark.parametrize("run_id", ["not-a-uuid", "00000000-0000-0000-0000-000000000000"])
def test_unknown_run_is_404_naming_the_field(staff_client, run_id):
    response = staff_client.get(BASE + f"runs/{run_id}")
    assert response.status_code == 404
    assert "run_id" in response.json()["detail"]


def test_runs_lists_the_history_newest_first_and_filters_by_job(staff_client):
    now = timezone.now()
    for n, job_id in enumerate(["cache_cleanup", "daily_verses_generation"] * 12):
        run = JobRun.objects.create(job_id=job_id, trigger="schedule", status="succeeded", finished_at=now)
        JobRun.objects.filter(pk=run.pk).update(started_at=now - datetime.timedelta(hours=n))
    body = staff_client.get(BASE + "runs").json()
    assert body["count"] == 24 and len(body["results"]) == 20 and body["next"].endswith("runs?page=2")
    started = [iso(run["started_at"]) for run in body["results"]]
    assert started == sorted(started, reverse=True)
    daily = staff_client.get(BASE + "runs", {"job_id": "daily_verses_generation"}).json()
    assert daily["count"] == 12 and {run["job_id"] for run in daily["results"]} == {"daily_verses_generation"}
    assert staff_client.get(BASE + "runs", {"page": 3}).status_code == 404


@pytest.mark.parametrize("job_id", ["nope", "", "DAILY_VERSES_GENERATION", "daily_verses_generation "])
def test_runs_of_an_unknown_job_id_is_400_naming_the_field(staff_client, job_id):
    JobRun.objects.create(job_id="cache_cleanup", trigger="schedule")
    response = staff_client.get(BASE + "runs", {"job_id": job_id})
    assert response.status_code == 400
    assert list(response.json()) == ["job_id"]
    assert JobRun.objects.count() == 1


def test_users_count(staff_client):
    UserFactory.create_batch(3, mood="sad", language="fr")
    UserFactory.create_batch(2, mood="joyful", language="en")
    UserFactory(mood="", language="fr")
    UserFactory(fcm_token="")  # no token: not active
    UserFactory(is_active=False)
    body = staff_client.get(BASE + "users-count").json()
    assert body["active_users"] == 6
    assert body["total_users"] == 9  # the staff account included
    assert body["by_mood"] == {
        "joyful": 2,
        "sad": 3,
        "anxious": 0,
        "grateful": 0,
        "lonely": 0,
        "stressed": 0,
        "angry": 0,
        "hopeful": 0,
        "none": 1,
    }
    assert body["by_language"] == {"fr": 4, "en": 2}
    iso(body["checked_at"])


def test_an_oversize_body_is_refused_with_json_and_changes_nothing(staff_client, schedules):
    body = '{"wait": 1, "padding": "' + "a" * 100_000 + '"}'
    response = staff_client.post(BASE + "trigger-daily-verses", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {"detail": "Corps de requête trop volumineux."}
    assert JobRun.objects.count() == 0


def test_health_one_paused_job_degrades_all_paused_is_down(client, viewer_client, staff_client, schedules):
    heartbeat = mock.Mock(status="Idle", timestamp=timezone.now())
    with mock.patch("scheduler.selectors.Stat.get_all", return_value=[heartbeat]):
        assert staff_client.patch(BASE + "jobs/cache_cleanup", {"enabled": False}, format="json").status_code == 200
        response = viewer_client.get(BASE + "health")
        assert (response.status_code, response.json()["status"]) == (200, "degraded")
        assert response.json()["checks"]["scheduler"] == {"status": "partial"}
        assert staff_client.post(BASE + "stop").status_code == 200
        response = viewer_client.get(BASE + "health")
        assert (response.status_code, response.json()["status"]) == (503, "down")
        assert response.json()["checks"]["scheduler"] == {"status": "disabled"}


def test_health_counts_a_scheduler_without_its_schedules_as_disabled(viewer_client):
    body = viewer_client.get(BASE + "health").json()  # setup_schedules never ran
    assert body["checks"]["scheduler"] == {"status": "disabled"}


@pytest.mark.django_db(transaction=True)
def test_trigger_of_a_run_that_fails_within_the_wait_is_a_500_with_the_run(staff_client, schedules, monkeypatch):
    def failing_job(*args, **kwargs):
        raise RuntimeError("Gemini quota exhausted")

    threads = []

    def worker(func, *args, group=None, **kwargs):
        """The cluster's part: the enqueued task runs in another thread, on its own connection."""

        def work():
            try:
                import_string(func)(*args, **kwargs)
            except RuntimeError:
                pass  # re-raised for django-q's Failure row, after the run is recorded as failed
            finally:
                connection.close()

        threads.append(threading.Thread(target=work))
        threads[-1].start()

    monkeypatch.setattr("verses.jobs.daily_verses_generation", failing_job)
    monkeypatch.setattr("scheduler.services.async_task", worker)
    UserFactory.create_batch(2)
    response = staff_client.post(BASE + "trigger-daily-verses", {"wait": 30}, format="json")
    threads[0].join(timeout=30)
    run = JobRun.objects.get()
    body = response.json()
    assert response.status_code == 500
    assert (body["success"], body["message"], body["already_running"], body["run_id"]) == (
        False,
        "La génération manuelle a échoué",
        False,
        str(run.pk),
    )
    assert body["run"] == {
        "id": str(run.pk),
        "job_id": "daily_verses_generation",
        "trigger": "manual",
        "status": "failed",
        "started_at": run.started_at.astimezone(datetime.UTC).isoformat(),
        "finished_at": run.finished_at.astimezone(datetime.UTC).isoformat(),
        "duration_seconds": run.duration_seconds,
        "counts": {},
        "error": "RuntimeError: Gemini quota exhausted",
    }
    assert set(body) == {"success", "message", "triggered_at", "already_running", "run_id", "run"}
    assert DailyVerse.objects.count() == 0
