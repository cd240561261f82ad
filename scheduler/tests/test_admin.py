import datetime
import uuid

import pytest
from django.utils import timezone
from django_q.models import Schedule, Task

from scheduler.models import JobRun
from scheduler.tests.runs import daily_run
from users.tests.factories import UserFactory
from verses.models import DailyVerse

CHANGELISTS = [
    "/admin/django_q/schedule/",
    "/admin/scheduler/jobrun/",
    "/admin/django_q/success/",
    "/admin/django_q/failure/",
    "/admin/verses/dailyverserecord/",
]


@pytest.fixture
def daily_schedule(schedules):
    return Schedule.objects.get(name="daily_verses_generation")


@pytest.fixture
def enqueued(monkeypatch):
    """Record the django-q tasks handed to the cluster instead of queueing them."""
    calls = []
    monkeypatch.setattr("scheduler.services.async_task", lambda *args, **kwargs: calls.append((args, kwargs)))
    return calls


def change_url(schedule: Schedule) -> str:
    return f"/admin/django_q/schedule/{schedule.pk}/change/"


def form_data(response) -> dict:
    """The POST body the browser would send for the admin change form in `response`."""
    data = {}
    for bound in response.context["adminform"].form:
        widget = bound.field.widget.get_context(bound.html_name, bound.value(), {})["widget"]
        for sub in widget.get("subwidgets", [widget]):  # a split date/time posts two fields
            value = sub["value"]
            if isinstance(value, list):  # <select>
                value = value[0] if value else ""
            data[sub["name"]] = "" if value is None else value
    return data


def schedule_state(schedule: Schedule) -> tuple:
    return Schedule.objects.filter(pk=schedule.pk).values_list("cron", "next_run", "repeats").get()


def next_local(now: datetime.datetime, hour: int, minute: int) -> datetime.datetime:
    """The first hour:minute in the current (scheduler) timezone strictly after `now`."""
    local = timezone.localtime(now)
    candidate = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    return candidate if candidate > local else candidate + datetime.timedelta(days=1)


