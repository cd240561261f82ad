"""The campaigns page (/admin/dashboard/campaigns/) in a real headless Chromium: a campaign's
audience previewed, a wrong input refused, the campaign created through the form, then cancelled.
Screenshots at desktop and phone widths go to var/screenshots/ (campaigns-*.png)."""

import datetime

from django.utils import timezone

from console.tests.browser import BROWSER_MARKS, DESKTOP, PHONE, Page
from users.models import User
from users.tests.factories import UserFactory
from verses.campaigns.models import Campaign

pytestmark = BROWSER_MARKS


def test_a_campaign_is_previewed_created_and_cancelled_from_the_page(browser, live_server):  # noqa: F811
    for zone in ("Africa/Lome", "Europe/Paris", "Asia/Kolkata"):
        UserFactory(language="fr", mood="sad", timezone=zone)
    UserFactory(language="en", mood="sad")
    UserFactory(language="fr", mood="joyful")
    root = User.objects.create_superuser("root@example.org", "motdepasse-de-test")
    page = Page(browser, live_server.url)
    page.log_in(root.email, "motdepasse-de-test")

    page.click_and_load("#campaigns-link a")
    assert page.text("#content h1") == "Campagnes : annonces aux utilisateurs"
    assert page.text("#no-campaigns") == "Aucune campagne."
    assert page.csp_refuses_inline_script()

    # Fill the form: French users who feel sad, at 09:00 on each one's clock tomorrow.
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    page.css("#campaign-form input[name=title]").send_keys("Semaine de prière")
    page.css("#campaign-form textarea[name=body]").send_keys("Du lundi au dimanche, prions ensemble.")
    page.css("#campaign-form input[name=languages][value=fr]").click()
    page.css("#campaign-form input[name=moods][value=sad]").click()
    browser.execute_script(
        "arguments[0].value = arguments[1]", page.css("#campaign-form input[name=date]"), tomorrow.isoformat()
    )
    page.click_and_load("#campaign-form button.preview")
    assert page.text("#preview") == "Audience : 3 utilisateurs (aujourd'hui ; fixée au premier envoi)."
    assert Campaign.objects.count() == 0  # a preview stores nothing
    # The form kept what was typed.
    assert page.css("#campaign-form input[name=title]").get_attribute("value") == "Semaine de prière"
    assert page.css("#campaign-form input[name=moods][value=sad]").is_selected()
    shots = [page.screenshot("campaigns-preview-desktop", DESKTOP)]

    # An unknown time zone: refused, naming the field, nothing stored.
    page.css("#campaign-form input[name=timezones]").send_keys("Mars/Olympus")
    page.click_and_load("#campaign-form button.create")
    assert (
        page.text(".messagelist")
        == "« segment.timezones » : Fuseau horaire inconnu : Mars/Olympus — rien n'a été enregistré."
    )
    assert Campaign.objects.count() == 0
    page.css("#campaign-form input[name=timezones]").clear()
    page.click_and_load("#campaign-form button.create")
    assert page.text(".messagelist") == "Campagne « Semaine de prière » planifiée."
    campaign = Campaign.objects.get()
    assert (campaign.segment, campaign.date, campaign.local_time, campaign.created_by) == (
        {"languages": ["fr"], "moods": ["sad"]},
        tomorrow,
        datetime.time(9, 0),
        root,
    )
    row = f"#campaign-{campaign.pk}"
    assert page.text(f"{row} .state") == "Planifiée"
    assert page.text(f"{row} .moment") == f"{tomorrow:%d/%m/%Y} à 09:00, heure de chacun"
    assert page.text(f"{row} .segment") == "langues : Français ; humeurs : Triste"
    assert [page.text(f"{row} .{c}") for c in ("audience", "sent", "failed", "opened")] == ["3", "0", "0", "0"]
    shots.append(page.screenshot("campaigns-created-desktop", DESKTOP))

    # At a phone's width: no sideways scrolling, the cancel button in view.
    page.driver.set_window_size(*PHONE)
    page.open("/admin/dashboard/campaigns/")
    assert browser.execute_script("return document.documentElement.scrollWidth") <= PHONE[0]
    assert page.css(f"{row} button.cancel").is_displayed()
    shots.append(page.screenshot("campaigns-phone", PHONE))
    page.click_and_load(f"{row} button.cancel")
    assert page.text(".messagelist") == "Campagne « Semaine de prière » annulée."
    assert page.text(f"{row} .state") == "Annulée"
    assert page.all(f"{row} button.cancel") == []
    assert Campaign.objects.get().state == "cancelled"
    print(f"\nscreenshots: {', '.join(shots)}")
