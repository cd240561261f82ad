"""The scheduler dashboard in the admin, through Django's test client (the browser test is in
test_dashboard_browser.py)."""

import datetime
import json
import re

from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone
from django_q.models import Schedule

from console.charts import Chart, Series, layout
from console.dashboard import push_overview
from console.selectors import dashboard_series
from scheduler.models import JobRun, ScheduleChange
from scheduler.registry import JOBS
from users.tests.factories import UserFactory
from verses.models import DailyVerse
from verses.push.fcm import push_project_id

DASHBOARD = "/admin/dashboard/"


def repeats() -> list[int]:
    return list(Schedule.objects.order_by("name").values_list("repeats", flat=True))


def scheduler_permission(codename: str) -> Permission:
    return Permission.objects.get(content_type__app_label="scheduler", codename=codename)


# --- The chart data -------------------------------------------------------------------------


def test_series_cover_thirty_days_from_the_stats_verses_and_run_counts(dashboard_data):
    today = dashboard_data.today
    series = dashboard_series(days=30, today=today)

    assert series["days"] == [today - datetime.timedelta(days=29 - n) for n in range(30)]

    # Index 29 is today, 28 yesterday, 0 is 29 days ago; 30 days ago is outside.
    def at(values):
        return {n: v for n, v in enumerate(values) if v}

    # Days without statistics are None (no figure), not 0.
    def known(values):
        return {n: v for n, v in enumerate(values) if v is not None}

    assert known(series["users"]["active_users"]) == {0: 90, 27: 110, 28: 120}
    assert known(series["users"]["daily_active_users"]) == {0: 30, 27: 40, 28: 45}
    assert known(series["users"]["weekly_active_users"]) == {0: 50, 27: 60, 28: 65}
    assert known(series["users"]["monthly_active_users"]) == {0: 70, 27: 80, 28: 85}
    assert known(series["verses"]["ai"]) == {0: 80, 27: 108, 28: 100}
    assert known(series["verses"]["fallback"]) == {0: 8, 27: 0, 28: 18}
    assert {kind: at(values) for kind, values in series["ai_failures"].items()} == {
        "rate_limit": {27: 1},
        "text_mismatch": {28: 1},
        "timeout": {28: 2},
    }
    assert {key: at(values) for key, values in series["pushes"].items()} == {
        "push_sent": {28: 105, 29: 7},
        "push_invalid_tokens": {28: 3},
        "push_failed": {28: 1, 29: 2},
        "push_fid_not_registered": {},
    }


def test_series_are_zero_without_data(db):
    series = dashboard_series(days=7, today=datetime.date(2026, 1, 10))
    assert series["days"][0] == datetime.date(2026, 1, 4)
    assert series["users"] == {
        "active_users": [None] * 7,
        "daily_active_users": [None] * 7,
        "weekly_active_users": [None] * 7,
        "monthly_active_users": [None] * 7,
    }
    assert series["verses"] == {"ai": [None] * 7, "fallback": [None] * 7}
    assert series["ai_failures"] == {}
    assert series["pushes"] == {
        "push_sent": [0] * 7,
        "push_invalid_tokens": [0] * 7,
        "push_failed": [0] * 7,
        "push_fid_not_registered": [0] * 7,
    }


