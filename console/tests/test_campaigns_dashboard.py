"""The campaigns page's permissions and its form's refusals (the browser test drives the rest)."""

import pytest
from django.test import Client

from scheduler.permissions import VIEWERS_GROUP, scheduler_groups_ensure
from users.tests.factories import UserFactory
from verses.campaigns.models import Campaign

pytestmark = pytest.mark.django_db
PAGE = "/admin/dashboard/campaigns/"
FORM = {"title": "Annonce", "body": "Un message.", "mode": "send_at", "send_at": "2027-01-10T10:00"}


def test_viewers_see_the_campaigns_but_neither_the_form_nor_its_actions():
    viewer = UserFactory(email="viewer@example.org", is_staff=True, fcm_token="")
    viewer.groups.add(scheduler_groups_ensure()[VIEWERS_GROUP])
    client = Client()
    client.force_login(viewer)
    page = client.get(PAGE)
    assert page.status_code == 200 and b'id="campaign-form"' not in page.content
    assert client.post(PAGE + "new/", {**FORM, "action": "create"}).status_code == 403
    assert Campaign.objects.count() == 0
    bare = UserFactory(email="bare@example.org", is_staff=True, fcm_token="")
    client.force_login(bare)
    assert client.get(PAGE).status_code == 403


def test_the_form_creates_in_lome_time_and_refuses_without_storing(admin_client):
    UserFactory(language="fr")
    preview = admin_client.post(PAGE + "new/", {**FORM, "action": "preview"})
    assert b"Audience : 1 utilisateur " in preview.content and Campaign.objects.count() == 0
    refused = admin_client.post(PAGE + "new/", {**FORM, "send_at": "", "action": "create"})
    assert [str(m) for m in refused.context["messages"]] == [
        "« send_at » : Requis : « send_at » ou « local_time » et « date ». — rien n'a été enregistré."
    ]
    assert Campaign.objects.count() == 0
    created = admin_client.post(PAGE + "new/", {**FORM, "languages": ["fr"], "action": "create"})
    assert created.status_code == 302
    campaign = Campaign.objects.get()
    assert (campaign.send_at.isoformat(), campaign.segment) == ("2027-01-10T10:00:00+00:00", {"languages": ["fr"]})
    assert admin_client.post(PAGE + f"{campaign.pk}/cancel/").status_code == 302
    assert admin_client.post(PAGE + f"{campaign.pk}/cancel/").status_code == 302
    assert Campaign.objects.get().state == "cancelled"
    assert admin_client.post(PAGE + "999/cancel/").status_code == 404


def test_the_admin_lists_campaigns_with_their_figures_and_cancels(admin_client):
    UserFactory()
    admin_client.post(PAGE + "new/", {**FORM, "action": "create"})
    campaign = Campaign.objects.get()
    listed = admin_client.get("/admin/verses/campaign/")
    assert listed.status_code == 200 and b"1 / 0 / 0 / 0" in listed.content
    assert admin_client.get(f"/admin/verses/campaign/{campaign.pk}/change/").status_code == 200
    assert admin_client.get("/admin/verses/campaigndelivery/").status_code == 200
    admin_client.post("/admin/verses/campaign/", {"action": "cancel", "_selected_action": [campaign.pk]}, follow=True)
    assert Campaign.objects.get().state == "cancelled"