def test_admin_pages_need_a_staff_login(client, schedules):
    response = client.get("/admin/django_q/schedule/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


@pytest.mark.parametrize("url", CHANGELISTS)
def test_changelists_load_with_rows(admin_client, superuser, schedules, url):
    # One row of each kind, so that every list_display column is rendered.
    UserFactory(email="member@example.org")
    daily_run()  # a daily run (its tasks' results are replaced by the two below)
    Task.objects.all().delete()
    now = timezone.now()
    success = Task.objects.create(
        id=uuid.uuid4().hex,
        name="alpha-bravo",
        func="scheduler.tasks.job_run",
        started=now,
        stopped=now,
        success=True,
        result={"ok": True},
    )
    Task.objects.create(
        id=uuid.uuid4().hex,
        name="charlie-delta",
        func="scheduler.tasks.job_run",
        started=now,
        stopped=now,
        success=False,
        result="RuntimeError: boom",
    )
    Schedule.objects.filter(name="daily_verses_generation").update(task=success.id)  # "last run" link
    JobRun.objects.create(job_id="cache_cleanup", trigger="manual", status="succeeded", finished_at=now)
    assert DailyVerse.objects.count() == 1

    response = admin_client.get(url)

    assert response.status_code == 200
    assert (
        response.context["cl"].result_count
        == {
            "/admin/django_q/schedule/": 6,
            "/admin/scheduler/jobrun/": 2,
            "/admin/django_q/success/": 1,
            "/admin/django_q/failure/": 1,
            "/admin/verses/dailyverserecord/": 1,
        }[url]
    )
    if url == "/admin/django_q/schedule/":
        assert f"/admin/django_q/success/{success.id}/change/" in response.content.decode()


def test_jobrun_detail_is_read_only(admin_client):
    run = JobRun.objects.create(
        job_id="cache_cleanup",
        trigger="manual",
        status="succeeded",
        finished_at=timezone.now(),
        counts={"sessions_deleted": 2},
    )
    response = admin_client.get(f"/admin/scheduler/jobrun/{run.pk}/change/")
    assert response.status_code == 200
    assert response.context["has_change_permission"] is False
    assert admin_client.get("/admin/scheduler/jobrun/add/").status_code == 403


def test_editing_the_cron_saves_it_and_recomputes_next_run(admin_client, daily_schedule):
    response = admin_client.get(change_url(daily_schedule))
    assert response.status_code == 200
    data = form_data(response)
    assert set(data) == {"cron", "enabled"}  # the only editable fields
    assert (data["cron"], response.context["adminform"].form["enabled"].value()) == ("0 6 * * *", True)
    data["enabled"] = "on"  # a checked box (form_data reads a checkbox's value as "")
    old_next_run = daily_schedule.next_run

    before = timezone.now()
    response = admin_client.post(change_url(daily_schedule), {**data, "cron": "30 7 * * *"})
    after = timezone.now()

    assert response.status_code == 302, response.context["adminform"].form.errors
    assert response["Location"] == "/admin/django_q/schedule/"
    daily_schedule.refresh_from_db()
    assert daily_schedule.cron == "30 7 * * *"
    assert daily_schedule.repeats == -1
    assert (daily_schedule.func, daily_schedule.args, daily_schedule.kwargs) == (
        "scheduler.tasks.job_run",
        "'daily_verses_generation'",
        "trigger='schedule'",
    )
    # Africa/Lome is UTC+0 all year: the next 07:30 there is 07:30 UTC.
    assert daily_schedule.next_run in {next_local(before, 7, 30), next_local(after, 7, 30)}
    assert daily_schedule.next_run.astimezone(datetime.UTC).timetz() == datetime.time(7, 30, tzinfo=datetime.UTC)
    assert before < daily_schedule.next_run <= after + datetime.timedelta(days=1)
    assert daily_schedule.next_run != old_next_run
    # The other schedules are untouched.
    assert dict(Schedule.objects.values_list("name", "cron")) == {
        "daily_verses_generation": "30 7 * * *",
        "cache_cleanup": "0 2 * * *",
        "user_stats_update": "0 0 * * *",
        "deliver_verses": "*/15 * * * *",
        "daily_verses_review": "0 18 * * *",
        "deliver_campaigns": "*/15 * * * *",
    }


def test_next_run_follows_the_cron_even_when_the_posted_next_run_disagrees(admin_client, daily_schedule):
    data = form_data(admin_client.get(change_url(daily_schedule)))
    before = timezone.now()
    response = admin_client.post(
        change_url(daily_schedule), {**data, "cron": "15 4 * * *", "next_run_0": "2000-01-01", "next_run_1": "00:00:00"}
    )
    after = timezone.now()
    assert response.status_code == 302
    daily_schedule.refresh_from_db()
    assert daily_schedule.next_run in {next_local(before, 4, 15), next_local(after, 4, 15)}


@pytest.mark.parametrize("cron", ["61 25 * * *", "not a cron", "0 0 30 2 *"])  # the last never fires
def test_an_invalid_cron_is_rejected_and_changes_nothing(admin_client, daily_schedule, cron):
    before = schedule_state(daily_schedule)
    data = form_data(admin_client.get(change_url(daily_schedule)))

    response = admin_client.post(change_url(daily_schedule), {**data, "cron": cron})

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert list(form.errors) == ["cron"]
    assert len(form.errors["cron"]) == 1
    assert schedule_state(daily_schedule) == before
    assert Schedule.objects.count() == 6


def test_run_now_opens_one_manual_run_and_enqueues_one_task(
    admin_client, daily_schedule, enqueued, django_capture_on_commit_callbacks
):
    action = {"action": "run_now", "_selected_action": [str(daily_schedule.pk)], "index": "0"}
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = admin_client.post("/admin/django_q/schedule/", action, follow=True)

    assert response.redirect_chain == [("/admin/django_q/schedule/", 302)]
    run = JobRun.objects.get()
    assert (run.job_id, run.trigger, run.status) == ("daily_verses_generation", "manual", "running")
    assert len(callbacks) == 1
    assert enqueued == [
        (
            ("scheduler.tasks.job_run", "daily_verses_generation"),
            {"trigger": "manual", "run_id": str(run.pk), "group": "daily_verses_generation"},
        )
    ]
    assert [str(m) for m in response.context["messages"]] == [f"daily_verses_generation: exécution {run.pk} lancée."]

    # The run is still in progress: a second click starts nothing.
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = admin_client.post("/admin/django_q/schedule/", action, follow=True)

    assert response.redirect_chain == [("/admin/django_q/schedule/", 302)]
    assert list(JobRun.objects.values_list("pk", flat=True)) == [run.pk]
    assert callbacks == []
    assert len(enqueued) == 1
    assert [str(m) for m in response.context["messages"]] == [
        f"daily_verses_generation: déjà en cours (exécution {run.pk})."
    ]


def test_run_now_skips_a_schedule_that_is_not_a_soulverse_job(
    admin_client, schedules, enqueued, django_capture_on_commit_callbacks
):
    other = Schedule.objects.create(name="someone_else", func="math.floor", args="1", schedule_type=Schedule.DAILY)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = admin_client.post(
            "/admin/django_q/schedule/",
            {"action": "run_now", "_selected_action": [str(other.pk)], "index": "0"},
            follow=True,
        )
    assert response.redirect_chain == [("/admin/django_q/schedule/", 302)]
    assert JobRun.objects.count() == 0
    assert callbacks == [] and enqueued == []
    assert [str(m) for m in response.context["messages"]] == ["math.floor: pas une tâche SoulVerse, ignorée."]


def staff_with(*codenames):
    from django.contrib.auth.models import Permission

    user = UserFactory(is_staff=True, fcm_token="")
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return user


def test_the_posted_func_args_and_name_are_ignored_only_cron_and_on_off_change(admin_client, daily_schedule):
    """Finding 6: an admin posted func=os.system and the worker ran the shell command."""
    data = form_data(admin_client.get(change_url(daily_schedule)))
    response = admin_client.post(
        change_url(daily_schedule),
        {
            **data,
            "cron": "0 5 * * *",
            "enabled": "",
            "func": "os.system",
            "args": "'touch /tmp/pwned'",
            "name": "renamed",
            "schedule_type": "O",
            "repeats": "5",
        },
    )
    assert response.status_code == 302
    daily_schedule.refresh_from_db()
    assert (
        daily_schedule.name,
        daily_schedule.func,
        daily_schedule.args,
        daily_schedule.kwargs,
        daily_schedule.schedule_type,
        daily_schedule.cron,
        daily_schedule.repeats,
    ) == (
        "daily_verses_generation",
        "scheduler.tasks.job_run",
        "'daily_verses_generation'",
        "trigger='schedule'",
        "C",
        "0 5 * * *",
        0,
    )  # unchecked: paused, as POST stop does


def test_no_add_no_delete_of_schedules_in_the_admin(admin_client, daily_schedule):
    assert admin_client.get("/admin/django_q/schedule/add/").status_code == 403
    assert (
        admin_client.post(
            "/admin/django_q/schedule/add/", {"name": "evil", "func": "os.system", "args": "'id'", "schedule_type": "O"}
        ).status_code
        == 403
    )
    assert (
        admin_client.post(f"/admin/django_q/schedule/{daily_schedule.pk}/delete/", {"post": "yes"}).status_code == 403
    )
    assert Schedule.objects.count() == 6


@pytest.mark.parametrize(
    "bad",
    [
        {"name": "evil", "func": "os.system", "args": "'id'"},
        {"name": "daily_verses_generation", "func": "os.system", "args": "'id'"},
        {"name": "daily_verses_generation", "func": "scheduler.tasks.job_run", "args": "'cache_cleanup'"},
    ],
)
def test_a_schedule_outside_the_registry_is_refused_anywhere(schedules, bad):
    """Not only in the admin: any save of a Schedule (shell, another endpoint) is checked."""
    from django.core.exceptions import ValidationError

    before = list(Schedule.objects.order_by("pk").values())
    with pytest.raises(ValidationError):
        if bad["name"] == "evil":
            Schedule.objects.create(schedule_type=Schedule.ONCE, **bad)
        else:
            schedule = Schedule.objects.get(name=bad["name"])
            for field, value in bad.items():
                setattr(schedule, field, value)
            schedule.save()
    assert list(Schedule.objects.order_by("pk").values()) == before


def test_schedule_admin_needs_the_scheduler_permissions_not_is_staff(client, daily_schedule):
    """Finding 2 in the admin: a bare staff account sees nothing; a viewer reads; an operator edits."""
    url = change_url(daily_schedule)
    client.force_login(staff_with())
    assert client.get("/admin/django_q/schedule/").status_code == 403
    client.force_login(staff_with("view_scheduler"))
    assert client.get("/admin/django_q/schedule/").status_code == 200
    response = client.get(url)
    assert response.status_code == 200 and response.context["has_change_permission"] is False
    assert client.post(url, {"cron": "0 1 * * *", "enabled": "on"}).status_code == 403
    assert Schedule.objects.get(pk=daily_schedule.pk).cron == "0 6 * * *"
    client.force_login(staff_with("view_scheduler", "operate_scheduler"))
    assert client.post(url, {"cron": "0 1 * * *", "enabled": "on"}).status_code == 302
    assert Schedule.objects.get(pk=daily_schedule.pk).cron == "0 1 * * *"