def test_stacked_bars_scale_to_a_round_top():
    days = [datetime.date(2026, 1, d) for d in (1, 2, 3)]
    chart = layout(Chart("c", "Titre", "bars", days, [Series("a", "A", [0, 3, 1]), Series("b", "B", [1, 1, 0])]))
    # Peak 4 (3 + 1) -> axis top 4, ticks 0, 2, 4 over a 166-unit plot from y=10 to y=176.
    assert [(t["y"], t["label"]) for t in chart.ticks] == [(176, "0"), (93.0, "2"), (10.0, "4")]
    assert [[(b["series"], b["y"], b["height"]) for b in c["bars"]] for c in chart.columns] == [
        [(1, 134.5, 41.5)],
        [(0, 51.5, 124.5), (1, 10.0, 41.5)],
        [(0, 134.5, 41.5)],
    ]
    assert [c["text"] for c in chart.columns] == [
        "01/01/2026 : A 0, B 1",
        "02/01/2026 : A 3, B 1",
        "03/01/2026 : A 1, B 0",
    ]
    assert chart.rows == [
        {"day": days[2], "values": ["1", "0"]},
        {"day": days[1], "values": ["3", "1"]},
        {"day": days[0], "values": ["0", "1"]},
    ]
    assert [(label["x"], label["anchor"], label["label"]) for label in chart.x_labels] == [
        (472, "end", "03/01"),
        (258.0, "middle", "02/01"),
        (115.3, "middle", "01/01"),
    ]


def test_a_day_without_figures_is_a_gap_in_the_line():
    days = [datetime.date(2026, 1, d) for d in (1, 2, 3, 4, 5)]
    chart = layout(Chart("c", "T", "lines", days, [Series("a", "A", [2, 2, None, 1, None])]))
    # Slots of 85.6 units from x=44; 2 is the axis top (y=10), 1 its middle (y=93).
    assert chart.lines == [{"series": 0, "points": "86.8,10.0 172.4,10.0"}]  # the lone day 4 is a dot only
    assert [[d["cy"] for d in c["dots"]] for c in chart.columns] == [[10.0], [10.0], [], [93.0], []]
    assert [c["text"] for c in chart.columns][2] == "03/01/2026 : A —"
    assert chart.total == 5


def test_lines_share_one_axis():
    days = [datetime.date(2026, 1, d) for d in (1, 2)]
    chart = layout(Chart("c", "T", "lines", days, [Series("a", "A", [1500, 3000]), Series("b", "B", [0, 750])]))
    assert [t["label"] for t in chart.ticks] == ["0", "2\xa0000", "4\xa0000"]
    # Two slots of 214 units from x=44; 166 units for 4,000 from y=176.
    assert chart.lines == [
        {"series": 0, "points": "151.0,113.8 365.0,51.5"},
        {"series": 1, "points": "151.0,176.0 365.0,144.9"},
    ]
    assert [[(d["series"], d["cy"]) for d in c["dots"]] for c in chart.columns] == [
        [(0, 113.8), (1, 176.0)],
        [(0, 51.5), (1, 144.9)],
    ]


# --- Who sees it ----------------------------------------------------------------------------


def test_anonymous_is_sent_to_the_login_page(client, schedules):
    response = client.get(DASHBOARD)
    assert response.status_code == 302
    assert response["Location"] == "/admin/login/?next=/admin/dashboard/"


def test_staff_without_the_permission_gets_403_and_no_entry_on_the_admin_home(client, schedules):
    staff = UserFactory(email="staff@example.org", is_staff=True)
    client.force_login(staff)
    assert client.get(DASHBOARD).status_code == 403
    before = repeats()
    assert client.post("/admin/dashboard/stop/", {"confirmed": "yes"}).status_code == 403
    assert repeats() == before == [-1] * len(JOBS)
    assert DASHBOARD not in client.get("/admin/").content.decode()


def test_a_viewer_sees_the_dashboard_without_buttons_and_cannot_operate(client, schedules):
    viewer = UserFactory(email="viewer@example.org", is_staff=True)
    viewer.user_permissions.add(scheduler_permission("view_scheduler"))
    client.force_login(viewer)

    response = client.get(DASHBOARD)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="scheduler-state"' in html
    assert "scheduler-stop" not in html and "Lancer maintenant" not in html
    assert DASHBOARD in client.get("/admin/").content.decode()
    for url in ("/admin/dashboard/stop/", "/admin/dashboard/run/daily_verses_generation/"):
        assert client.post(url, {"confirmed": "yes"}).status_code == 403
    assert repeats() == [-1] * len(JOBS)
    assert JobRun.objects.count() == 0


