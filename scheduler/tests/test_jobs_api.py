"""GET/PATCH /api/v1/scheduler/jobs[/{id}], POST jobs/{id}/run, the audit trail (API and admin)
and its `schedule.updated` webhook."""

import datetime

import pytest
from croniter import croniter
from django.utils import timezone
from django_q.models import Schedule

from scheduler.models import JobRun, ScheduleChange
from scheduler.services import schedules_setup
from soulverse.testing.webhook_receiver import WebhookReceiver

URL = "/api/v1/scheduler/jobs"
pytestmark = pytest.mark.django_db


def next_fire(cron: str) -> datetime.datetime:
    return croniter(cron, timezone.localtime()).get_next(datetime.datetime)


def test_list_and_get_show_each_job_with_its_schedule(staff_client, schedules):
    jobs = staff_client.get(URL).json()
    assert [(j["id"], j["cron"], j["enabled"], j["trigger"]) for j in jobs] == [
        ("daily_verses_generation", "0 6 * * *", True, "cron[hour=6, minute=0]"),
        ("cache_cleanup", "0 2 * * *", True, "cron[hour=2, minute=0]"),
        ("user_stats_update", "0 0 * * *", True, "cron[hour=0, minute=0]"),
        ("deliver_verses", "*/15 * * * *", True, "cron[minute=*/15]"),
        ("daily_verses_review", "0 18 * * *", True, "cron[hour=18, minute=0]"),
        ("deliver_campaigns", "*/15 * * * *", True, "cron[minute=*/15]"),
    ]
    one = staff_client.get(f"{URL}/cache_cleanup").json()
    assert one == jobs[1]
    assert one["name"] == "Nettoyage cache" and one["last_run"] is None
    assert datetime.datetime.fromisoformat(one["next_run"].replace("Z", "+00:00")) == next_fire("0 2 * * *")


