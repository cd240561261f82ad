"""The editorial page (/admin/dashboard/editorial/) in a real headless Chromium: tomorrow's verses
under review, approved and replaced through its forms; the plans and the feast calendar. Screenshots
at desktop and phone widths go to var/screenshots/ (editorial-*.png)."""

import datetime
import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from console.tests.browser import BROWSER_MARKS, DESKTOP, PHONE, Page
from users.models import User
from verses.bible.importer import bible_import
from verses.models import VerseOfTheDay, VersePlan, VerseReview
from verses.tests.shared_data import LSG_PATH

pytestmark = BROWSER_MARKS


def test_the_review_screen_approves_and_replaces_tomorrow_s_verses(browser, live_server):  # noqa: F811
    if not LSG_PATH.exists():
        pytest.skip(f"{LSG_PATH} is not available")
    bible_import(path=LSG_PATH)  # French references are checked against Louis Segond
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    call_command("trigger_daily_verses", "--day", tomorrow.isoformat(), stdout=io.StringIO())
    root = User.objects.create_superuser("root@example.org", "motdepasse-de-test")
    page = Page(browser, live_server.url)
    page.log_in(root.email, "motdepasse-de-test")

    # From the dashboard to tomorrow's review: 18 pairs (the AI is off in tests: curated verses).
    page.click_and_load("#editorial-link a")
    assert page.text("#content h1") == "Éditorial : relecture, plans et fêtes"
    assert page.text("#review-summary") == "18 paires humeur × langue, 18 à approuver."
    assert len(page.all("article.pair")) == 18
    assert page.text("#pair-sad-en .badge.pending") == "À relire"
    assert page.text("#pair-sad-en .badge.source-fallback") == "Secours"
    assert page.csp_refuses_inline_script()
    shots = [page.screenshot("editorial-review-desktop", DESKTOP)]

    # Approve one pair.
    page.click_and_load("#pair-sad-en button.approve")
    assert page.text(".messagelist") == "Triste / en : Verset approuvé."
    assert page.text("#pair-sad-en .badge.approved") == "Approuvé par root@example.org"
    assert page.all("#pair-sad-en button.approve") == []
    assert page.text("#review-summary") == "18 paires humeur × langue, 17 à approuver."
    sad = VerseOfTheDay.objects.get(day=tomorrow, mood="sad", language="en")
    assert (sad.approved_by, sad.source) == (root, "fallback")

    # Replace another pair's reference: a wrong one first (refused, nothing changed), then a good one.
    anxious = VerseOfTheDay.objects.get(day=tomorrow, mood="anxious", language="fr")
    for reference in ("Philippiens 9:1", "Psaume 23:1"):
        page.css("#pair-anxious-fr details:nth-of-type(2) summary").click()
        page.css("#pair-anxious-fr input[name=reference]").send_keys(reference)
        page.click_and_load("#pair-anxious-fr button.replace")
        if reference.startswith("Philippiens"):
            assert page.text(".messagelist").startswith("Le chapitre 9 n'existe pas dans Philippiens")
            assert page.text(".messagelist").endswith("Rien n'a changé.")
            assert VerseOfTheDay.objects.get(pk=anxious.pk).reference == anxious.reference
    assert page.text(".messagelist") == "Anxieux / fr : Référence remplacée (et approuvée)."
    assert page.text("#pair-anxious-fr .reference") == "Psaume 23:1"
    assert page.text("#pair-anxious-fr .badge.source-plan") == "Planifié"
    replaced = VerseOfTheDay.objects.get(day=tomorrow, mood="anxious", language="fr")
    assert (replaced.reference, replaced.source, replaced.approved_by) == ("Psaume 23:1", "plan", root)
    assert list(VerseReview.objects.order_by("pk").values_list("action", flat=True)) == ["approve", "replace"]
    assert len(page.all("#reviews tbody tr")) == 2
    shots.append(page.screenshot("editorial-after-review", DESKTOP))

    # Plan a verse for the day after, from the form.
    later = tomorrow + datetime.timedelta(days=1)
    page.css("#plan-form input[name=day]").clear()
    browser.execute_script(
        "arguments[0].value = arguments[1]", page.css("#plan-form input[name=day]"), later.isoformat()
    )
    page.css("#plan-form select[name=language] option[value=en]").click()
    page.css("#plan-form input[name=reference]").send_keys("John 3:16")
    page.click_and_load("#plan-form button[type=submit]")
    assert page.text(".messagelist") == "Plan enregistré."
    plan = VersePlan.objects.get()
    assert (plan.day, plan.language, plan.mood, plan.reference) == (later, "en", None, "John 3:16")
    assert "John 3:16" in page.text(f"#plan-{plan.pk}")

    # The feast calendar: the next 12 months' feasts, each in both languages.
    assert len(page.all("#feasts-table tbody tr")) == 12

    # At a phone's width: no sideways scrolling, the buttons in view.
    page.driver.set_window_size(*PHONE)
    page.open("/admin/dashboard/editorial/")
    assert browser.execute_script("return document.documentElement.scrollWidth") <= PHONE[0]
    assert page.css("#pair-joyful-fr button.approve").is_displayed()
    shots.append(page.screenshot("editorial-review-phone", PHONE))
    print(f"\nscreenshots: {', '.join(shots)}")