def test_an_operator_without_superuser_rights_can_stop_the_scheduler(client, schedules):
    operator = UserFactory(email="operator@example.org", is_staff=True)
    operator.user_permissions.add(scheduler_permission("view_scheduler"), scheduler_permission("operate_scheduler"))
    client.force_login(operator)
    assert 'id="scheduler-stop"' in client.get(DASHBOARD).content.decode()
    response = client.post("/admin/dashboard/stop/", {"confirmed": "yes"})
    assert (response.status_code, response["Location"]) == (302, DASHBOARD)
    assert repeats() == [0] * len(JOBS)


# --- What it shows --------------------------------------------------------------------------


def test_the_admin_home_leads_to_the_dashboard(admin_client):
    html = admin_client.get("/admin/").content.decode()
    assert f'<a href="{DASHBOARD}">Tableau de bord</a>' in html
    assert html.index(DASHBOARD) < html.index("/admin/scheduler/jobrun/")


def test_dashboard_shows_state_jobs_runs_and_charts(admin_client, schedules, dashboard_data):
    response = admin_client.get(DASHBOARD)

    assert response.status_code == 200
    ctx = response.context
    assert ctx["enabled"] is True
    assert ctx["cluster"] == {"alive": False, "count": 0, "last_heartbeat": None}
    assert [(job["id"], job["enabled"], job["next_run"] is not None) for job in ctx["jobs"]] == [
        (job.id, True, True) for job in JOBS
    ]
    assert [job["last_run"] and job["last_run"].status for job in ctx["jobs"]][:3] == ["succeeded", "failed", None]
    assert [run.job_id for run in ctx["runs"]] == [
        "deliver_verses",
        "cache_cleanup",
        "deliver_verses",
        "deliver_verses",
        "daily_verses_generation",
        "deliver_verses",
    ]
    assert [chart.id for chart in ctx["charts"]] == ["users", "verses", "ai_failures", "pushes"]
    assert [len(chart.columns) for chart in ctx["charts"]] == [30, 30, 30, 30]

    html = response.content.decode()
    assert re.search(r'id="scheduler-state"[^>]*>Actif<', html)
    assert re.search(r'id="cluster-count"[^>]*>0<', html)
    assert re.search(r'id="ai-state"[^>]*>Désactivée \(versets de secours\)<', html)  # no API key in tests
    assert "World English Bible : " in html and "Louis Segond 1910 : " in html
    # A failed run's error is one click away (a <details> on its row).
    failed = re.search(rf'data-run-id="{dashboard_data.failed_run.pk}".*?</tr>', html, re.S).group(0)
    assert "<summary>Voir l'erreur</summary><pre>OperationalError: could not connect to server</pre>" in failed
    assert ">Échoué<" in failed
    daily = re.search(r'data-job-id="daily_verses_generation".*?</tr>', html, re.S).group(0)
    assert "12.5 s" in daily or "12,5 s" in daily
    assert "<dt>ai_failures</dt><dd>timeout : 2, text_mismatch : 1</dd>" in daily
    # French labels, a focusable group per day, no script and nothing from another host.
    for label in (
        "Utilisateurs actifs",
        "Versets distribués par source",
        "Échecs de l&#x27;IA par type",
        "Notifications push",
        "Jetons invalides",
        "FID non enregistrées",
        "Délai dépassé",
        "Texte non conforme",
    ):
        assert label in html
    assert html.count('<g class="col" tabindex="0"') == 120
    assert (
        'aria-label="'
        + (dashboard_data.today - datetime.timedelta(days=1)).strftime("%d/%m/%Y")
        + ' : Envoyées 105, Jetons invalides 3, Échouées 1, FID non enregistrées 0"'
        in html
    )
    # SVG coordinates are numbers, never the French "176,0".
    assert re.findall(r' (?:x|y|x1|x2|y1|y2|cx|cy|width|height)="[^"]*,', html) == []
    assert 'y1="176.0"' in html
    assert "<script" not in html.split('id="content-main"')[1]
    assert not re.search(r'(src|href)="(https?:)?//', html)