def test_patch_cron_recomputes_next_run_and_is_audited(staff_client, staff_user, schedules):
    response = staff_client.patch(f"{URL}/daily_verses_generation", {"cron": "30 5 * * 1-5"}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert (body["cron"], body["trigger"], body["enabled"]) == (
        "30 5 * * 1-5",
        "cron[day_of_week=1-5, hour=5, minute=30]",
        True,
    )
    schedule = Schedule.objects.get(name="daily_verses_generation")
    assert schedule.cron == "30 5 * * 1-5"
    assert schedule.next_run == next_fire("30 5 * * 1-5")
    assert datetime.datetime.fromisoformat(body["next_run"].replace("Z", "+00:00")) == schedule.next_run
    change = ScheduleChange.objects.get()
    assert (change.job_id, change.changed_by, change.source, change.before, change.after) == (
        "daily_verses_generation",
        staff_user,
        "api",
        {"cron": "0 6 * * *", "enabled": True},
        {"cron": "30 5 * * 1-5", "enabled": True},
    )
    changes = staff_client.get(f"{URL}/daily_verses_generation/changes").json()
    assert changes["count"] == 1
    assert changes["results"] == [
        {
            "id": change.pk,
            "job_id": "daily_verses_generation",
            "changed_by": "staff@example.org",
            "source": "api",
            "changed_at": changes["results"][0]["changed_at"],
            "before": {"cron": "0 6 * * *", "enabled": True},
            "after": {"cron": "30 5 * * 1-5", "enabled": True},
        }
    ]
    assert staff_client.get(f"{URL}/cache_cleanup/changes").json()["count"] == 0


def test_patch_enabled_pauses_and_resumes_one_job(staff_client, schedules):
    assert staff_client.patch(f"{URL}/cache_cleanup", {"enabled": False}, format="json").json()["enabled"] is False
    assert Schedule.objects.get(name="cache_cleanup").repeats == 0
    assert Schedule.objects.get(name="user_stats_update").repeats == -1
    assert staff_client.patch(f"{URL}/cache_cleanup", {"enabled": False}, format="json").status_code == 200
    assert staff_client.patch(f"{URL}/cache_cleanup", {}, format="json").json()["enabled"] is False
    assert ScheduleChange.objects.count() == 1  # the last two changed nothing: not recorded
    assert staff_client.patch(f"{URL}/cache_cleanup", {"enabled": True}, format="json").json()["enabled"] is True
    assert [(c.before["enabled"], c.after["enabled"]) for c in ScheduleChange.objects.order_by("pk")] == [
        (True, False),
        (False, True),
    ]


def trail() -> list[tuple]:
    return [(c.job_id, c.changed_by, c.source, c.before, c.after) for c in ScheduleChange.objects.order_by("pk")]


def test_start_audits_resuming_a_job_paused_through_patch(staff_client, staff_user, schedules):
    assert staff_client.patch(f"{URL}/cache_cleanup", {"enabled": False}, format="json").status_code == 200
    response = staff_client.post("/api/v1/scheduler/start")
    assert response.status_code == 200
    assert Schedule.objects.get(name="cache_cleanup").repeats == -1
    paused, resumed = {"cron": "0 2 * * *", "enabled": False}, {"cron": "0 2 * * *", "enabled": True}
    assert trail() == [
        ("cache_cleanup", staff_user, "api", resumed, paused),
        ("cache_cleanup", staff_user, "api", paused, resumed),
    ]
    changes = staff_client.get(f"{URL}/cache_cleanup/changes").json()
    assert [(c["changed_by"], c["source"], c["before"], c["after"]) for c in changes["results"]] == [
        ("staff@example.org", "api", paused, resumed),
        ("staff@example.org", "api", resumed, paused),
    ]
    # The other jobs were running: start changed nothing of theirs, and recorded nothing.
    assert staff_client.get(f"{URL}/daily_verses_generation/changes").json()["count"] == 0
    assert staff_client.post("/api/v1/scheduler/start").status_code == 200
    assert ScheduleChange.objects.count() == 2


def test_stop_and_start_audit_every_job_they_switch(staff_client, staff_user, schedules):
    crons = dict(Schedule.objects.values_list("name", "cron"))
    assert staff_client.post("/api/v1/scheduler/stop").status_code == 200
    stopped = [
        (job_id, staff_user, "api", {"cron": cron, "enabled": True}, {"cron": cron, "enabled": False})
        for job_id, cron in sorted(crons.items())
    ]
    assert trail() == stopped
    before = list(Schedule.objects.values())
    assert staff_client.post("/api/v1/scheduler/stop").status_code == 200  # already stopped
    assert (trail(), list(Schedule.objects.values())) == (stopped, before)
    assert staff_client.patch(f"{URL}/cache_cleanup", {"enabled": True}, format="json").status_code == 200
    assert staff_client.post("/api/v1/scheduler/start").status_code == 200
    started = [
        (job_id, staff_user, "api", {"cron": cron, "enabled": False}, {"cron": cron, "enabled": True})
        for job_id, cron in sorted(crons.items())
        if job_id != "cache_cleanup"
    ]
    assert trail()[len(stopped) + 1 :] == started
    assert set(Schedule.objects.values_list("repeats", flat=True)) == {-1}


def test_stop_announces_each_job_paused(staff_client, staff_user, schedules, settings):
    from scheduler.tests.runs import tasks_in_process
    from webhooks.services import webhook_endpoint_create

    settings.WEBHOOKS_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1"]
    with WebhookReceiver() as receiver, tasks_in_process():
        receiver.secret = webhook_endpoint_create(
            url=receiver.url, events=["schedule.updated", "scheduler.stopped"]
        ).secret
        assert staff_client.patch(f"{URL}/cache_cleanup", {"enabled": False}, format="json").status_code == 200
        assert staff_client.post("/api/v1/scheduler/stop").status_code == 200
        got = receiver.wait_for(7)
    assert all(r.verified for r in got)
    assert [(r.payload["type"], r.payload["data"].get("job_id")) for r in got] == [
        ("schedule.updated", "cache_cleanup"),
        ("schedule.updated", "daily_verses_generation"),
        ("schedule.updated", "daily_verses_review"),
        ("schedule.updated", "deliver_campaigns"),
        ("schedule.updated", "deliver_verses"),
        ("schedule.updated", "user_stats_update"),
        ("scheduler.stopped", None),
    ]
    assert {(r.payload["data"].get("source"), r.payload["data"].get("changed_by")) for r in got[1:6]} == {
        ("api", str(staff_user.pk))
    }


def test_a_refused_stop_changes_and_records_nothing(viewer_client, member_client, client, schedules):
    before = list(Schedule.objects.values())
    assert client.post("/api/v1/scheduler/stop").status_code == 401
    assert member_client.post("/api/v1/scheduler/stop").status_code == 403
    assert viewer_client.post("/api/v1/scheduler/stop").status_code == 403
    assert (list(Schedule.objects.values()), ScheduleChange.objects.count()) == (before, 0)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"cron": "61 6 * * *"}, "cron"),
        ({"cron": "0 6 * *"}, "cron"),
        ({"cron": "0 6 * * * *"}, "cron"),
        ({"cron": "@daily"}, "cron"),
        ({"cron": "0 6 31 2 *"}, "cron"),
        ({"cron": 6}, "cron"),
        ({"cron": ""}, "cron"),
        ({"enabled": "false"}, "enabled"),
        ({"enabled": 0}, "enabled"),
        ({"cron": "0 7 * * *", "enabled": "no"}, "enabled"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_changes_nothing(staff_client, schedules, body, field):
    before = list(Schedule.objects.values())
    response = staff_client.patch(f"{URL}/daily_verses_generation", body, format="json")
    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert list(Schedule.objects.values()) == before
    assert ScheduleChange.objects.count() == 0


def test_unknown_job_is_a_404(staff_client, schedules):
    for response in (
        staff_client.get(f"{URL}/nope"),
        staff_client.patch(f"{URL}/nope", {"enabled": False}, format="json"),
        staff_client.post(f"{URL}/nope/run"),
        staff_client.get(f"{URL}/nope/changes"),
    ):
        assert response.status_code == 404
        assert response.json() == {"detail": "id : aucune tâche « nope »"}
    assert JobRun.objects.count() == 0


def test_only_operators(client, member_client, schedules):
    assert client.get(URL).status_code == 401
    assert member_client.get(URL).status_code == 403
    assert member_client.patch(f"{URL}/cache_cleanup", {"enabled": False}, format="json").status_code == 403
    assert member_client.post(f"{URL}/cache_cleanup/run").status_code == 403
    assert Schedule.objects.get(name="cache_cleanup").repeats == -1
    assert JobRun.objects.count() == 0


def test_run_hands_the_job_to_the_cluster(staff_client, schedules, sync_tasks):
    response = staff_client.post(f"{URL}/user_stats_update/run")
    assert response.status_code == 202
    body = response.json()
    run = JobRun.objects.get()
    assert (run.job_id, run.trigger, run.status) == ("user_stats_update", "manual", "succeeded")
    assert (body["run_id"], body["already_running"], body["message"]) == (str(run.pk), False, "Exécution lancée")
    assert body["status_url"].endswith(f"/api/v1/scheduler/runs/{run.pk}")


def test_run_while_running_starts_nothing(staff_client, schedules):
    running = JobRun.objects.create(job_id="cache_cleanup", trigger="schedule")
    body = staff_client.post(f"{URL}/cache_cleanup/run").json()
    assert (body["run_id"], body["already_running"], body["message"]) == (
        str(running.pk),
        True,
        "Une exécution est déjà en cours",
    )
    assert JobRun.objects.count() == 1


def test_a_changed_cron_survives_setup_schedules(staff_client, schedules):
    staff_client.patch(f"{URL}/user_stats_update", {"cron": "15 1 * * *"}, format="json")
    assert dict(schedules_setup())["user_stats_update"] == "unchanged"
    assert Schedule.objects.get(name="user_stats_update").cron == "15 1 * * *"
    assert Schedule.objects.get(name="cache_cleanup").cron == "0 2 * * *"


def test_schedule_updated_webhook(staff_client, staff_user, schedules, settings):
    from scheduler.tests.runs import tasks_in_process
    from webhooks.services import webhook_endpoint_create

    settings.WEBHOOKS_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1"]
    with WebhookReceiver() as receiver, tasks_in_process():
        receiver.secret = webhook_endpoint_create(url=receiver.url, events=["schedule.updated"]).secret
        staff_client.patch(f"{URL}/cache_cleanup", {"cron": "0 3 * * *", "enabled": False}, format="json")
        got = receiver.wait_for(1)
    change = ScheduleChange.objects.get()
    assert [(r.verified, r.payload["type"]) for r in got] == [(True, "schedule.updated")]
    assert got[0].payload["data"] == {
        "job_id": "cache_cleanup",
        "before": {"cron": "0 2 * * *", "enabled": True},
        "after": {"cron": "0 3 * * *", "enabled": False},
        "source": "api",
        "changed_by": str(staff_user.pk),
        "changed_at": change.changed_at.astimezone(datetime.UTC).isoformat(),
    }


def test_the_admin_records_its_changes_and_lists_the_trail(admin_client, schedules):
    schedule = Schedule.objects.get(name="cache_cleanup")
    page = admin_client.get(f"/admin/django_q/schedule/{schedule.pk}/change/")
    form = page.context["adminform"].form
    data = {name: form[name].value() if form[name].value() is not None else "" for name in form.fields}
    data.update({"cron": "0 4 * * *", "next_run_0": "2030-01-01", "next_run_1": "00:00:00"})
    response = admin_client.post(f"/admin/django_q/schedule/{schedule.pk}/change/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    change = ScheduleChange.objects.get()
    assert (change.source, change.before, change.after) == (
        "admin",
        {"cron": "0 2 * * *", "enabled": True},
        {"cron": "0 4 * * *", "enabled": True},
    )
    assert Schedule.objects.get(pk=schedule.pk).next_run == next_fire("0 4 * * *")
    trail = admin_client.get("/admin/scheduler/schedulechange/").content.decode()
    assert "cache_cleanup" in trail and "0 4 * * *" in trail


@pytest.mark.cluster
@pytest.mark.django_db(transaction=True)
def test_a_patch_through_the_api_changes_what_the_cluster_fires(tmp_path, staff_client, schedules):
    from scheduler.tests.clusters import qcluster_running, scheduler_pass, wait_until

    # The other schedules out of the way (the push tick fires every quarter hour).
    Schedule.objects.exclude(name__in=["cache_cleanup", "user_stats_update"]).update(
        next_run=timezone.now() + datetime.timedelta(days=1)
    )
    # Paused through the API while overdue: the cluster must not fire it.
    Schedule.objects.filter(name="cache_cleanup").update(next_run=timezone.now() - datetime.timedelta(minutes=5))
    assert staff_client.patch(f"{URL}/cache_cleanup", {"enabled": False}, format="json").status_code == 200
    with qcluster_running(tmp_path):
        scheduler_pass("probe-after-pause", tmp_path)
        assert JobRun.objects.count() == 0, "a paused schedule fired"
        # Every minute now: the cluster fires it at the next minute, as a scheduled run.
        response = staff_client.patch(f"{URL}/user_stats_update", {"cron": "* * * * *"}, format="json")
        assert response.status_code == 200
        due = Schedule.objects.get(name="user_stats_update").next_run
        assert due <= timezone.now() + datetime.timedelta(seconds=60)
        wait_until(
            lambda: JobRun.objects.filter(job_id="user_stats_update", status="succeeded").exists(),
            100,
            "the run of the changed schedule",
            tmp_path,
        )
    assert list(JobRun.objects.values_list("job_id", "trigger")) == [("user_stats_update", "schedule")]
    assert JobRun.objects.get().started_at >= due


def test_viewers_read_and_operators_change(viewer_client, schedules):
    assert viewer_client.get(URL).status_code == 200
    assert viewer_client.get(f"{URL}/cache_cleanup/changes").status_code == 200
    assert viewer_client.patch(f"{URL}/cache_cleanup", {"enabled": False}, format="json").status_code == 403
    assert viewer_client.post(f"{URL}/cache_cleanup/run").status_code == 403
    assert Schedule.objects.get(name="cache_cleanup").repeats == -1
    assert (JobRun.objects.count(), ScheduleChange.objects.count()) == (0, 0)
