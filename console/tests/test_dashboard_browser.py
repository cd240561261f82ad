"""The dashboard in a real headless Chromium (Debian's chromium + chromium-driver, Selenium),
against pytest-django's live server and a real `manage.py qcluster` on the test database.

Screenshots at desktop and phone widths go to var/screenshots/ on every run, with the page's
size and load time (dashboard-metrics.json)."""

import datetime
import json
import re

import pytest
from django_q.models import Schedule

from console.tests.browser import BROWSER_MARKS, DESKTOP, PHONE, SCREENSHOTS, Page
from scheduler.models import JobRun
from scheduler.registry import JOBS
from scheduler.services import schedules_setup
from scheduler.tests.clusters import wait_until
from users.models import User
from users.tests.factories import UserFactory
from verses.models import DailyVerse

pytestmark = [*BROWSER_MARKS, pytest.mark.cluster]  # the page shows a real qcluster


def test_dashboard_in_a_real_browser(browser, live_server, qcluster, dashboard_data):
    from selenium.webdriver.common.keys import Keys

    schedules_setup()
    members = UserFactory.create_batch(5)
    User.objects.create_superuser("root@example.org", "motdepasse-de-test")
    page = Page(browser, live_server.url)

    # Log in through the admin's form; the admin's home leads to the dashboard.
    page.open("/admin/login/?next=/admin/")
    page.css("#id_username").send_keys("root@example.org")
    page.css("#id_password").send_keys("motdepasse-de-test")
    page.click_and_load("input[type=submit]")
    page.click_and_load("#dashboard-entry a")
    assert browser.current_url == live_server.url + "/admin/dashboard/"
    assert page.text("#content h1") == "Tableau de bord du planificateur"
    assert page.text("#scheduler-state") == "Actif"
    assert page.text("#cluster-count") == "1"  # the qcluster of this test
    assert page.text("#site-name") == "SoulVerse — Administration"
    # Push: off without credentials (tests have none), no project, the last tick with its badge.
    assert (page.text("#push-state"), page.css("#push-state").get_attribute("class")) == (
        "Désactivé (aucun identifiant FCM)",
        "badge off",
    )
    assert page.text("#push-project") == "—"
    assert re.fullmatch(r"Réussi \d\d/\d\d/\d{4} \d\d:\d\d : \d+ envoyées?(, \d+ échouées?)?", page.text("#push-tick"))
    assert page.css("#push-tick .badge").get_attribute("class") == "badge ok"
    # The page loaded with its Content-Security-Policy (nothing blocked: no console error), which
    # the browser enforces: an injected inline script is refused.
    assert page.csp_refuses_inline_script()

    # Seeded runs and statistics.
    failed = page.css(f'tr[data-run-id="{dashboard_data.failed_run.pk}"]')
    assert "Échoué" in failed.text
    error = failed.find_element("css selector", "details.error pre")
    assert not error.is_displayed()
    failed.find_element("css selector", "details.error summary").click()
    assert error.text == "OperationalError: could not connect to server"
    assert [c.get_attribute("id") for c in page.all("figure.chart")] == [
        "chart-users",
        "chart-verses",
        "chart-ai_failures",
        "chart-pushes",
    ]
    assert len(page.all("#chart-users g.col")) == 30
    assert len(page.all("#chart-verses rect.bar")) == 5  # 3 days with verses, 2 of them with fallbacks
    assert page.text("#chart-ai_failures .legend") == "Limite de débit\nTexte non conforme\nDélai dépassé"

    # Keyboard: Tab from the last link before the charts lands on the first day of the first
    # chart, and shows its figures.
    page.css("#runs p:last-child a").send_keys(Keys.TAB)
    focused = browser.switch_to.active_element
    first_day = page.all("#chart-users g.col")[0]
    assert focused == first_day
    tip = first_day.find_element("css selector", "text.tip")
    assert tip.is_displayed()
    first = dashboard_data.today - datetime.timedelta(days=29)
    assert tip.text == f"{first:%d/%m/%Y} : Actifs 90, Actifs du jour 30, Actifs 7 j 50, Actifs 30 j 70"
    focused.send_keys(Keys.TAB)
    assert browser.switch_to.active_element == page.all("#chart-users g.col")[1]
    for _ in range(27):  # to yesterday, the 29th day
        browser.switch_to.active_element.send_keys(Keys.TAB)
    yesterday = page.all("#chart-users g.col")[28]
    assert browser.switch_to.active_element == yesterday
    assert yesterday.find_element("css selector", "text.tip").text.endswith(
        ": Actifs 120, Actifs du jour 45, Actifs 7 j 65, Actifs 30 j 85"
    )
    browser.execute_script("arguments[0].closest('figure').scrollIntoView()", yesterday)
    keyboard_shot = page.viewport_screenshot("dashboard-keyboard-focus")

    # Size, load time and screenshots at desktop and phone widths.
    page.open("/admin/dashboard/")
    metrics = page.metrics()
    shots = [keyboard_shot, page.screenshot("dashboard-desktop", DESKTOP)]
    page.driver.set_window_size(*PHONE)
    page.open("/admin/dashboard/")
    # Usable at a phone's width: the page does not scroll sideways, the buttons are in view.
    assert browser.execute_script("return document.documentElement.scrollWidth") <= PHONE[0]
    assert page.css("#scheduler-stop").is_displayed()
    assert page.css("#chart-users svg").size["width"] <= PHONE[0]
    shots.append(page.screenshot("dashboard-phone", PHONE))
    page.driver.set_window_size(*DESKTOP)

    # Stop, then start: each behind a confirmation page, the state changes on the dashboard.
    page.open("/admin/dashboard/")
    page.click_and_load("#scheduler-stop")
    assert page.text("#content h1") == "Arrêter le planificateur ?"
    assert set(Schedule.objects.values_list("repeats", flat=True)) == {-1}
    shots.append(page.screenshot("dashboard-confirm-stop", DESKTOP))
    page.click_and_load("#confirm")
    assert page.text("#scheduler-state") == "Arrêté"
    assert page.text(".messagelist") == "Planificateur arrêté."
    assert [e.text for e in page.all("#jobs .badge.off")] == ["En pause"] * len(JOBS)
    assert set(Schedule.objects.values_list("repeats", flat=True)) == {0}
    page.click_and_load("#scheduler-start")
    page.click_and_load("#confirm")
    assert page.text("#scheduler-state") == "Actif"
    assert page.text(".messagelist") == "Planificateur démarré."
    assert set(Schedule.objects.values_list("repeats", flat=True)) == {-1}

    # Run the daily job now: the cluster runs it, and its run appears at the top of the list.
    page.click_and_load("#run-daily_verses_generation")
    page.click_and_load("#confirm")
    assert page.text(".messagelist") == "« Génération versets quotidiens » : exécution lancée."
    run = JobRun.objects.get(trigger=JobRun.Trigger.MANUAL)
    wait_until(
        lambda: JobRun.objects.filter(pk=run.pk, status=JobRun.Status.SUCCEEDED).exists(),
        60,
        "the manual run to succeed",
        qcluster,
    )
    page.open("/admin/dashboard/")
    top = page.all("#runs-table tbody tr")[0]
    assert top.get_attribute("data-run-id") == str(run.pk)
    assert "Génération versets quotidiens" in top.text and "Manuel (API/admin)" in top.text
    assert "Réussi" in top.text
    assert set(DailyVerse.objects.values_list("user_id", flat=True)) == {m.pk for m in members}
    top.find_element("css selector", "details.counts summary").click()
    assert "users_processed\n5" in top.find_element("css selector", "details.counts dl").text
    shots.append(page.screenshot("dashboard-after-run", DESKTOP))

    (SCREENSHOTS / "dashboard-metrics.json").write_text(json.dumps({**metrics, "screenshots": shots}, indent=2))
    print(f"\ndashboard: {json.dumps(metrics)}\nscreenshots: {', '.join(shots)}")