def test_the_admin_names_the_product_not_django(admin_client, schedules):
    for html in (
        Client().get("/admin/login/").content.decode(),
        admin_client.get("/admin/").content.decode(),
        admin_client.get(DASHBOARD).content.decode(),
    ):
        assert '<a href="/admin/">SoulVerse — Administration</a>' in html
        assert "Administration de Django" not in html and "Site d’administration de Django" not in html
    assert "<title>Tableau de bord du planificateur | Administration SoulVerse</title>" in html


def service_account_file(directory, project_id: str):
    """A service-account JSON as the Firebase console gives it (the key is not read here)."""
    path = directory / "fcm.json"
    path.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": project_id,
                "private_key_id": "key-id-7f3a9c",
                "private_key": "-----BEGIN PRIVATE KEY-----\n...",
                "client_email": f"firebase-adminsdk@{project_id}.iam.gserviceaccount.com",
            }
        )
    )
    return path


def state_item(html: str, element_id: str) -> str:
    """The text of a state item (tags dropped, spaces collapsed)."""
    element = re.search(rf'<dd id="{element_id}"[^>]*>(.*?)</dd>', html, re.S).group(0)
    return " ".join(re.sub(r"<[^>]+>", " ", element).split())


def test_dashboard_shows_push_on_its_project_and_the_last_tick(
    admin_client, schedules, dashboard_data, settings, tmp_path, monkeypatch
):
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.delenv("GOOGLE_CLOUD_PROJECT", raising=False)
    settings.FCM_CREDENTIALS_FILE = str(service_account_file(tmp_path, "soulverse-lome"))
    settings.FCM_PROJECT_ID = ""
    settings.FCM_DRY_RUN = False
    html = admin_client.get(DASHBOARD).content.decode()

    assert re.search(r'<dd id="push-state" class="badge ok">Actif</dd>', html)
    assert state_item(html, "push-project") == "soulverse-lome"
    # The latest deliver_verses run (today 00:05, 7 sent and 2 failed), with its status badge.
    tick = JobRun.objects.filter(job_id="deliver_verses").order_by("-started_at").first()
    local = timezone.localtime(tick.started_at)
    assert (local.date(), local.hour, local.minute) == (dashboard_data.today, 0, 5)
    assert state_item(html, "push-tick") == f"Réussi {local:%d/%m/%Y %H:%M} : 7 envoyées, 2 échouées"
    assert '<span class="badge ok">Réussi</span>' in re.search(r'<dd id="push-tick".*?</dd>', html, re.S).group(0)
    # Nothing of the key: not its id (a random CSRF token can hold any two characters, "k1" say)
    assert "private_key" not in html and "key-id-7f3a9c" not in html and "PRIVATE KEY" not in html

    # An explicit FCM_PROJECT_ID is the project firebase-admin sends to; a failed tick is a red badge.
    settings.FCM_PROJECT_ID = "soulverse-staging"
    settings.FCM_DRY_RUN = True
    JobRun.objects.create(
        job_id="deliver_verses", trigger="schedule", status="failed", counts={"push_sent": 1, "push_invalid_tokens": 4}
    )
    html = admin_client.get(DASHBOARD).content.decode()
    assert state_item(html, "push-state") == "Actif — essai à blanc (FCM_DRY_RUN)"
    assert state_item(html, "push-project") == "soulverse-staging"
    tick = re.search(r'<dd id="push-tick".*?</dd>', html, re.S).group(0)
    assert '<span class="badge off">Échoué</span>' in tick
    assert state_item(html, "push-tick").endswith(": 1 envoyée, 4 jetons invalides")


def test_dashboard_says_when_push_has_no_credentials_and_never_ticked(admin_client, schedules, settings, monkeypatch):
    for name in ("GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_CLOUD_PROJECT", "GCLOUD_PROJECT"):
        monkeypatch.delenv(name, raising=False)
    settings.FCM_CREDENTIALS_FILE = ""
    settings.FCM_PROJECT_ID = ""
    html = admin_client.get(DASHBOARD).content.decode()
    assert re.search(r'<dd id="push-state" class="badge off">Désactivé \(aucun identifiant FCM\)</dd>', html)
    assert state_item(html, "push-project") == "—"
    assert state_item(html, "push-tick") == "Jamais"
    assert '<span class="badge off">Jamais</span>' in html


def test_push_switched_off_on_purpose_is_said_so(settings, monkeypatch):
    for name in ("GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_CLOUD_PROJECT", "GCLOUD_PROJECT"):
        monkeypatch.delenv(name, raising=False)
    settings.FCM_CREDENTIALS_FILE = settings.FCM_PROJECT_ID = ""
    overview = push_overview({"enabled": False, "status": "off", "dry_run": False}, [])
    assert overview == {
        "status": "off",
        "label": "Coupé (PUSH_ENABLED=false)",
        "dry_run": False,
        "project_id": "",
        "tick": None,
        "tick_summary": "",
    }


def test_ai_switched_off_on_purpose_is_said_so(admin_client, settings):
    settings.AI_ENABLED = False
    html = admin_client.get(DASHBOARD).content.decode()
    assert re.search(r'<dd id="ai-state" class="badge off"[^>]*>Coupée \(AI_ENABLED=false\)</dd>', html)


def test_push_project_is_found_where_firebase_admin_finds_it(settings, tmp_path, monkeypatch):
    for name in ("GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_CLOUD_PROJECT", "GCLOUD_PROJECT"):
        monkeypatch.delenv(name, raising=False)
    settings.FCM_PROJECT_ID = ""
    settings.FCM_CREDENTIALS_FILE = ""
    assert push_project_id() == ""
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "from-environment")
    assert push_project_id() == "from-environment"
    adc = tmp_path / "adc"
    adc.mkdir()
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(service_account_file(adc, "from-adc-file")))
    assert push_project_id() == "from-adc-file"
    settings.FCM_CREDENTIALS_FILE = str(service_account_file(tmp_path, "from-fcm-file"))
    assert push_project_id() == "from-fcm-file"
    settings.FCM_PROJECT_ID = "from-setting"
    assert push_project_id() == "from-setting"
    # An unreadable or foreign file names no project: the environment's, if any.
    settings.FCM_PROJECT_ID = ""
    settings.FCM_CREDENTIALS_FILE = str(tmp_path / "missing.json")
    assert push_project_id() == "from-environment"
    (tmp_path / "list.json").write_text("[1, 2]")
    settings.FCM_CREDENTIALS_FILE = str(tmp_path / "list.json")
    monkeypatch.delenv("GOOGLE_CLOUD_PROJECT")
    assert push_project_id() == ""


def test_dashboard_queries_do_not_grow_with_the_data(
    admin_client, schedules, dashboard_data, django_assert_max_num_queries
):
    # Session, user, schedules, the last run of each job, the French edition's verse count, the
    # recent runs, the cluster heartbeat (a query with the database cache, none with Redis), then
    # one query per kind of chart data.
    expected = 2 + 1 + len(JOBS) + 1 + 1 + 1 + 3
    with django_assert_max_num_queries(expected):
        admin_client.get(DASHBOARD)
    UserFactory.create_batch(20)
    for n in range(10):
        JobRun.objects.create(job_id="deliver_verses", trigger="schedule", status="succeeded", counts={"push_sent": n})
    with django_assert_max_num_queries(expected):
        response = admin_client.get(DASHBOARD)
    assert response.context["charts"][3].series[0].values[-1] == 7 + sum(range(10))


# --- Stop, start, run now -------------------------------------------------------------------