def test_admin_pages_load_under_the_content_security_policy(browser, live_server, settings):
    """The admin pages this project adds or changes (the webhook secret page, the disabled
    endpoint's state, the throttled sign-in page) and Django's own load with nothing refused."""
    from webhooks.models import WebhookEndpoint
    from webhooks.services import webhook_endpoint_create, webhook_endpoint_update

    settings.WEBHOOKS_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1"]
    root = User.objects.create_superuser("root@example.org", "motdepasse-de-test")
    member = UserFactory()
    disabled = webhook_endpoint_create(url="http://127.0.0.1:9/old", events=["run.failed"])
    webhook_endpoint_update(endpoint=disabled, is_active=False)
    page = Page(browser, live_server.url)
    page.open("/admin/login/?next=/admin/")
    assert page.csp_refuses_inline_script()
    page.css("#id_username").send_keys(root.email)
    page.css("#id_password").send_keys("motdepasse-de-test")
    page.click_and_load("input[type=submit]")

    page.open("/admin/webhooks/webhookendpoint/add/")
    page.css("#id_url").send_keys("http://127.0.0.1:9/hook")
    page.css("input[name=events][value='run.failed']").click()
    page.click_and_load("input[name=_save]")
    created = WebhookEndpoint.objects.exclude(pk=disabled.pk).get()
    assert page.text("#webhook-secret") == created.secret
    assert page.csp_refuses_inline_script()
    page.click_and_load("#content-main a.button")
    assert browser.current_url.endswith(f"/admin/webhooks/webhookendpoint/{created.pk}/change/")
    page.open("/admin/webhooks/webhookendpoint/")
    state = page.css(".webhook-disabled")
    assert state.text == "désactivé"
    assert state.value_of_css_property("color") == "rgba(186, 33, 33, 1)"  # its stylesheet applied
    for path in (
        f"/admin/users/user/{member.pk}/change/",
        f"/admin/users/user/{member.pk}/password/",
        "/admin/scheduler/jobrun/",
        "/admin/django_q/schedule/",
    ):
        page.open(path)
    page.screenshot("admin-webhook-list-csp", DESKTOP)

    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "admin_login": "1/hour"},
    }
    browser.delete_all_cookies()
    for attempt in range(2):
        page.open("/admin/login/")
        page.css("#id_username").send_keys("someone@example.org")
        page.css("#id_password").send_keys("not-the-password")
        if attempt == 0:
            page.click_and_load("input[type=submit]")
    old = page.css("html")
    page.css("input[type=submit]").click()
    wait_until(lambda: not _attached(old), 20, "the throttled page")
    page.wait_ready()
    # The one console entry is the answer's own status; the page itself loads with nothing refused.
    assert [(e["source"], "429 (Too Many Requests)" in e["message"]) for e in browser.get_log("browser")] == [
        ("network", True)
    ]
    assert page.text(".errornote") == "Trop de tentatives de connexion depuis cette adresse."
    page.screenshot("admin-login-throttled", DESKTOP)


def _attached(element) -> bool:
    try:
        element.tag_name  # noqa: B018 (raises once the element is gone)
    except Exception:
        return False
    return True