def test_stop_asks_for_confirmation_then_stops_and_start_resumes(admin_client, schedules):
    response = admin_client.post("/admin/dashboard/stop/")
    assert response.status_code == 200
    assert response.context["title"] == "Arrêter le planificateur ?"
    assert '<input type="hidden" name="confirmed" value="yes">' in response.content.decode()
    assert repeats() == [-1] * len(JOBS)  # nothing changed before the confirmation

    response = admin_client.post("/admin/dashboard/stop/", {"confirmed": "yes"}, follow=True)
    assert response.redirect_chain == [(DASHBOARD, 302)]
    assert repeats() == [0] * len(JOBS)
    assert response.context["enabled"] is False
    assert [str(m) for m in response.context["messages"]] == ["Planificateur arrêté."]
    html = response.content.decode()
    assert re.search(r'id="scheduler-state"[^>]*>Arrêté<', html)
    assert 'id="scheduler-start"' in html and 'id="scheduler-stop"' not in html
    assert html.count(">En pause<") == len(JOBS)

    response = admin_client.post("/admin/dashboard/start/", {"confirmed": "yes"}, follow=True)
    assert repeats() == [-1] * len(JOBS)
    changes = ScheduleChange.objects.order_by("pk")
    assert [(c.changed_by.email, c.source, c.after["enabled"]) for c in changes] == (
        [("root@example.org", "admin", False)] * len(JOBS) + [("root@example.org", "admin", True)] * len(JOBS)
    )
    assert [str(m) for m in response.context["messages"]] == ["Planificateur démarré."]
    assert response.context["enabled"] is True


def test_controls_refuse_get_and_a_post_without_csrf(superuser, schedules):
    client = Client(enforce_csrf_checks=True)
    client.force_login(superuser)
    assert client.get("/admin/dashboard/stop/").status_code == 405
    assert client.get("/admin/dashboard/run/daily_verses_generation/").status_code == 405
    assert client.post("/admin/dashboard/stop/", {"confirmed": "yes"}).status_code == 403
    assert client.post("/admin/dashboard/run/daily_verses_generation/", {"confirmed": "yes"}).status_code == 403
    assert repeats() == [-1] * len(JOBS)
    assert JobRun.objects.count() == 0


def test_run_now_confirms_then_runs_the_job_through_the_task_path(admin_client, schedules, sync_tasks):
    members = UserFactory.create_batch(3)
    url = "/admin/dashboard/run/daily_verses_generation/"
    response = admin_client.post(url)
    assert response.status_code == 200
    assert response.context["title"] == "Lancer « Génération versets quotidiens » maintenant ?"
    assert JobRun.objects.count() == 0

    response = admin_client.post(url, {"confirmed": "yes"}, follow=True)

    assert response.redirect_chain == [(DASHBOARD + "#runs", 302)]
    run = JobRun.objects.get()
    assert (run.job_id, run.trigger, run.status) == ("daily_verses_generation", "manual", "succeeded")
    assert run.counts["users_processed"] == 3
    assert set(DailyVerse.objects.values_list("user_id", flat=True)) == {m.pk for m in members}
    assert [str(m) for m in response.context["messages"]] == ["« Génération versets quotidiens » : exécution lancée."]
    assert [r.pk for r in response.context["runs"]] == [run.pk]


def test_run_now_during_a_run_starts_nothing(admin_client, schedules):
    running = JobRun.objects.create(job_id="cache_cleanup", trigger="schedule")
    response = admin_client.post("/admin/dashboard/run/cache_cleanup/", {"confirmed": "yes"}, follow=True)
    assert list(JobRun.objects.values_list("pk", flat=True)) == [running.pk]
    assert [str(m) for m in response.context["messages"]] == ["« Nettoyage cache » : une exécution est déjà en cours."]


def test_run_now_of_an_unknown_job_is_404_and_runs_nothing(admin_client, schedules):
    response = admin_client.post("/admin/dashboard/run/no_such_job/", {"confirmed": "yes"})
    assert response.status_code == 404
    assert JobRun.objects.count() == 0


def test_the_favicon_browsers_ask_for_is_served(client):
    response = client.get("/favicon.ico")
    assert (response.status_code, response["Location"]) == (301, "/static/soulverse/favicon.svg")
